package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/examples/internal/testcert"
)

// With -chat-tls-cert/-chat-tls-key the chat listens with TLS: a client
// that trusts the certificate logs in as an operator and talks; a plain
// connection gets nowhere.
func TestChatOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, roots, err := testcert.Write(dir)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"chat-operator", "-data", dir, "-login", "luis", "-password", "secreto"}, &out, &out))
	var logs syncBuffer
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "", "-chat-addr", "127.0.0.1:0",
		"-chat-tls-cert", certFile, "-chat-tls-key", keyFile}, &logs)
	defer stop()
	waitFor(t, &logs, "chat listening")
	addr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())[1]
	tlsConfig := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	op, err := chat.Dial(ctx, addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "secreto", TLSConfig: tlsConfig})
	require.NoError(t, err)
	defer op.Close()
	cust, err := chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com", TLSConfig: tlsConfig})
	require.NoError(t, err)
	defer cust.Close()
	_, err = cust.Send(ctx, "hola por TLS")
	require.NoError(t, err)
	_, err = chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Eve", Email: "eve@example.com", DialTimeout: time.Second})
	assert.Error(t, err, "a plain connection to the TLS listener")
}

// leaveMessage connects a customer with opts, leaves text and closes,
// and returns the ticket number the customer reads.
func leaveMessage(t *testing.T, ctx context.Context, addr string, opts chat.ClientOptions, text string) string {
	t.Helper()
	got := make(chan chat.Message, 100)
	opts.Handler = func(m chat.Message) { got <- m }
	cust, err := chat.Dial(ctx, addr, &opts)
	require.NoError(t, err)
	defer cust.Close()
	_, err = cust.Send(ctx, text)
	require.NoError(t, err)
	require.NoError(t, cust.CloseConversation(ctx, 0))
	for {
		select {
		case m := <-got:
			if p, ok := m.(*chat.Post); ok && strings.HasPrefix(p.Text, "Your message was recorded: ticket ") {
				return regexp.MustCompile(`ticket (\d+)`).FindStringSubmatch(p.Text)[1]
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ticket number for the customer")
		}
	}
}

// A customer who comes when no operator is online leaves a message; it
// becomes a ticket, whose number the customer reads before the chat
// ends. With an e-mail the website vouched for (a signed token), the
// ticket is the customer's and goes to the queue of its domain; with a
// typed one, it goes to the default queue from a placeholder sender (a
// typed address could be anybody's), the address in its text.
func TestLeftMessageBecomesATicket(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "", "-chat-addr", "127.0.0.1:0",
		"-mail-route", "example.com=Ventas"}, &logs)
	waitFor(t, &logs, "chat listening")
	addr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())[1]
	secret := storedSecret(t, filepath.Join(dir, storeflag.DBFile), "chat")
	token := chat.SignCustomer(secret, chat.CustomerClaims{Name: "Ana Díaz", Email: "ana@example.com", Expires: time.Now().Add(time.Hour)})
	verified := leaveMessage(t, ctx, addr, chat.ClientOptions{Token: token}, "mi router parpadea en rojo")
	typed := leaveMessage(t, ctx, addr, chat.ClientOptions{Name: "Eve", Email: "ceo@example.com"}, "refund me")
	stop()
	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"tickets", "-data", dir}, &out, &out))
	var tickets []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var tk map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &tk), line)
		tickets = append(tickets, tk)
	}
	byNumber := map[string]map[string]any{}
	for _, tk := range tickets {
		byNumber[tk["number"].(string)] = tk
	}
	require.Contains(t, byNumber, verified)
	require.Contains(t, byNumber, typed)
	assert.Equal(t, "Ventas", byNumber[verified]["queue"])
	assert.Equal(t, "ana@example.com", byNumber[verified]["customer"])
	assert.Equal(t, "Inbox", byNumber[typed]["queue"], "a typed e-mail routed the ticket")
	assert.NotEqual(t, "ceo@example.com", byNumber[typed]["customer"], "a typed e-mail became the ticket's customer")
}
