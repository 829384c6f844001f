package chatws_test

import (
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

func inUse() (bytes uint64, goroutines int) {
	for range 3 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, runtime.NumGoroutine()
}

// idleCost connects n customers with connect (each welcomed, then idle)
// and returns the process's memory and goroutines per connection.
func idleCost(t *testing.T, n int, connect func(i int) func()) (kb float64, goroutines float64) {
	connect(-1)() // warm up
	time.Sleep(200 * time.Millisecond)
	b0, g0 := inUse()
	closers := make([]func(), 0, n)
	for i := range n {
		closers = append(closers, connect(i))
	}
	time.Sleep(500 * time.Millisecond)
	b1, g1 := inUse()
	for _, c := range closers {
		c()
	}
	return float64(int64(b1)-int64(b0)) / 1024 / float64(n), float64(g1-g0) / float64(n)
}

// An idle customer costs the TCP server about 9 KB (README: no read
// buffer, no writer goroutine, a fresh small-stack goroutine after the
// handshake). Over WebSocket the same idle customer keeps the pump's
// 16 KiB scratch buffer and a goroutine, websocket's buffers, and the
// HTTP handler's goroutine, blocked in ServeConn with the stack the
// handshake grew: the cost per connection should stay within a small
// multiple of TCP's, as the package promises the same bounds.
func TestAttackIdleWebSocketCostsFarMoreThanTCP(t *testing.T) {
	const n = 300
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.Heartbeat = time.Minute }})
	defer srv.Close()
	addr, _ := serveCounted(t, &chatws.Handler{Server: srv.Chat})

	tcpKB, tcpG := idleCost(t, n, func(i int) func() {
		nc, err := net.Dial("tcp", srv.Addr)
		require.NoError(t, err)
		_, err = nc.Write(helloFrame(fmt.Sprint("tcp", i)))
		require.NoError(t, err)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := chat.NewFrameReader(nc, 0).Read()
		require.NoError(t, err)
		require.Equal(t, chat.TypeWelcome, f.Type)
		return func() { nc.Close() }
	})
	wsKB, wsG := idleCost(t, n, func(i int) func() {
		c := dialRaw(t, addr, "/", nil)
		require.NoError(t, c.binary(helloFrame(fmt.Sprint("ws", i))))
		_, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
		require.True(t, ok)
		c.br = nil // the client keeps no buffer: what is measured is the server's
		return func() { c.nc.Close() }
	})
	t.Logf("idle customer: TCP %.1f KB and %.2f goroutines; WebSocket %.1f KB and %.2f goroutines", tcpKB, tcpG, wsKB, wsG)
	// The floor over WebSocket: websocket's own goroutine and buffers (the
	// upgraded connection's reader and writer) and the pump that gives
	// reads TCP's deadlines, on top of TCP's reader. The HTTP handler's
	// goroutine and the pump's read buffer are not kept while idle (they
	// were: 55-59 KB and 4 goroutines). Documented in the package.
	assert.LessOrEqual(t, wsKB, 40.0, "memory of an idle WebSocket customer")
	assert.LessOrEqual(t, wsG, tcpG+2, "goroutines of an idle WebSocket customer")
}
