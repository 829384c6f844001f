package chatws_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// A HELLO cut into one-byte WebSocket messages, and into continuation
// frames with pings between them, is one HELLO: messages are a stream.
func TestAttackHelloSplitIntoManyMessagesAndFragments(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	addr, _ := serveCounted(t, &chatws.Handler{Server: srv.Chat})

	c := dialRaw(t, addr, "/", nil)
	for _, b := range helloFrame("split") {
		require.NoError(t, c.binary([]byte{b}))
	}
	_, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
	assert.True(t, ok, "one-byte messages")

	c = dialRaw(t, addr, "/", nil)
	h := helloFrame("fragments")
	require.NoError(t, c.frame(false, 0x2, h[:3]))
	require.NoError(t, c.frame(true, 0x9, []byte("ping")))
	require.NoError(t, c.frame(false, 0x0, h[3:10]))
	require.NoError(t, c.frame(true, 0x0, h[10:]))
	for {
		op, p, err := c.readFrame(5 * time.Second)
		require.NoError(t, err)
		if op == 0xA {
			continue // the pong
		}
		f, err := chat.NewFrameReader(bytesReader(p), 0).Read()
		require.NoError(t, err)
		assert.Equal(t, chat.TypeWelcome, f.Type, "continuation frames")
		break
	}
}

// A frame over the limit, announced in a first message and sent in many
// small ones, is refused from its header: the server neither waits for
// nor buffers its payload.
func TestAttackOversizedFrameAcrossMessages(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	addr, _ := serveCounted(t, &chatws.Handler{Server: srv.Chat})
	c := dialRaw(t, addr, "/", nil)
	require.NoError(t, c.binary(helloFrame("big")))
	_, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
	require.True(t, ok)
	require.NoError(t, c.binary([]byte{chat.Version, byte(chat.TypeSend), 0, 0, 0x7f, 0xff, 0xff, 0xff}))
	for range 64 {
		if c.binary(make([]byte, 1024)) != nil {
			break
		}
	}
	for {
		m := c.readChat(t, 5*time.Second)
		if e, ok := m.(*chat.Error); ok {
			assert.Equal(t, chat.CodeBadFrame, e.Code)
			return
		}
	}
}

// A text message is not the protocol: the connection ends (close status
// 1003) and the server forgets it promptly.
func TestAttackTextMessageEndsTheConnection(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat})
	c := dialRaw(t, addr, "/", nil)
	require.NoError(t, c.binary(helloFrame("text")))
	_, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
	require.True(t, ok)
	require.NoError(t, c.frame(true, 0x1, []byte("hello as text")))
	for {
		op, p, err := c.readFrame(5 * time.Second)
		require.NoError(t, err)
		if op == 0x8 {
			require.GreaterOrEqual(t, len(p), 2)
			assert.Equal(t, 1003, int(p[0])<<8|int(p[1]))
			break
		}
	}
	require.NoError(t, c.frame(true, 0x8, []byte{0x03, 0xeb}))
	require.Eventually(t, func() bool { return srv.Chat.Stats().Connections == 0 && l.open.Load() == 0 },
		5*time.Second, 20*time.Millisecond)
}

// ServeConn after Close refuses at once and closes the connection.
func TestAttackServeConnAfterClose(t *testing.T) {
	srv := chattest.NewServer(nil)
	srv.Close()
	a, b := net.Pipe()
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- srv.Chat.ServeConn(a, false) }()
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, chat.ErrServerClosed), "%v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn after Close did not return")
	}
	b.SetReadDeadline(time.Now().Add(time.Second))
	_, err := b.Read(make([]byte, 1))
	assert.Error(t, err, "the connection is closed")
}

// Many WebSocket customers, shutdown: every one is told, Shutdown
// returns within its grace, and the goroutines of the connections end.
func TestAttackShutdownWithManyWebSocketClients(t *testing.T) {
	const n = 100
	srv := chattest.NewServer(nil)
	url := mount(t, &chatws.Handler{Server: srv.Chat})
	base := runtime.NumGoroutine()
	clients := make([]*chat.Client, n)
	for i := range clients {
		c, err := chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Name: "C", CustomerID: fmt.Sprint(i), Dialer: chatws.Dialer(url, nil)})
		require.NoError(t, err)
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, srv.Chat.Shutdown(ctx))
	t.Logf("shutdown of %d WebSocket customers in %v", n, time.Since(start))
	for i, c := range clients {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("client %d not told", i)
		}
		var ce *chat.Error
		if assert.ErrorAs(t, c.Err(), &ce) {
			assert.Equal(t, chat.CodeShuttingDown, ce.Code)
		}
		c.Close()
	}
	srv.Close()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+5 }, 10*time.Second, 50*time.Millisecond,
		"goroutines after the shutdown: %d, before the clients %d", runtime.NumGoroutine(), base)
}

// WebSocket frames that break RFC 6455 (reserved bits without an
// extension, reserved opcodes, a control frame over 125 bytes or
// fragmented, an unmasked client frame, a continuation with nothing to
// continue) end the connection without a panic, and the server forgets it.
func TestAttackMalformedWebSocketFrames(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat})
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"rsv1 without deflate", []byte{0x80 | 0x40 | 0x2, 0x80 | 1, 0, 0, 0, 0, 1}},
		{"reserved opcode", []byte{0x80 | 0x3, 0x80 | 1, 0, 0, 0, 0, 1}},
		{"long ping", append([]byte{0x80 | 0x9, 0x80 | 126, 0, 200, 0, 0, 0, 0}, make([]byte, 200)...)},
		{"fragmented ping", []byte{0x9, 0x80 | 1, 0, 0, 0, 0, 1}},
		{"unmasked", []byte{0x80 | 0x2, 1, 1}},
		{"lone continuation", []byte{0x80 /* opcode 0 */, 0x80 | 1, 0, 0, 0, 0, 1}},
		{"length with top bit", []byte{0x80 | 0x2, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr, "/", nil)
			require.NoError(t, c.binary(helloFrame(tc.name)))
			_, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
			require.True(t, ok)
			_, err := c.nc.Write(tc.raw)
			require.NoError(t, err)
			for {
				op, _, err := c.readFrame(10 * time.Second)
				if err != nil {
					var ne net.Error
					require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection stayed open")
					break
				}
				if op == 0x8 {
					c.frame(true, 0x8, []byte{0x03, 0xe8})
					break
				}
			}
			c.nc.Close()
		})
	}
	require.Eventually(t, func() bool { return srv.Chat.Stats().Connections == 0 && l.open.Load() == 0 },
		10*time.Second, 20*time.Millisecond, "connections %d, sockets %d", srv.Chat.Stats().Connections, l.open.Load())
}
