package mailticket

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type slowCountSender struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *slowCountSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	time.Sleep(100 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range to {
		s.n[r]++
	}
	return nil
}

// Poller.Run calls SendQueued of one Processor from each source's
// goroutine at once; claims carry the Processor's name and a sender
// re-claims its own claims, so the second call takes the reply the first
// is sending and sends it again.
func TestAttack4SendQueuedConcurrentSameProcessor(t *testing.T) {
	e := newEnv(t)
	const n = 4
	for i := range n {
		r := e.process(fmt.Sprintf("k%d", i), simple(fmt.Sprintf("c%d@cliente.example", i), "x", fmt.Sprintf("m%d@cliente.example", i)))
		require.Equal(t, Created, r.Outcome)
	}
	s := &slowCountSender{n: map[string]int{}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.p.SendQueued(context.Background(), s, 0)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Len(t, s.n, n)
	for to, k := range s.n {
		assert.Equal(t, 1, k, "replies to %s", to)
	}
}
