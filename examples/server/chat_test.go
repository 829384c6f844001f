package main

import (
	"context"
	"crypto/tls"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
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

// A customer who comes when no operator is online leaves a message; it
// becomes a ticket in the queue of the customer's mail domain, and the
// customer reads its number before the chat ends.
func TestLeftMessageBecomesATicket(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "", "-chat-addr", "127.0.0.1:0",
		"-mail-route", "example.com=Ventas"}, &logs)
	waitFor(t, &logs, "chat listening")
	addr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())[1]
	got := make(chan chat.Message, 100)
	cust, err := chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Ana Díaz", Email: "ana@example.com", Handler: func(m chat.Message) { got <- m }})
	require.NoError(t, err)
	defer cust.Close()
	_, err = cust.Send(ctx, "mi router parpadea en rojo")
	require.NoError(t, err)
	require.NoError(t, cust.CloseConversation(ctx, 0))
	var ref string
	for ref == "" {
		select {
		case m := <-got:
			if p, ok := m.(*chat.Post); ok && strings.HasPrefix(p.Text, "Your message was recorded: ticket ") {
				ref = p.Text
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ticket number for the customer")
		}
	}
	number := regexp.MustCompile(`ticket (\d+)`).FindStringSubmatch(ref)[1]
	stop()
	var tickets strings.Builder
	require.NoError(t, run(context.Background(), []string{"tickets", "-data", dir}, &tickets, &tickets))
	assert.Contains(t, tickets.String(), `"number":"`+number+`"`)
	assert.Contains(t, tickets.String(), `"queue":"Ventas"`)
	assert.Contains(t, tickets.String(), "ana@example.com")
}
