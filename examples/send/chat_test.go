package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/examples/internal/testcert"
	"github.com/switchboard-go/switchboard/store"
)

// session runs a command with its input written by the test and its
// output collected.
type session struct {
	in   io.WriteCloser
	out  syncBuf
	done chan error
}

func start(run func(stdin io.Reader, out *syncBuf) error) *session {
	r, w := io.Pipe()
	s := &session{in: w, done: make(chan error, 1)}
	go func() { s.done <- run(r, &s.out) }()
	return s
}

func (s *session) say(line string) { fmt.Fprintln(s.in, line) }

// count is how many times text appears in the output.
func (s *session) count(text string) int { return strings.Count(s.out.String(), text) }

// TestChatAndConsole drives the customer command and the operator console
// as people would, through their standard input and output: a customer
// who writes while waiting, an operator who accepts without naming whom,
// lists, saves files, closes, and leaves with Ctrl-C.
func TestChatAndConsole(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "secreto"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opCtx, ctrlC := context.WithCancel(ctx)
	op := start(func(in io.Reader, out *syncBuf) error {
		return runConsole(opCtx, []string{"-addr", srv.Addr, "-login", "luis", "-password", "secreto"}, in, out, out)
	})
	waitText(t, &op.out, "logged in as luis (available)")

	ana := start(func(in io.Reader, out *syncBuf) error {
		return runChat(ctx, []string{"-addr", srv.Addr, "-name", "Ana", "-email", "ana@example.com"}, in, true, out, out)
	})
	waitText(t, &ana.out, "luis is serving you")
	waitText(t, &op.out, "#1 Ana <ana@example.com> (identity not verified) is yours (current)")
	ana.say("mi pedido no llegó")
	waitText(t, &op.out, "[#1] Ana: mi pedido no llegó")
	op.say("Lo reviso")
	waitText(t, &ana.out, "luis: Lo reviso")

	// The operator steps away; a second customer waits and writes.
	op.say("/away")
	waitText(t, &op.out, "* you are away: no new customers")
	bea := start(func(in io.Reader, out *syncBuf) error {
		return runChat(ctx, []string{"-addr", srv.Addr, "-name", "Bea", "-id", "b-2"}, in, true, out, out)
	})
	waitText(t, &bea.out, "every operator is away now")
	bea.say("hola, ¿hay alguien?")
	waitText(t, &op.out, "* 1 waiting")
	op.say("/queue")
	waitText(t, &op.out, "#2 Bea, waiting")
	// /accept names nobody: it takes the one waiting, whatever is current.
	op.say("/accept")
	waitText(t, &op.out, "* now talking with #2 Bea")
	waitText(t, &op.out, "[#2] Bea: hola, ¿hay alguien?") // written while waiting
	op.say("/list")
	waitText(t, &op.out, "#1 Ana <ana@example.com> (identity not verified)\n")
	waitText(t, &op.out, "#2 Bea (identity not verified) (current)")

	dir := t.TempDir()
	img := filepath.Join(dir, "foto.png")
	require.NoError(t, os.WriteFile(img, []byte("\x89PNG\r\n\x1a\nimagen"), 0o600))
	ana.say("/file " + img)
	waitText(t, &op.out, "Ana sent foto.png (image/png, 14 bytes): /save 1")
	op.say("/save 1 " + dir + "/saved")
	waitText(t, &op.out, "! open") // the directory does not exist yet
	op.say("/save 99")
	waitText(t, &op.out, "no such attachment")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "saved"), 0o700))
	op.say("/save 1 " + dir + "/saved")
	waitText(t, &op.out, "saved "+filepath.Join(dir, "saved", "foto.png"))
	op.say("/close 1")
	require.NoError(t, <-ana.done)
	waitText(t, &ana.out, "luis closed the conversation")
	waitText(t, &op.out, "[#1] * conversation closed")
	op.say("/list")
	require.Eventually(t, func() bool { return op.count("#2 Bea (identity not verified) (current)\n") == 2 }, 5*time.Second,
		10*time.Millisecond)
	assert.Equal(t, 1, op.count("#1 Ana <ana@example.com> (identity not verified)\n"), "a closed conversation is still listed")

	// Ctrl-C ends the console; Bea's conversation waits for it.
	ctrlC()
	select {
	case err := <-op.done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the console ignored Ctrl-C")
	}
	assert.Equal(t, 1, op.count("no such attachment"), "an error is printed once:\n%s", op.out.String())
	assert.NotContains(t, op.out.String(), "] : ", "a message without its sender:\n%s", op.out.String())
	bea.in.Close()
	ana.in.Close()
	op.in.Close()
}

// Mistakes on the command line are reported before a conversation is
// opened, in words that say what is wrong.
func TestChatRefusesBadArgumentsBeforeConnecting(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	ctx := context.Background()
	var out syncBuf
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-email", "a@example.com", "hola"}, "-name is required"},
		{[]string{"-name", "Ana", "hola"}, "-email or -id is required"},
		{[]string{"-name", "Ana", "-id", "a", "-file", "missing.png"}, "missing.png"},
		{[]string{"-name", "Ana", "-id", "a", "-ca", "ca.pem", "hola"}, "-ca needs -tls"},
	} {
		err := runChat(ctx, append([]string{"-addr", srv.Addr}, tc.args...), strings.NewReader(""), false, &out, &out)
		if assert.Error(t, err, "%v", tc.args) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	convs, err := srv.Store.Conversations(ctx, store.ConversationFilter{})
	require.NoError(t, err)
	assert.Empty(t, convs, "a conversation was opened for a command that failed")
	err = runConsole(ctx, []string{"-addr", srv.Addr}, strings.NewReader(""), &out, &out)
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "-login is required")
	}
}

// The console and the customer command speak TLS with -tls, trusting
// the server's certificate through -ca: the way operators on other
// machines must log in (passwords are refused over plain TCP there).
func TestConsoleAndChatOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, err := testcert.Write(dir)
	require.NoError(t, err)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	h, err := chat.HashPassword("secreto")
	require.NoError(t, err)
	srv := &chat.Server{Store: chattest.NewMemStore(), Operators: chat.StaticDirectory{"luis": {ID: "luis", Name: "Luis", PasswordHash: h}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})) }()
	defer func() { srv.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	op := start(func(in io.Reader, out *syncBuf) error {
		return runConsole(ctx, []string{"-addr", l.Addr().String(), "-login", "luis", "-password", "secreto", "-tls", "-ca", certFile}, in, out, out)
	})
	waitText(t, &op.out, "logged in as luis")
	ana := start(func(in io.Reader, out *syncBuf) error {
		return runChat(ctx, []string{"-addr", l.Addr().String(), "-name", "Ana", "-id", "a", "-tls", "-ca", certFile}, in, true, out, out)
	})
	waitText(t, &ana.out, "Luis is serving you")
	ana.say("hola")
	waitText(t, &op.out, "[#1] Ana: hola")
	op.say("/quit")
	require.NoError(t, <-op.done)
	ana.in.Close()
	op.in.Close()
	cancel()
	<-ana.done
}
