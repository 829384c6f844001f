package chatws

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo serves one WebSocket connection through wsConn, echoing bytes.
func echo(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			return
		}
		c := newConn(ws, textAddr("server"), parseAddr(r.RemoteAddr), nil)
		defer c.Close()
		io.Copy(c, c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// A read deadline that passes interrupts Read and leaves the connection
// usable, as on TCP: the chat server wakes its reader this way before it
// writes a final ERROR.
func TestReadDeadlineInterruptsWithoutClosing(t *testing.T) {
	nc, err := Dialer(echo(t), nil)(context.Background(), "")
	require.NoError(t, err)
	defer nc.Close()
	buf := make([]byte, 64)

	require.NoError(t, nc.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	start := time.Now()
	_, err = nc.Read(buf)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.Less(t, time.Since(start), 2*time.Second)

	// A deadline moved while Read waits takes effect at once.
	require.NoError(t, nc.SetReadDeadline(time.Time{}))
	go func() {
		time.Sleep(30 * time.Millisecond)
		nc.SetReadDeadline(time.Now())
	}()
	_, err = nc.Read(buf)
	require.ErrorAs(t, err, &ne)

	require.NoError(t, nc.SetReadDeadline(time.Time{}))
	_, err = nc.Write([]byte("still open"))
	require.NoError(t, err)
	got := ""
	for len(got) < len("still open") {
		n, err := nc.Read(buf)
		require.NoError(t, err)
		got += string(buf[:n])
	}
	assert.Equal(t, "still open", got)
}

// Messages larger than a chunk arrive whole, in order; a closed
// connection reads net.ErrClosed, and the peer's close reads io.EOF.
func TestLargeMessagesAndClose(t *testing.T) {
	nc, err := Dialer(echo(t), nil)(context.Background(), "")
	require.NoError(t, err)
	msg := []byte(strings.Repeat("0123456789", 10000)) // 100 KB: several chunks
	_, err = nc.Write(msg)
	require.NoError(t, err)
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 4096)
	for len(got) < len(msg) {
		n, err := nc.Read(buf)
		require.NoError(t, err)
		got = append(got, buf[:n]...)
	}
	assert.Equal(t, msg, got)
	require.NoError(t, nc.Close())
	_, err = nc.Read(buf)
	assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
	_, err = nc.Write([]byte("x"))
	assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
}
