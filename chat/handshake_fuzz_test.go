package chat_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// FuzzHandshake sends arbitrary bytes to a live server as a connection's
// first (and only) input. Whatever comes in, the server answers only
// with well-formed frames and ends the connection (it never hangs on it),
// and it keeps serving: a proper customer still gets in afterwards.
func FuzzHandshake(f *testing.F) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.Heartbeat = time.Second }})
	defer srv.Close()
	hello := chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a-1"})
	for _, seed := range [][]byte{
		hello,
		append(append([]byte(nil), hello...), chat.AppendMessage(nil, &chat.Send{ClientMsgID: "1", Text: "hola"})...),
		chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleOperator, Login: "luis", Password: "wrong"}),
		chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Resume: "forged.token"}),
		chat.AppendMessage(nil, &chat.Send{ClientMsgID: "1", Text: "before hello"}),
		hello[:5],
		{chat.Version, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff},
		{9, 9, 9, 9, 9, 9, 9, 9, 9},
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		exchange(t, srv.Addr, in)
	})
	// Still serving.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Eva", CustomerID: "e-1"})
	require.NoError(f, err, "a customer after the fuzzing")
	c.Close()
}

// exchange writes in, closes the writing side and reads the answer until
// the server closes.
func exchange(t *testing.T, addr string, in []byte) {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write(in)
	nc.(*net.TCPConn).CloseWrite()
	fr := chat.NewFrameReader(nc, 0)
	for {
		fm, err := fr.Read()
		if err == nil {
			_, err := chat.Decode(fm)
			require.NoError(t, err, "the server sent an undecodable %s", fm.Type)
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return // closed; a reset when it closed with our bytes unread
		}
		require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server neither closed nor answered within 10 s for %q", in)
		var fe *chat.FrameError
		require.NotErrorAs(t, err, &fe, "the server sent a broken frame")
		require.NoError(t, err, "reading the answer")
	}
}
