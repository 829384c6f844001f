package chatws_test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// rawClient is a hostile WebSocket client written by hand over TCP: it
// upgrades, writes masked frames, and does nothing it is not told to
// (it answers no ping and no close, and reads only when asked).
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

// dialRaw upgrades a TCP connection to addr (host:port) at path with the
// chat subprotocol; extra headers are added to the request.
func dialRaw(t testing.TB, addr, path string, extra http.Header) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, addr)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	fmt.Fprintf(&req, "Sec-WebSocket-Protocol: %s\r\n", chatws.Subprotocol)
	for k, vs := range extra {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(nc, req.String())
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	nc.SetDeadline(time.Time{})
	return &rawClient{nc: nc, br: br}
}

// frame writes one masked WebSocket frame.
func (c *rawClient) frame(fin bool, opcode byte, p []byte) error {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	switch {
	case len(p) < 126:
		h = append(h, 0x80|byte(len(p)))
	case len(p) <= 0xffff:
		h = append(h, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(len(p)))
	}
	var key [4]byte
	rand.Read(key[:])
	h = append(h, key[:]...)
	m := make([]byte, len(p))
	for i := range p {
		m[i] = p[i] ^ key[i%4]
	}
	_, err := c.nc.Write(append(h, m...))
	return err
}

func (c *rawClient) binary(p []byte) error { return c.frame(true, 0x2, p) }

// readFrame reads one unmasked server frame: opcode and payload.
func (c *rawClient) readFrame(timeout time.Duration) (byte, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	defer c.nc.SetReadDeadline(time.Time{})
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(c.br, p)
	return h[0] & 0x0f, p, err
}

// readChat reads binary messages until a whole chat frame is in, and
// decodes it (it assumes a message holds whole frames, as the server
// writes them).
func (c *rawClient) readChat(t testing.TB, timeout time.Duration) chat.Message {
	t.Helper()
	for {
		op, p, err := c.readFrame(timeout)
		require.NoError(t, err)
		if op != 0x2 {
			continue
		}
		f, err := chat.NewFrameReader(strings.NewReader(string(p)), 0).Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		return m
	}
}

// countingListener counts the server side's open sockets: accepted and
// not yet closed (a hijacked connection is closed through the same
// net.Conn).
type countingListener struct {
	net.Listener
	open atomic.Int64
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: nc, l: l}, nil
}

// serveCounted serves h on 127.0.0.1 through a countingListener.
func serveCounted(t testing.TB, h http.Handler) (addr string, l *countingListener) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l = &countingListener{Listener: inner}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener = l
	hs.Start()
	t.Cleanup(hs.Close)
	return inner.Addr().String(), l
}

func helloFrame(id string) []byte {
	return chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Mallory", CustomerID: id})
}

func bytesReader(p []byte) *strings.Reader { return strings.NewReader(string(p)) }
