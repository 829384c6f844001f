package chat

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one client connection on the server: a reader (the goroutine
// that serves it) and a writer draining a bounded outbound buffer, so
// that a slow client never holds up anybody else.
type conn struct {
	srv  *Server
	nc   net.Conn
	fr   *FrameReader
	role Role

	mu         sync.Mutex
	out        []byte // encoded frames waiting for the writer
	closeAfter bool   // close once out is written
	closed     bool
	wake       chan struct{}
	drained    chan struct{} // signalled when the writer empties out
	done       chan struct{}
	closeOnce  sync.Once
	reason     string

	lastSent atomic.Int64 // UnixNano of the last write
	ready    atomic.Bool  // the handshake is done: heartbeats may go

	// Set by the handshake, then read-only.
	conv     *conv     // a customer's conversation
	op       *operator // an operator's state
	session  string
	uploads  map[uint64]*upload // reader goroutine only
	rate     tokens             // reader goroutine only
	lastRate time.Time
}

func newConn(srv *Server, nc net.Conn) *conn {
	return &conn{srv: srv, nc: nc, fr: NewFrameReader(nc, srv.maxFrame()), wake: make(chan struct{}, 1),
		drained: make(chan struct{}, 1), done: make(chan struct{}), uploads: map[uint64]*upload{}}
}

// send queues m for the client. It never blocks: when the outbound buffer
// would exceed the limit, the client is a slow consumer and is dropped.
// It reports whether m was queued.
func (c *conn) send(m Message) bool {
	c.mu.Lock()
	if c.closed || c.closeAfter {
		c.mu.Unlock()
		return false
	}
	before := len(c.out)
	c.out = AppendMessage(c.out, m)
	if len(c.out) > c.srv.outboundLimit() {
		c.out = c.out[:before]
		c.mu.Unlock()
		c.srv.logf("slow consumer", "remote", c.nc.RemoteAddr(), "queued_bytes", before)
		c.fail(CodeSlowConsumer, "outbound queue full: the client does not read fast enough")
		return false
	}
	first := before == 0
	c.mu.Unlock()
	if first {
		c.signal()
	}
	return true
}

// sendWait queues m once the outbound buffer has room (for downloads,
// which would otherwise trip the slow-consumer limit), or gives up when
// the connection ends.
func (c *conn) sendWait(m Message) bool {
	for {
		c.mu.Lock()
		full := len(c.out) > c.srv.outboundLimit()/2
		closed := c.closed || c.closeAfter
		c.mu.Unlock()
		if closed {
			return false
		}
		if !full {
			return c.send(m)
		}
		select {
		case <-c.drained:
		case <-c.done:
			return false
		}
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// fail sends an ERROR with the final flag and closes once it is written.
func (c *conn) fail(code ErrorCode, text string) {
	c.mu.Lock()
	if c.closed || c.closeAfter {
		c.mu.Unlock()
		return
	}
	start := len(c.out)
	c.out = AppendMessage(c.out, &Error{Code: code, Text: text})
	c.out[start+2] |= FlagFinal
	c.closeAfter = true
	c.reason = code.String()
	c.mu.Unlock()
	c.signal()
	// A client that does not read at all must not keep the connection:
	// the write deadline in writeLoop bounds the wait.
}

// refuse answers a request with a non-final ERROR.
func (c *conn) refuse(code ErrorCode, text string, conversation int64, clientMsgID string) {
	c.send(&Error{Code: code, Text: text, ConversationID: conversation, ClientMsgID: clientMsgID})
}

func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		if c.reason == "" {
			c.reason = reason
		}
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// writeLoop writes queued frames, pings when idle, and closes the
// connection after a final frame or a write that does not complete in
// time.
func (c *conn) writeLoop() {
	hb := c.srv.heartbeat()
	ticker := time.NewTicker(hb / 2)
	defer ticker.Stop()
	var buf []byte
	var nonce uint64
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		case now := <-ticker.C:
			if c.ready.Load() && now.UnixNano()-c.lastSent.Load() >= int64(hb) {
				nonce++
				c.send(&Ping{Nonce: nonce})
			}
			continue
		}
		c.mu.Lock()
		buf, c.out = c.out, buf[:0]
		closeAfter := c.closeAfter
		c.mu.Unlock()
		if len(buf) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout()))
			if _, err := c.nc.Write(buf); err != nil {
				c.close("write: " + err.Error())
				return
			}
			c.lastSent.Store(time.Now().UnixNano())
		}
		c.mu.Lock()
		empty := len(c.out) == 0
		c.mu.Unlock()
		if empty {
			select {
			case c.drained <- struct{}{}:
			default:
			}
			if closeAfter {
				c.close(c.reason)
				return
			}
		} else {
			c.signal()
		}
	}
}

// tokens is a per-connection token bucket for chat traffic.
type tokens struct {
	level float64
	init  bool
}

func (c *conn) allow(now time.Time) bool {
	rate, burst := c.srv.messageRate()
	if rate <= 0 {
		return true
	}
	if !c.rate.init {
		c.rate.level, c.rate.init = burst, true
	} else {
		c.rate.level = min(burst, c.rate.level+now.Sub(c.lastRate).Seconds()*rate)
	}
	c.lastRate = now
	if c.rate.level < 1 {
		return false
	}
	c.rate.level--
	return true
}
