package chatws_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

// mount serves h over HTTP and returns its ws:// URL.
func mount(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The resume torture of the TCP transport, over WebSocket: connections
// cut again and again while both sides send; every message reaches every
// participant once, in order.
func TestResumeTortureOverWebSocket(t *testing.T) {
	rep, err := chattest.Torture(context.Background(), chattest.TortureConfig{Customers: 4, PerSender: 2000,
		Transport: func(srv *chattest.Server) (func(context.Context, string) (net.Conn, error), func()) {
			hs := httptest.NewServer(&chatws.Handler{Server: srv.Chat})
			return chatws.Dialer("ws"+strings.TrimPrefix(hs.URL, "http"), nil), hs.Close
		}})
	t.Log(rep)
	require.NoError(t, err)
	assert.Greater(t, rep.Drops, 10)
	assert.GreaterOrEqual(t, rep.Messages, 4*2*2000)
}

// A customer and an operator talk over WebSocket as over TCP, through
// the same server as a TCP customer.
func TestConversationOverWebSocket(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat})
	ctx := ctxT(t)
	got := make(chan chat.Message, 100)
	op, err := chat.Dial(ctx, "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Dialer: chatws.Dialer(url, nil), Handler: func(m chat.Message) { got <- m }})
	require.NoError(t, err)
	defer op.Close()
	cust, err := chat.Dial(ctx, "ws", &chat.ClientOptions{Name: "Ana", CustomerID: "a", Dialer: chatws.Dialer(url, nil)})
	require.NoError(t, err)
	defer cust.Close()
	_, err = cust.Send(ctx, "hola por websocket")
	require.NoError(t, err)
	for {
		select {
		case m := <-got:
			if p, ok := m.(*chat.Post); ok && p.Text == "hola por websocket" {
				return
			}
		case <-ctx.Done():
			t.Fatal("the operator never got the message")
		}
	}
}

// rawWS speaks frames by hand over a WebSocket.
func rawWS(t *testing.T, url string, header http.Header) *websocket.Conn {
	ws, _, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{Subprotocols: []string{chatws.Subprotocol}, HTTPHeader: header})
	require.NoError(t, err)
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func readMessage(t *testing.T, ws *websocket.Conn) chat.Message {
	t.Helper()
	nc := websocket.NetConn(ctxT(t), ws, websocket.MessageBinary)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := chat.NewFrameReader(nc, 0).Read()
	require.NoError(t, err)
	m, err := chat.Decode(f)
	require.NoError(t, err)
	return m
}

// Limits hold over WebSocket: the per-address line limit counts the
// address ClientAddr gives, a frame over the limit ends the connection.
func TestLimitsOverWebSocket(t *testing.T) {
	const maxWaiting = 5
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{LimitLoopback: true, MaxWaiting: maxWaiting, NewConversations: 1000}
	}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	from := http.Header{"X-Test-Client": {"192.0.2.7:5555"}}
	welcomed, limited := 0, 0
	for i := range 3 * maxWaiting {
		ws := rawWS(t, url, from)
		require.NoError(t, ws.Write(ctxT(t), websocket.MessageBinary,
			chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Fake", CustomerID: fmt.Sprint(i)})))
		switch m := readMessage(t, ws).(type) {
		case *chat.Welcome:
			welcomed++
		case *chat.Error:
			assert.Equal(t, chat.CodeRateLimited, m.Code, "%v", m)
			limited++
		}
	}
	assert.Equal(t, maxWaiting, welcomed)
	assert.Equal(t, 2*maxWaiting, limited)

	// Another address still gets in; a frame over the handshake limit
	// ends its connection with an error.
	ws := rawWS(t, url, http.Header{"X-Test-Client": {"192.0.2.8:1"}})
	header := []byte{chat.Version, byte(chat.TypeHello), 0, 0, 0, 1, 0, 0} // 64 KiB payload announced
	require.NoError(t, ws.Write(ctxT(t), websocket.MessageBinary, header))
	m := readMessage(t, ws)
	e, ok := m.(*chat.Error)
	require.True(t, ok, "%T %v", m, m)
	assert.Equal(t, chat.CodeBadFrame, e.Code)
}

// Operator passwords need an encrypted connection unless it comes from
// loopback: Secure says which requests came over HTTPS.
func TestOperatorPasswordNeedsSecureTransport(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	remote := func(r *http.Request) string { return "198.51.100.9:4000" }
	for _, secure := range []bool{false, true} {
		url := mount(t, &chatws.Handler{Server: srv.Chat, ClientAddr: remote, Secure: func(*http.Request) bool { return secure }})
		_, err := chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
			Dialer: chatws.Dialer(url, nil)})
		if secure {
			assert.NoError(t, err)
		} else {
			var ce *chat.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, chat.CodeInsecure, ce.Code)
		}
	}
}

// Pages of other sites are refused unless listed; a plain GET is not an
// upgrade; a client without the subprotocol is refused.
func TestOriginsAndUpgrades(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, OriginPatterns: []string{"shop.example"}})
	_, resp, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{Subprotocols: []string{chatws.Subprotocol},
		HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	ws := rawWS(t, url, http.Header{"Origin": {"https://shop.example"}})
	require.NoError(t, ws.Write(ctxT(t), websocket.MessageBinary, chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "1"})))
	_, ok := readMessage(t, ws).(*chat.Welcome)
	assert.True(t, ok, "a listed origin")

	plain, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	require.NoError(t, err)
	plain.Body.Close()
	assert.GreaterOrEqual(t, plain.StatusCode, 400, "a GET that is no upgrade")

	noProto, _, err := websocket.Dial(ctxT(t), url, nil)
	require.NoError(t, err)
	defer noProto.CloseNow()
	_, _, err = noProto.Read(ctxT(t))
	assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err), "%v", err)
}

// Shutdown reaches WebSocket connections too.
func TestShutdownClosesWebSockets(t *testing.T) {
	srv := chattest.NewServer(nil)
	url := mount(t, &chatws.Handler{Server: srv.Chat})
	cust, err := chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Name: "Ana", CustomerID: "a", Dialer: chatws.Dialer(url, nil)})
	require.NoError(t, err)
	defer cust.Close()
	srv.Close()
	select {
	case <-cust.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("customer not told of the shutdown")
	}
	var ce *chat.Error
	require.ErrorAs(t, cust.Err(), &ce)
	assert.Equal(t, chat.CodeShuttingDown, ce.Code)
}

// The http.Server's request timeouts do not reach an upgraded
// connection: a chat outlives them.
func TestServerTimeoutsDoNotEndTheChat(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	hs := httptest.NewUnstartedServer(&chatws.Handler{Server: srv.Chat})
	hs.Config.ReadTimeout, hs.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	hs.Start()
	defer hs.Close()
	cust, err := chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Name: "Ana", CustomerID: "a",
		Dialer: chatws.Dialer("ws"+strings.TrimPrefix(hs.URL, "http"), nil)})
	require.NoError(t, err)
	defer cust.Close()
	time.Sleep(time.Second)
	_, err = cust.Send(ctxT(t), "still here")
	require.NoError(t, err)
	select {
	case <-cust.Done():
		t.Fatalf("the connection ended: %v", cust.Err())
	default:
	}
}

// An operators' endpoint whose requests the site authenticated: the
// session's operator logs in without a password, and only as itself.
func TestOperatorSessionEndpoint(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis", "marta": "pw-marta"}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat, Operator: func(r *http.Request) (string, error) {
		if login := r.Header.Get("X-Test-Session"); login != "" {
			return login, nil
		}
		return "", errors.New("no session")
	}})
	dial := func(session string) func(context.Context, string) (net.Conn, error) {
		return func(ctx context.Context, _ string) (net.Conn, error) {
			ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{chatws.Subprotocol},
				HTTPHeader: http.Header{"X-Test-Session": {session}}})
			if err != nil {
				return nil, err
			}
			return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
		}
	}
	op, err := chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Dialer: dial("luis")})
	require.NoError(t, err, "no password needed")
	op.Close()
	var ce *chat.Error
	_, err = chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "marta", Password: "pw-marta", Dialer: dial("luis")})
	require.ErrorAs(t, err, &ce, "another operator, even with her password")
	assert.Equal(t, chat.CodeAuthFailed, ce.Code)
	_, err = chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Name: "Ana", CustomerID: "a", Dialer: dial("luis")})
	require.ErrorAs(t, err, &ce, "a customer")
	assert.Equal(t, chat.CodeAuthFailed, ce.Code)
	_, err = chat.Dial(ctxT(t), "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "nobody", Dialer: dial("nobody")})
	require.ErrorAs(t, err, &ce, "an operator the directory does not know")
	assert.Equal(t, chat.CodeAuthFailed, ce.Code)
	_, _, err = websocket.Dial(ctxT(t), url, &websocket.DialOptions{Subprotocols: []string{chatws.Subprotocol}})
	assert.Error(t, err, "no session: refused before the upgrade")
}
