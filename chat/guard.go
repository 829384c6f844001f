package chat

import (
	"net"
	"sync"
	"time"
)

// PerIPLimits bound what one client address may hold on the server, so
// that one machine cannot take the server's memory or the line from
// everybody else. An IPv6 /64 counts as one address. The zero value
// means the defaults.
type PerIPLimits struct {
	// MaxConns caps the open connections (default 64).
	MaxConns int
	// MaxHandshakes caps the connections that have not finished their
	// HELLO (default 8).
	MaxHandshakes int
	// NewConversations is how many conversations the address may open
	// per minute, in a burst of as many (default 30).
	NewConversations int
	// MaxWaiting caps the address's conversations waiting in line
	// (default 20).
	MaxWaiting int
	// LimitLoopback applies the limits to loopback addresses too. By
	// default they are exempt: a reverse proxy on the same machine, and
	// tests and benchmarks, connect from there.
	LimitLoopback bool
}

func (l PerIPLimits) maxConns() int         { return orInt(l.MaxConns, 64) }
func (l PerIPLimits) maxHandshakes() int    { return orInt(l.MaxHandshakes, 8) }
func (l PerIPLimits) newConversations() int { return orInt(l.NewConversations, 30) }
func (l PerIPLimits) maxWaiting() int       { return orInt(l.MaxWaiting, 20) }

// guard counts, per client address and server-wide, what the limits
// bound: connections, handshakes, conversations opened, upload bytes held
// in memory.
type guard struct {
	srv *Server
	mu  sync.Mutex
	ips map[string]*ipState

	handshakes  int
	uploadBytes int64
}

type ipState struct {
	conns, handshakes int
	uploadBytes       int64
	convTokens        float64 // new-conversation bucket
	convAt            time.Time
}

func newGuard(s *Server) *guard { return &guard{srv: s, ips: map[string]*ipState{}} }

// ipKey is the address a connection counts against ("" for one the
// limits do not apply to).
func (g *guard) ipKey(addr net.Addr) string {
	if loopback(addr) && !g.srv.PerIP.LimitLoopback {
		return ""
	}
	return addressKey(addr)
}

func (g *guard) stateLocked(ip string) *ipState {
	st := g.ips[ip]
	if st == nil {
		n := float64(g.srv.PerIP.newConversations())
		st = &ipState{convTokens: n, convAt: time.Now()}
		g.ips[ip] = st
	}
	return st
}

// connect counts a new connection from ip; false when the address has
// its maximum.
func (g *guard) connect(ip string) bool {
	if ip == "" {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stateLocked(ip)
	if st.conns >= g.srv.PerIP.maxConns() {
		return false
	}
	st.conns++
	return true
}

func (g *guard) disconnect(ip string) {
	if ip == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.ips[ip]; st != nil {
		st.conns--
	}
}

// startHandshake counts a connection reading its HELLO; false when the
// server or the address has too many in progress.
func (g *guard) startHandshake(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.handshakes >= g.srv.maxHandshakes() {
		return false
	}
	if ip != "" {
		st := g.stateLocked(ip)
		if st.handshakes >= g.srv.PerIP.maxHandshakes() {
			return false
		}
		st.handshakes++
	}
	g.handshakes++
	return true
}

func (g *guard) endHandshake(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handshakes--
	if st := g.ips[ip]; ip != "" && st != nil {
		st.handshakes--
	}
}

// openConversation takes a token of the address's new-conversation
// bucket; false when it is empty.
func (g *guard) openConversation(ip string, now time.Time) bool {
	if ip == "" {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stateLocked(ip)
	n := float64(g.srv.PerIP.newConversations())
	st.convTokens = min(n, st.convTokens+now.Sub(st.convAt).Minutes()*n)
	st.convAt = now
	if st.convTokens < 1 {
		return false
	}
	st.convTokens--
	return true
}

// reserveUpload reserves n bytes of upload memory for ip: within the
// server's budget, and a quarter of it per address.
func (g *guard) reserveUpload(ip string, n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	budget := g.srv.Files.maxBuffered()
	if g.uploadBytes+n > budget {
		return false
	}
	if ip != "" {
		st := g.stateLocked(ip)
		if st.uploadBytes+n > budget/4 {
			return false
		}
		st.uploadBytes += n
	}
	g.uploadBytes += n
	return true
}

func (g *guard) releaseUpload(ip string, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.uploadBytes -= n
	if st := g.ips[ip]; ip != "" && st != nil {
		st.uploadBytes -= n
	}
}

// sweep forgets addresses that hold nothing and whose bucket is full
// again (forgetting one sooner would refill its bucket early).
func (g *guard) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := float64(g.srv.PerIP.newConversations())
	for ip, st := range g.ips {
		if st.conns == 0 && st.handshakes == 0 && st.uploadBytes == 0 && st.convTokens+now.Sub(st.convAt).Minutes()*n >= n {
			delete(g.ips, ip)
		}
	}
}

// uploadUsage is the upload memory reserved server-wide (for tests and
// Stats).
func (g *guard) uploadUsage() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.uploadBytes
}
