package chatws_test

import (
	"net/http"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// Pages of other sites cannot open the chat from a customer's browser
// (cross-site WebSocket hijacking): look-alike origins, a sandboxed or
// file: page ("null"), another port or a user-info trick are refused.
func TestAttackForeignOriginsAreRefused(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, OriginPatterns: []string{"shop.example"}})
	for _, origin := range []string{"null", "https://shop.example.evil.example", "https://evilshop.example",
		"https://evil.example/shop.example", "https://shop.example@evil.example", "https://evil.example#shop.example",
		"https://127.0.0.1.evil.example", "file://", "https://shop.example:8443"} {
		ws, resp, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{Subprotocols: []string{chatws.Subprotocol},
			HTTPHeader: http.Header{"Origin": {origin}}})
		if !assert.Error(t, err, "origin %q accepted", origin) {
			ws.CloseNow()
			continue
		}
		require.NotNil(t, resp, origin)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, origin)
	}
}
