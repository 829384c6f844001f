// Package loginguard guards password logins against guessing without
// letting a guesser lock the rightful user out. The chat server's operator
// logins and the example server's account logins share it, so both follow
// the same rules.
package loginguard

import (
	"context"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Logins are guarded against guessing without letting a guesser lock the
// rightful user out:
//
//   - Every attempt is counted before its password is hashed, under one
//     lock: parallel attempts cannot all pass a check that a slow hash
//     separates from the count. A correct password gives its count back.
//   - Failures are counted per login and address (5 a minute), per
//     address (30 a minute, any login) and per login (20 a minute, any
//     address). Beyond them an attempt is refused unread, except from a
//     device that has logged in as the login before (its HELLO carries
//     the device token of an earlier WELCOME: signed, it survives
//     restarts), which is never refused, and from an address the login
//     has succeeded from since the server started, where attempts go on
//     one at a time and a second apart. So an operator is not locked out
//     by a guesser elsewhere, behind the same NAT, or by a customer who
//     tries its login.
//   - Hashing is bounded: at most two per processor at once, and a short
//     line of waiting attempts; beyond, the server is busy.
//   - The tables have a fixed size. A full table refuses attempts that
//     would need a new entry (unless from a known address); it never
//     forgets a count before its minute is over, so flooding it with
//     logins clears nobody's failures.
type Guard struct {
	mu      sync.Mutex
	fails   map[string][]time.Time // "p:login\x00host", "h:host", "l:login"
	known   map[string][]string    // login -> addresses it logged in from (latest last)
	slow    map[string]time.Time   // known pair over its limit -> when it may try next
	hashing chan struct{}
	waiting int
	maxKeys int // maxFailKeys; smaller in tests

	lastSweep atomic.Int64 // Unix ns of Login's last Sweep
}

const (
	loginWindow     = time.Minute
	pairFailures    = 5
	hostFailures    = 30
	loginFailures   = 20
	maxFailKeys     = 100000
	maxKnownLogins  = 10000
	knownPerLogin   = 8
	knownBackoff    = time.Second
	maxHashWaiting  = 64
	hashWaitTimeout = 10 * time.Second
)

func New() *Guard {
	return &Guard{fails: map[string][]time.Time{}, known: map[string][]string{}, slow: map[string]time.Time{},
		hashing: make(chan struct{}, 2*runtime.GOMAXPROCS(0)), maxKeys: maxFailKeys}
}

// Attempt is an attempt counted by Begin; Done settles it.
type Attempt struct {
	keys []string
	at   time.Time
}

// Begin counts an attempt of login from host, or refuses it (false) with
// the reason to give.
// A trusted attempt (a known device) is counted but never refused.
func (g *Guard) Begin(login, host string, trusted bool, now time.Time) (*Attempt, bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pair, hostKey, loginKey := "p:"+login+"\x00"+host, "h:"+host, "l:"+login
	known := trusted || slices.Contains(g.known[login], host)
	over := len(g.recentLocked(pair, now)) >= pairFailures || len(g.recentLocked(hostKey, now)) >= hostFailures ||
		len(g.recentLocked(loginKey, now)) >= loginFailures
	if over && !trusted {
		if !known {
			return nil, false, "too many failed logins; wait a minute"
		}
		if next := g.slow[pair]; now.Before(next) {
			return nil, false, "too many failed logins; wait a second"
		}
		g.slow[pair] = now.Add(knownBackoff)
	}
	a := &Attempt{keys: []string{pair, hostKey, loginKey}, at: now}
	for _, k := range a.keys {
		if _, ok := g.fails[k]; !ok && len(g.fails) >= g.maxKeys {
			g.pruneLocked(now)
			if len(g.fails) >= g.maxKeys && !known {
				return nil, false, "the server is busy; try again later"
			}
		}
	}
	for _, k := range a.keys {
		g.fails[k] = append(g.recentLocked(k, now), now)
	}
	return a, true, ""
}

// Done settles an attempt: a success gives its count back and makes the
// address known for the login.
func (g *Guard) Done(a *Attempt, login, host string, ok bool) {
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refundLocked(a)
	delete(g.slow, "p:"+login+"\x00"+host)
	hosts := slices.DeleteFunc(g.known[login], func(h string) bool { return h == host })
	if len(hosts) >= knownPerLogin {
		hosts = hosts[1:]
	}
	if _, ok := g.known[login]; !ok && len(g.known) >= maxKnownLogins {
		return // remembered addresses are a convenience; the counts are not
	}
	g.known[login] = append(hosts, host)
}

// Refund settles an attempt that was not checked for a reason of the
// server's (the store failed, hashing was busy, the caller went away):
// its count is given back, and nothing else (the address does not become
// known: nobody showed the password).
func (g *Guard) Refund(a *Attempt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refundLocked(a)
}

func (g *Guard) refundLocked(a *Attempt) {
	for _, k := range a.keys {
		ts := g.fails[k]
		if i := slices.Index(ts, a.at); i >= 0 {
			ts = slices.Delete(ts, i, i+1)
		}
		if len(ts) == 0 {
			delete(g.fails, k)
		} else {
			g.fails[k] = ts
		}
	}
}

// recentLocked returns key's failures within the window (and drops the
// older ones).
func (g *Guard) recentLocked(key string, now time.Time) []time.Time {
	ts := g.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	if i > 0 {
		ts = ts[i:]
		if len(ts) == 0 {
			delete(g.fails, key)
			return nil
		}
		g.fails[key] = ts
	}
	return ts
}

func (g *Guard) pruneLocked(now time.Time) {
	for k := range g.fails {
		g.recentLocked(k, now)
	}
	for k, t := range g.slow {
		if now.After(t) {
			delete(g.slow, k)
		}
	}
}

// sweepEvery is how often Login sweeps.
const sweepEvery = 10 * time.Second

// sweepDue sweeps when the last sweep is over sweepEvery old, once
// however many logins ask at the same time.
func (g *Guard) sweepDue(now time.Time) {
	last := g.lastSweep.Load()
	if now.UnixNano()-last > int64(sweepEvery) && g.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		g.Sweep(now)
	}
}

// Sweep forgets what is over. Login calls it every sweepEvery; a caller
// that counts attempts with Begin itself calls it now and then.
func (g *Guard) Sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
}

// Hash runs check (a password hash comparison) with a hashing slot: at most 2*GOMAXPROCS at once, up
// to maxHashWaiting more waiting up to hashWaitTimeout. false: busy.
func (g *Guard) Hash(ctx context.Context, check func() bool) (ok, busy bool) {
	select {
	case g.hashing <- struct{}{}:
	default:
		g.mu.Lock()
		if g.waiting >= maxHashWaiting {
			g.mu.Unlock()
			return false, true
		}
		g.waiting++
		g.mu.Unlock()
		t := time.NewTimer(hashWaitTimeout)
		defer t.Stop()
		var got bool
		select {
		case g.hashing <- struct{}{}:
			got = true
		case <-t.C:
		case <-ctx.Done():
		}
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
		if !got {
			return false, true
		}
	}
	defer func() { <-g.hashing }()
	return check(), false
}

// HostKey is the address a login counts against, from a "host:port": the
// IP, or an IPv6 /64 (one host's share of a network).
func HostKey(addrPort string) string {
	ap, err := netip.ParseAddrPort(addrPort)
	if err != nil {
		return addrPort
	}
	if ip := ap.Addr().Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ap.Addr().Unmap().String()
}
