package chatws_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// Handler clears the http.Server's read and write deadlines before it
// knows the request is an upgrade it takes. A request it then refuses
// (no upgrade, a foreign Origin, ...) that announces a body it never
// sends keeps its connection and goroutine for ever: net/http reads the
// unread body (to keep the connection alive) with no deadline left, so
// the server's ReadTimeout, which would have closed it, no longer does.
func TestAttackRefusedRequestOutlivesReadTimeout(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	for _, tc := range []struct {
		name, headers string
		h             http.Handler
	}{
		// The control: a handler that refuses as websocket.Accept does,
		// without touching the deadlines, is cut off at ReadTimeout.
		{"control", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUpgradeRequired) })},
		{"plain GET", "", nil},
		{"foreign origin", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: switchboard.chat.v1\r\nOrigin: http://evil.example\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h == nil {
				h = &chatws.Handler{Server: srv.Chat}
			}
			hs := httptest.NewUnstartedServer(h)
			hs.Config.ReadTimeout = 300 * time.Millisecond
			hs.Start()
			defer hs.Close()
			nc, err := net.Dial("tcp", hs.Listener.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			_, err = fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: %s\r\n%sContent-Length: 1000\r\n\r\n", hs.Listener.Addr(), tc.headers)
			require.NoError(t, err)
			// ReadTimeout passes: the server should have given up on the
			// request and closed the connection (or answered and closed).
			nc.SetReadDeadline(time.Now().Add(3 * time.Second))
			start := time.Now()
			_, err = io.ReadAll(nc)
			var ne net.Error
			held := err != nil && assertTimeout(err, &ne)
			t.Logf("after %v: %v", time.Since(start), err)
			assert.False(t, held, "the connection was held past ReadTimeout (300ms) for 3s, without an answer")
		})
	}
}

func assertTimeout(err error, ne *net.Error) bool {
	if e, ok := err.(net.Error); ok && e.Timeout() {
		*ne = e
		return true
	}
	return false
}
