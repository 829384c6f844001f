package smpptest

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// garbage is written instead of a response by AnswerGarbage: its
// command_length (0xDEADBEEF) is beyond any limit, so a client must treat
// the stream as broken.
var garbage = []byte("\xde\xad\xbe\xefgarbage-answer\x00")

// faultListener keeps the accepted connections so that faults can reach
// below the SMPP session: raw writes and abrupt closes.
type faultListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]net.Conn // by remote address
	slow  bool                // FaultSlowReads
	tls   *tls.Config         // when set, connections speak TLS under the faults
}

func (l *faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.tls != nil { // the faults' raw bytes then travel as TLS records
		c = tls.Server(c, l.tls)
	}
	fc := &faultConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = fc
	l.mu.Unlock()
	return fc, nil
}

func (l *faultListener) garble(addr net.Addr) {
	if addr == nil {
		return
	}
	l.mu.Lock()
	c := l.conns[addr.String()]
	l.mu.Unlock()
	if c != nil {
		c.Write(garbage)
	}
}

func (l *faultListener) dropAll() int {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for _, c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// faultConn serializes writes (the session's and the faults') and leaves
// the listener's table when closed.
type faultConn struct {
	net.Conn
	l       *faultListener
	wmu     sync.Mutex
	stalled bool // FaultPartialThenStall: writes are swallowed
	once    sync.Once
}

func (c *faultConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.stalled {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *faultConn) Read(b []byte) (int, error) {
	if c.l.isSlow() {
		time.Sleep(slowReadPause)
		b = b[:min(len(b), 512)]
	}
	return c.Conn.Read(b)
}

func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c.RemoteAddr().String())
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// DropConnections closes every connection at once, without unbind, as a
// network failure would. It returns how many it closed. The simulator
// keeps listening.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	l := s.ln
	s.mu.Unlock()
	return l.dropAll()
}

// SetMute makes the simulator stop answering requests (true) or answer
// again (false). A muted simulator still answers enquire_link and unbind,
// as an SMSC whose message store has hung does; clients see their
// requests time out.
func (s *Server) SetMute(mute bool) {
	s.mu.Lock()
	s.mute = mute
	s.mu.Unlock()
}

// AnswerGarbage makes the next n requests be answered with bytes that
// are not a PDU (a command_length far beyond any limit) instead of their
// response.
func (s *Server) AnswerGarbage(n int) {
	s.mu.Lock()
	s.garbage = n
	s.mu.Unlock()
}
