package smpp

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// RateLimiter paces requests; golang.org/x/time/rate.Limiter fits. Wait
// blocks until a request may be sent, or returns ctx's error.
type RateLimiter interface {
	Wait(ctx context.Context) error
}

// RetryPolicy says how Submit handles the SMSC's throttling refusals
// (ESME_RTHROTTLED, ESME_RMSGQFUL; see Throttling). A throttling answer
// to any request also makes the whole client back off: every request
// waits out the backoff before it is sent.
type RetryPolicy struct {
	// Attempts is the number of tries of Submit (default 4; 1 disables
	// retrying).
	Attempts int
	// Backoff is the first pause after a temporary refusal (default
	// 200ms); each further one in a row doubles it, up to MaxBackoff
	// (default 10s), with up to 20% random jitter. A success resets it.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Backoff <= 0 {
		p.Backoff = 200 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 10 * time.Second
	}
	return p
}

// throttle is a client-wide pause after temporary refusals.
// Its fast paths (no pause, no escalation) are lock-free: they run once
// per request and once per response.
type throttle struct {
	policy    RetryPolicy
	untilNano atomic.Int64 // end of the current pause (0: none ever)
	escalated atomic.Bool  // next != 0
	mu        sync.Mutex
	next      time.Duration // the pause the next refusal causes
}

// refused starts (or lengthens) the pause after a temporary refusal.
func (t *throttle) refused(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next == 0 {
		t.next = t.policy.Backoff
	}
	d := t.next + time.Duration(rand.Int64N(int64(t.next)/5+1))
	if u := now.Add(d).UnixNano(); u > t.untilNano.Load() {
		t.untilNano.Store(u)
	}
	t.next = min(2*t.next, t.policy.MaxBackoff)
	t.escalated.Store(true)
}

// accepted ends the escalation after a success.
func (t *throttle) accepted() {
	if !t.escalated.Load() {
		return
	}
	t.mu.Lock()
	t.next = 0
	t.escalated.Store(false)
	t.mu.Unlock()
}

// wait waits out the current pause, under ctx.
func (t *throttle) wait(ctx context.Context) error {
	until := t.untilNano.Load()
	if until == 0 {
		return nil
	}
	d := time.Until(time.Unix(0, until))
	if d <= 0 {
		t.untilNano.CompareAndSwap(until, 0) // over: back to the fast path
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
