package gateway

import (
	"context"
	"sync"
	"time"
)

// tokenBucket paces requests at rate per second with a burst of a
// twentieth of a second's worth (at least one). It implements
// smpp.RateLimiter and is shared by an operator's binds.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) *tokenBucket {
	b := max(float64(perSecond)/20, 1)
	return &tokenBucket{rate: float64(perSecond), burst: b, tokens: b, last: time.Now()}
}

// Wait takes a token, waiting for one under ctx.
func (b *tokenBucket) Wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		now := time.Now()
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
