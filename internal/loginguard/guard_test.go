package loginguard

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flooding the failure table with new logins neither clears the counts
// already in it (the spray is refused once it is full) nor locks out an
// operator from an address it knows.
func TestLoginTableFloodClearsNothing(t *testing.T) {
	g := New()
	g.maxKeys = 300
	now := time.Now()
	for range pairFailures {
		a, ok, _ := g.Begin("luis", "198.51.100.7", false, now)
		require.True(t, ok)
		g.Done(a, "luis", "198.51.100.7", false)
	}
	a, ok, _ := g.Begin("luis", "203.0.113.1", false, now)
	require.True(t, ok)
	g.Done(a, "luis", "203.0.113.1", true) // a known address
	refused := 0
	for i := range 1000 {
		host := fmt.Sprintf("192.0.2.%d", i%250)
		a, ok, _ := g.Begin(fmt.Sprint("spray", i), host, false, now)
		if !ok {
			refused++
			continue
		}
		g.Done(a, fmt.Sprint("spray", i), host, false)
	}
	assert.Greater(t, refused, 0, "the spray filled no table")
	assert.LessOrEqual(t, len(g.fails), g.maxKeys)
	_, ok, why := g.Begin("luis", "198.51.100.7", false, now)
	assert.False(t, ok, "the guesser's count was cleared by the spray")
	assert.Contains(t, why, "too many failed logins")
	_, ok, _ = g.Begin("luis", "203.0.113.1", false, now)
	assert.True(t, ok, "the operator's known address is refused while the table is full")
	// A minute later everything has expired.
	_, ok, _ = g.Begin("luis", "198.51.100.7", false, now.Add(loginWindow+time.Second))
	assert.True(t, ok)
}

// At most 2*GOMAXPROCS passwords are hashed at once; a short line waits,
// and beyond it the server is busy.
func TestLoginHashingIsBounded(t *testing.T) {
	g := New()
	limit := cap(g.hashing)
	release := make(chan struct{})
	var running, most atomic.Int32
	var busy atomic.Int32
	var wg sync.WaitGroup
	for range limit + maxHashWaiting + 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b := g.Hash(context.Background(), func() bool {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				return false
			})
			if b {
				busy.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return busy.Load() == 10 }, 5*time.Second, time.Millisecond,
		"attempts beyond the slots and the line are refused at once")
	close(release)
	wg.Wait()
	assert.Equal(t, int32(limit), most.Load())
}
