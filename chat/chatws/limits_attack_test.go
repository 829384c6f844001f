package chatws_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// A connection the server refuses (over the per-address limit) or ends
// is closed at once over TCP. Over WebSocket, wsConn.Close starts the
// closing handshake and waits for the peer's close frame: a client that
// never answers keeps the socket (and its goroutines) open for seconds
// after the server stopped counting it, so the per-address cap no longer
// bounds the descriptors one address holds.
func TestAttackRefusedWebSocketsStillHoldSockets(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{LimitLoopback: true, MaxConns: 2, NewConversations: 1000}
	}})
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat})

	const n = 40
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(t, addr, "/", nil)
		require.NoError(t, clients[i].binary(helloFrame(fmt.Sprint(i))))
	}
	// The server answers the first two WELCOME and every other one
	// ERROR too many connections (final), then closes them: give it time.
	time.Sleep(1500 * time.Millisecond)
	st := srv.Chat.Stats()
	t.Logf("server counts %d connections; %d sockets are open on its side", st.Connections, l.open.Load())
	assert.LessOrEqual(t, st.Connections, 2)
	assert.LessOrEqual(t, l.open.Load(), int64(2+2),
		"sockets refused by the per-address limit are still open on the server 1.5 s later")
	start := time.Now()
	for l.open.Load() > 4 && time.Since(start) < 15*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d sockets open %v later", l.open.Load(), time.Since(start)+1500*time.Millisecond)
	for _, c := range clients {
		c.nc.Close()
	}
}

// ClientAddr is documented to read a proxy's header. A request that does
// not carry it (a client that reaches the server around the proxy, or a
// proxy that does not set it on upgrades) gives "", which the server
// takes as an address the limits do not apply to: such clients are not
// limited at all, even with LimitLoopback.
func TestAttackEmptyClientAddrEscapesPerAddressLimits(t *testing.T) {
	const maxConns = 2
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{LimitLoopback: true, MaxConns: maxConns, NewConversations: 1000}
	}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Real-Ip") }})
	welcomed := 0
	for i := range 4 * maxConns {
		ws := rawWS(t, url, nil) // no X-Real-Ip
		require.NoError(t, ws.Write(ctxT(t), 2, helloFrame(fmt.Sprint(i))))
		if _, ok := readMessage(t, ws).(*chat.Welcome); ok {
			welcomed++
		}
	}
	assert.LessOrEqual(t, welcomed, maxConns, "connections without an address were not limited")
}

// parseAddr resolves what ClientAddr returns with net.ResolveTCPAddr: a
// host name is looked up in DNS (a blocking lookup per upgrade), and
// "localhost" becomes 127.0.0.1, which passes for loopback: no
// per-address limits, and operator passwords accepted over plain HTTP.
// A proxy header is an address or nothing; a name in it must not be
// trusted as the machine itself.
func TestAttackHostNameInClientAddrPassesForLoopback(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Real-Ip") },
		Secure: func(*http.Request) bool { return false }})
	for _, who := range []string{"localhost", "localhost:443"} {
		ws := rawWS(t, url, http.Header{"X-Real-Ip": {who}})
		require.NoError(t, ws.Write(ctxT(t), 2, chat.AppendMessage(nil,
			&chat.Hello{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis"})))
		m := readMessage(t, ws)
		e, ok := m.(*chat.Error)
		if assert.True(t, ok, "X-Real-Ip %q: an operator password over plain HTTP was accepted (%T)", who, m) {
			assert.Equal(t, chat.CodeInsecure, e.Code)
		}
	}
}

// Half a HELLO over WebSocket, from many connections of one address: at
// most PerIP.MaxHandshakes of them are in the handshake at once, the
// others are refused; the stalled ones end at the handshake deadline.
func TestAttackStalledHellosOverWebSocket(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{MaxHandshakes: 4, MaxConns: 100}
		s.Heartbeat = time.Second // the handshake deadline
	}})
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Real-Ip") }})
	hello := helloFrame("stalled")
	half := append(hello[:8:8], make([]byte, 100)...)
	half[4], half[5], half[6], half[7] = 0, 0, 0x40, 0 // claims 16 KiB
	for range 20 {
		c := dialRaw(t, addr, "/", http.Header{"X-Real-Ip": {"192.0.2.9"}})
		require.NoError(t, c.binary(half))
	}
	time.Sleep(300 * time.Millisecond)
	st := srv.Chat.Stats()
	t.Logf("handshakes %d, connections %d, sockets %d", st.Handshakes, st.Connections, l.open.Load())
	assert.LessOrEqual(t, st.Handshakes, 4)
	require.Eventually(t, func() bool { return srv.Chat.Stats().Handshakes == 0 }, 5*time.Second, 20*time.Millisecond,
		"stalled handshakes end at the deadline")
}
