// Package chatws carries the chat protocol over WebSocket, so that
// browsers can chat: the same frames as over TCP (chat/PROTOCOL.md), one
// or more per binary WebSocket message, into the same [chat.Server], with
// the same handshake, limits, resume and shutdown.
//
// A [Handler] is an http.Handler to mount on a website's server (next to
// the page with the chat widget); [Dialer] makes a chat.Client speak
// over WebSocket (tests, and Go programs behind proxies that pass only
// HTTP).
//
// An idle WebSocket connection costs the server about 30 KB and three
// goroutines (websocket's, a pump that gives reads TCP's deadlines, and
// the chat's reader), against about 6 KB and one over TCP.
package chatws

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-go/switchboard/chat"
)

// Subprotocol is the WebSocket subprotocol of the chat protocol, version 1.
const Subprotocol = "switchboard.chat.v1"

// Handler accepts WebSocket upgrades and serves each connection with
// Server until it ends. Set its fields before serving; it is safe for
// concurrent use.
type Handler struct {
	Server *chat.Server
	// OriginPatterns are the other origins whose pages may connect
	// (host patterns as in path.Match, e.g. "*.example.com"); pages of the
	// handler's own origin always may. A browser sends no credential with
	// the chat (customers identify in HELLO, operators log in there), but
	// a page of another site could still use a customer's address and
	// count against its limits: list the sites that embed the widget.
	OriginPatterns []string
	// ClientAddr returns the client's address for the per-address limits
	// ("ip:port" or an IP; a host name is not looked up and counts as an
	// address of its own). nil, or "" for a request: r.RemoteAddr. Behind
	// a reverse proxy, read the proxy's header here (and only then: a
	// client can send any header).
	ClientAddr func(r *http.Request) string
	// Secure says whether a request came encrypted, which operator
	// passwords need. nil: r.TLS != nil.
	Secure func(r *http.Request) bool
	// Operator, when set, makes this an operators' endpoint whose
	// requests the site has authenticated (a console's session cookie):
	// it returns the operator's login, whose HELLO then needs no password
	// (chat.Server.ServeOperatorConn), or an error, answered 403 before
	// the upgrade. Such a handler must check the Origin of its requests
	// (OriginPatterns empty: only the site's own pages), or any page could
	// chat with the browser's cookie.
	Operator func(r *http.Request) (login string, err error)
}

// ServeHTTP upgrades the request and hands the connection to Server,
// returning at once (the chat goes on until the connection ends, or the
// Server's Shutdown or Close). A request that is not a WebSocket upgrade,
// or from an origin not allowed, is answered with an HTTP error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	operator := ""
	if h.Operator != nil {
		login, err := h.Operator(r)
		if err != nil || login == "" {
			http.Error(w, "not an operator's session", http.StatusForbidden)
			return
		}
		operator = login
	}
	hj := &hijacked{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol},
		OriginPatterns: h.OriginPatterns})
	if err != nil {
		return // Accept answered the request
	}
	if ws.Subprotocol() != Subprotocol {
		ws.Close(websocket.StatusPolicyViolation, "the "+Subprotocol+" subprotocol is required")
		return
	}
	remote := ""
	if h.ClientAddr != nil {
		remote = h.ClientAddr(r)
	}
	if remote == "" { // not told (a request that went around the proxy): the peer's own address
		remote = r.RemoteAddr
	}
	secure := r.TLS != nil
	if h.Secure != nil {
		secure = h.Secure(r)
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	nc := newConn(ws, orAddr(local), parseAddr(remote), hj.conn)
	// The connection goes on in goroutines of its own; this one, grown
	// by the HTTP server and the upgrade, ends (the hijacked connection
	// is not closed with it).
	if operator != "" {
		go h.Server.ServeOperatorConn(nc, secure, operator)
		return
	}
	go h.Server.ServeConn(nc, secure)
}

// hijacked keeps the connection the upgrade takes over, and clears the
// http.Server's read and write deadlines on it: they are for requests,
// and the chat watches its connections with its heartbeat. A request
// that is refused keeps them (a slow body still times out).
type hijacked struct {
	http.ResponseWriter
	conn net.Conn
}

func (w *hijacked) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		nc.SetDeadline(time.Time{})
		w.conn = nc
	}
	return nc, brw, err
}

func (w *hijacked) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func orAddr(a net.Addr) net.Addr {
	if a == nil {
		return textAddr("websocket")
	}
	return a
}

// parseAddr reads "ip:port", "[v6]:port" or a bare IP; anything else
// (a host name: never looked up) is kept as text, an address of its own
// for the limits and never loopback.
func parseAddr(s string) net.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
	}
	return textAddr("unparsed " + s) // never "localhost": no name is loopback here

}

type textAddr string

func (a textAddr) Network() string { return "tcp" }
func (a textAddr) String() string  { return string(a) }

// Dialer returns a chat.ClientOptions.Dialer that connects over
// WebSocket to url ("ws://host/chat" or "wss://..."), whatever address
// the client is given. client may be nil (http.DefaultClient).
func Dialer(url string, client *http.Client) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{Subprotocol}})
		if err != nil {
			return nil, err
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if ws.Subprotocol() != Subprotocol {
			ws.Close(websocket.StatusProtocolError, "no subprotocol")
			return nil, errors.New("chatws: the server does not speak " + Subprotocol)
		}
		// The connection outlives the dial's context: it is closed by the
		// client.
		return newConn(ws, textAddr("websocket"), textAddr(url), nil), nil
	}
}
