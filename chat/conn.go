package chat

import (
	"crypto/tls"
	"net"
	"runtime"
	"slices"
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
	spare      []byte // the writer's last buffer, reused
	writing    bool   // a flush goroutine runs (only while there is output)
	closeAfter bool   // close once out is written
	closed     bool
	room       chan struct{} // closed when the writer takes the queue (see waitRoom)
	done       chan struct{}
	closeOnce  sync.Once
	reason     string
	heartbeat  *time.Timer
	pingNonce  uint64

	ready      atomic.Bool // the handshake is done: the hub knows the connection
	detachOnce sync.Once
	lastSent   atomic.Int64  // UnixNano of the last write
	received   atomic.Uint64 // frames read after the handshake

	cursors []*cursor // the conversations followed (guarded by mu; see delivery.go)
	sending []sendKey // the connection's SENDs not yet answered, in order (guarded by mu; see delivery.go)

	ip string // what the connection counts against (guard.ipKey)

	// Set by the handshake, then read-only.
	conv      *conv     // a customer's conversation
	op        *operator // an operator's state
	session   string
	caps      []string           // capabilities agreed in the handshake
	uploads   map[uint64]*upload // reader goroutine only
	inflight  chan struct{}      // SENDs read and not yet stored (maxInflight)
	downloads chan struct{}      // downloads running (maxDownloads)
	rate      tokens             // reader goroutine only
	lastRate  time.Time
	upload    tokens // upload bytes (reader goroutine only)
	frameLen  int    // payload length of the frame being handled (reader goroutine only)
	secure    bool   // encrypted: TLS, or a WebSocket over HTTPS
	operator  string // ServeOperatorConn: the only login this connection may have; no password asked
	uploadAt  time.Time
}

// MaxHelloFrame caps the payload of a frame before the handshake is done
// (a HELLO needs far less).
const MaxHelloFrame = 16 << 10

func newConn(srv *Server, nc net.Conn) *conn {
	_, secure := nc.(*tls.Conn)
	return &conn{srv: srv, nc: nc, secure: secure, fr: NewFrameReader(nc, min(srv.maxFrame(), MaxHelloFrame)), ip: srv.guard.ipKey(nc.RemoteAddr()),
		done: make(chan struct{}), uploads: map[uint64]*upload{},
		inflight: make(chan struct{}, maxInflight), downloads: make(chan struct{}, maxDownloads)}
}

// maxInflight bounds the SENDs of one connection waiting for their group
// commit: the reader stops reading (TCP pushes back) beyond it.
const maxInflight = 64

// send queues m for the client. It never blocks: when the outbound buffer
// would exceed the limit, the client is a slow consumer and is dropped.
// It reports whether m was queued.
func (c *conn) send(m Message) bool {
	c.mu.Lock()
	if c.closed || c.closeAfter {
		c.mu.Unlock()
		return false
	}
	if !c.queueLocked(m) {
		c.mu.Unlock()
		c.slowConsumer()
		return false
	}
	c.mu.Unlock()
	return true
}

// queueLocked appends m to the outbound buffer unless that would exceed
// the limit (it reports false, and queues nothing).
func (c *conn) queueLocked(m Message) bool {
	before := len(c.out)
	c.appendLocked(m)
	if len(c.out) > c.srv.outboundLimit() {
		c.out = c.out[:before]
		return false
	}
	return true
}

// appendLocked appends m to the outbound buffer whatever its size (the
// caller bounds it: see waitRoom) and starts the writer.
func (c *conn) appendLocked(m Message) {
	if cap(c.out) >= 4<<10 && cap(c.out)-len(c.out) < 4<<10 {
		// Double rather than let append grow by a quarter at a time:
		// a busy operator's queue is copied a few times, not dozens.
		c.out = slices.Grow(c.out, cap(c.out))
	}
	c.out = AppendMessage(c.out, m)
	c.startFlushLocked()
}

// slowConsumer drops a client whose outbound queue is full.
func (c *conn) slowConsumer() {
	c.srv.logf("slow consumer", "remote", c.nc.RemoteAddr())
	c.fail(CodeSlowConsumer, "outbound queue full: the client does not read fast enough")
}

// startFlushLocked starts the flush goroutine unless it runs. An idle
// connection has none: it costs no goroutine.
func (c *conn) startFlushLocked() {
	if !c.writing && len(c.out) > 0 {
		c.writing = true
		c.srv.wg.Add(1)
		go c.flush()
	}
}

// waitRoom waits until the outbound buffer is at most half full (for
// downloads and catch-ups, which would otherwise trip the slow-consumer
// limit); false when the connection ends first. Any number of goroutines
// may wait at once: the writer wakes them all.
func (c *conn) waitRoom() bool {
	c.mu.Lock()
	for {
		if c.closed || c.closeAfter {
			c.mu.Unlock()
			return false
		}
		if len(c.out) <= c.srv.outboundLimit()/2 {
			c.mu.Unlock()
			return true
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-c.done:
			return false
		}
		c.mu.Lock()
	}
}

// sendWait queues m once the outbound buffer has room, or gives up when
// the connection ends.
func (c *conn) sendWait(m Message) bool {
	if !c.waitRoom() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeAfter {
		return false
	}
	c.appendLocked(m)
	return true
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
	c.startFlushLocked()
	c.mu.Unlock()
	// A client that does not read at all must not keep the connection:
	// the write deadline in flush bounds the wait. Meanwhile it takes no
	// part in its conversations any more: the others hear it left now
	// (the reader, woken up here, takes it out of the hub).
	if c.ready.Load() {
		c.nc.SetReadDeadline(time.Now())
	}
}

// detach takes the connection out of the hub, once (when it fails, or
// when it ends).
func (c *conn) detach() {
	c.detachOnce.Do(func() { c.srv.hub.disconnected(c) })
}

// leaving reports whether the connection was failed: it only writes out
// what is queued and its reason now.
func (c *conn) leaving() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.closeAfter
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
		if c.heartbeat != nil {
			c.heartbeat.Stop()
		}
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// flush writes what is queued until nothing is, then ends (the next send
// starts another); after a final frame it closes the connection. A write
// that does not complete within WriteTimeout closes it too.
func (c *conn) flush() {
	defer c.srv.wg.Done()
	lingered := false
	for {
		c.mu.Lock()
		if len(c.out) == 0 && !c.closed && !lingered {
			// Under load more output is usually on its way: yield once
			// before ending, rather than start a goroutine per frame.
			c.mu.Unlock()
			lingered = true
			runtime.Gosched()
			continue
		}
		lingered = false
		if len(c.out) == 0 || c.closed {
			c.writing = false
			if cap(c.spare) > 4<<10 {
				c.spare = nil // going idle: keep no large buffer
			}
			if cap(c.out) > 4<<10 {
				c.out = nil
			}
			closeAfter := c.closeAfter && !c.closed
			c.mu.Unlock()
			if closeAfter {
				c.close(c.reason)
			}
			return
		}
		buf := c.out
		c.out = c.spare[:0]
		c.spare = nil
		if c.room != nil {
			close(c.room)
			c.room = nil
		}
		c.mu.Unlock()
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout()))
		_, err := c.nc.Write(buf)
		c.lastSent.Store(time.Now().UnixNano())
		c.mu.Lock()
		if cap(buf) <= 2*c.srv.outboundLimit() { // reused while busy; dropped when the writer goes idle
			c.spare = buf[:0]
		}
		c.mu.Unlock()
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.close("write: " + err.Error())
			return
		}
	}
}

// startHeartbeat pings the client whenever nothing was sent for a
// heartbeat interval, and closes the connection when nothing arrived for
// three: with a timer rather than a goroutine or a read deadline per
// frame.
func (c *conn) startHeartbeat() {
	hb := c.srv.heartbeat()
	lastCount := c.received.Load()
	silent := 0 // ticks (half intervals) without a frame
	var tick func()
	tick = func() {
		select {
		case <-c.done:
			return
		default:
		}
		if n := c.received.Load(); n != lastCount {
			lastCount, silent = n, 0
		} else if silent++; silent >= 6 {
			c.fail(CodeHeartbeatLost, "nothing received within three heartbeats")
			return
		}
		if time.Since(time.Unix(0, c.lastSent.Load())) >= hb {
			c.mu.Lock()
			c.pingNonce++
			n := c.pingNonce
			c.mu.Unlock()
			c.send(&Ping{Nonce: n})
		}
		c.mu.Lock()
		if !c.closed {
			c.heartbeat = time.AfterFunc(hb/2, tick)
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.heartbeat = time.AfterFunc(hb/2, tick)
	c.mu.Unlock()
}

// tokens is a per-connection token bucket for chat traffic.
type tokens struct {
	level float64
	init  bool
}

// uploadTokens waits until the connection may take n more upload bytes
// at rate bytes a second (bursts of a second's worth); false if the
// connection ends first.
func (c *conn) uploadTokens(n, rate float64) bool {
	now := time.Now()
	if !c.upload.init {
		c.upload.level, c.upload.init = rate, true
	} else {
		c.upload.level = min(rate, c.upload.level+now.Sub(c.uploadAt).Seconds()*rate)
	}
	c.uploadAt = now
	c.upload.level -= n
	if c.upload.level >= 0 {
		return true
	}
	wait := time.Duration(-c.upload.level / rate * float64(time.Second))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

func (c *conn) allow() bool {
	rate, burst := c.srv.messageRate()
	if rate <= 0 {
		return true
	}
	now := time.Now()
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
