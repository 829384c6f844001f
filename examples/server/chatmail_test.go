package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
)

// A customer of the running server asks for the transcript: it goes
// through -smtp to the conversation's address, as text, marked
// automatic, with the conversation in it.
func TestTranscriptMailedThroughSMTP(t *testing.T) {
	sink, smtpAddr := startSink(t)
	dir := t.TempDir()
	seed(t, dir)
	logs := &syncBuffer{}
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-chat-addr", "127.0.0.1:0",
		"-smtp", "smtp://" + smtpAddr, "-mail-address", "soporte@tienda.example"}, logs)
	defer stop()
	waitFor(t, logs, "chat listening")
	addr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, addr, logs.String())

	cust, err := chat.Dial(ctx, addr[1], &chat.ClientOptions{Name: "Ana Pérez", Email: "ana@example.com"})
	require.NoError(t, err)
	defer cust.Close()
	require.True(t, cust.Offers(chat.CapMail), "the server mails transcripts (it has -smtp)")
	_, err = cust.Send(ctx, "¿Abren el sábado?")
	require.NoError(t, err)
	masked, err := cust.MailTranscript(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a***@example.com", masked)
	require.Eventually(t, func() bool { return sink.Count() == 1 }, 10*time.Second, 20*time.Millisecond)
	raw := sink.Last()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, "auto-generated", m.Header.Get("Auto-Submitted"))
	assert.Contains(t, m.Header.Get("To"), "ana@example.com")
	assert.Contains(t, m.Header.Get("From"), "soporte@tienda.example")
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Contains(t, subject, "Your conversation of")
	body, err := io.ReadAll(m.Body)
	require.NoError(t, err)
	text := decodeQP(t, body)
	assert.Contains(t, text, "¿Abren el sábado?")
	assert.Contains(t, text, "Ana Pérez")
}

func decodeQP(t *testing.T, b []byte) string {
	t.Helper()
	out, err := io.ReadAll(qpReader(b))
	require.NoError(t, err)
	return string(out)
}

// Without -smtp nothing is offered.
func TestTranscriptMailNotOfferedWithoutSMTP(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	logs := &syncBuffer{}
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-chat-addr", "127.0.0.1:0"}, logs)
	defer stop()
	waitFor(t, logs, "chat listening")
	addr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, addr)
	cust, err := chat.Dial(ctx, addr[1], &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
	require.NoError(t, err)
	defer cust.Close()
	assert.False(t, cust.Offers(chat.CapMail))
	_, err = cust.MailTranscript(context.Background())
	var e *chat.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, chat.CodeUnsupported, e.Code)
	assert.False(t, strings.Contains(logs.String(), "transcript mail"), "nothing tried")
}

func qpReader(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }
