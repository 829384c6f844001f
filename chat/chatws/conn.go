package chatws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// wsConn is a WebSocket as a net.Conn with the deadline semantics of a
// TCP connection, which the chat's reader and writer rely on: a deadline
// that passes interrupts a blocked Read or Write and leaves the connection
// open (websocket.NetConn closes it instead, losing the final ERROR a
// server writes after waking its reader). A pump goroutine reads the
// messages as a stream of chunks, one chunk ahead of Read, so that a
// client that sends fast is pushed back as over TCP, and memory per
// connection stays at two chunks whatever the messages' size (none while
// idle: the pump's buffer comes from a pool for one message).
type wsConn struct {
	ws     *websocket.Conn
	raw    net.Conn // the socket under ws, when known (a server's), to close without waiting
	local  net.Addr
	remote net.Addr

	ctx    context.Context // ends the pump, after the closing handshake
	cancel context.CancelFunc

	chunks  chan []byte // from the pump; closed when it ends
	perr    error       // why the pump ended; set before chunks closes
	rmu     sync.Mutex  // one Read at a time
	pending []byte      // what Read took from chunks and did not return yet

	writing atomic.Bool // a Write is in progress (Close must not wait for it)

	dmu        sync.Mutex
	rdl, wdl   time.Time
	rdlChanged chan struct{} // closed and replaced when the read deadline changes
	closed     chan struct{}
	closeOnce  sync.Once
}

// chunkSize bounds what the pump holds: one chunk in the channel, one in
// Read's hands.
const chunkSize = 16 << 10

func newConn(ws *websocket.Conn, local, remote net.Addr, raw net.Conn) *wsConn {
	ws.SetReadLimit(-1) // the chat's frame reader bounds frames; messages are streamed
	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{ws: ws, raw: raw, local: local, remote: remote, ctx: ctx, cancel: cancel, chunks: make(chan []byte),
		rdlChanged: make(chan struct{}), closed: make(chan struct{})}
	go c.pump()
	return c
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func (c *wsConn) pump() {
	defer close(c.chunks)
	for {
		typ, r, err := c.ws.Reader(c.ctx)
		if err != nil {
			c.perr = readError(err)
			return
		}
		if typ != websocket.MessageBinary {
			c.ws.Close(websocket.StatusUnsupportedData, "binary messages only")
			c.perr = errors.New("chatws: a text message")
			return
		}
		if !c.readMessage(r) {
			return
		}
	}
}

// readMessage hands one message over in chunks; false ends the pump (with
// perr set).
func (c *wsConn) readMessage(r io.Reader) bool {
	buf := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(buf)
	scratch := *buf
	for {
		n, err := r.Read(scratch)
		if n > 0 {
			select {
			case c.chunks <- append([]byte(nil), scratch[:n]...):
			case <-c.closed:
				c.perr = net.ErrClosed
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			c.perr = readError(err)
			return false
		}
	}
}

// readError turns a closing handshake into io.EOF, as a TCP FIN.
func readError(err error) error {
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return io.EOF
	}
	return err
}

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) == 0 {
		select {
		case <-c.closed: // closed here: whatever the pump saw since
			return 0, net.ErrClosed
		default:
		}
		c.dmu.Lock()
		dl, changed := c.rdl, c.rdlChanged
		c.dmu.Unlock()
		var expired <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			expired = t.C
		}
		select {
		case b, ok := <-c.chunks:
			if !ok {
				select {
				case <-c.closed:
					return 0, net.ErrClosed
				default:
					return 0, c.perr
				}
			}
			c.pending = b
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// Write sends p as one binary message. A write deadline that passes ends
// the connection (a WebSocket cannot resume half a message).
func (c *wsConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.dmu.Lock()
	dl := c.wdl
	c.dmu.Unlock()
	ctx := c.ctx
	if !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	c.writing.Store(true)
	defer c.writing.Store(false)
	if err := c.ws.Write(ctx, websocket.MessageBinary, p); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, os.ErrDeadlineExceeded
		}
		return 0, err
	}
	return len(p), nil
}

// closeGrace bounds the closing handshake: a peer that does not answer
// it within the grace has its socket closed anyway, so that refused and
// ended connections do not hold sockets.
const closeGrace = 250 * time.Millisecond

// Close returns at once. It starts the closing handshake and closes the
// socket when the peer answers or after closeGrace; with a Write in
// progress (a peer that does not read) it closes the socket at once, so
// that the Write returns.
func (c *wsConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.writing.Load() {
			c.closeNow()
			return
		}
		go func() {
			done := make(chan struct{})
			go func() {
				c.ws.Close(websocket.StatusNormalClosure, "")
				close(done)
			}()
			t := time.NewTimer(closeGrace)
			select {
			case <-done:
			case <-t.C:
				c.closeNow()
			}
			t.Stop()
			<-done
			c.cancel()
		}()
	})
	return nil
}

// closeNow closes the socket itself, which ends any write or handshake
// in progress (websocket's CloseNow waits for a Close already begun).
func (c *wsConn) closeNow() {
	if c.raw != nil {
		c.raw.Close()
	}
	c.ws.CloseNow()
	c.cancel()
}

func (c *wsConn) LocalAddr() net.Addr  { return c.local }
func (c *wsConn) RemoteAddr() net.Addr { return c.remote }

func (c *wsConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdl = t
	close(c.rdlChanged)
	c.rdlChanged = make(chan struct{})
	c.dmu.Unlock()
	return nil
}

func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return nil
}
