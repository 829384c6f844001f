package chat_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// latencies records how long POSTs of the form "t=UNIXNANO" took to
// arrive.
type latencies struct {
	mu  sync.Mutex
	got []time.Duration
}

func (l *latencies) handle(m chat.Message) {
	if p, ok := m.(*chat.Post); ok && strings.HasPrefix(p.Text, "t=") {
		sent, _ := strconv.ParseInt(p.Text[2:], 10, 64)
		l.mu.Lock()
		l.got = append(l.got, time.Since(time.Unix(0, sent)))
		l.mu.Unlock()
	}
}

// take returns the latencies so far, sorted, and forgets them.
func (l *latencies) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

// Customers who stop reading are cut off, each with a reason it can read,
// and meanwhile the others are served as fast as before: while the
// operator floods one non-reading customer after another until each
// queue overflows, a fast customer pinged every 2 ms keeps getting its
// messages within milliseconds.
func TestSlowReaderIsCutOffWithoutSlowingOthers(t *testing.T) {
	const slowOnes = 20
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			s.OutboundLimit, s.MessageRate, s.MaxConversations = 256<<10, -1, slowOnes+1
		}})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	lat := &latencies{}
	fast, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Fast", CustomerID: "f", Handler: lat.handle})
	require.NoError(t, err)
	defer fast.Close()
	oin.wait(t, "fast customer assigned", isAssigned(fast.ConversationID()))

	ping := func(stop <-chan struct{}, done chan<- struct{}) {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			op.SendTo(ctx, fast.ConversationID(), "", "t="+strconv.FormatInt(time.Now().UnixNano(), 10))
		}
	}
	// Baseline: pings alone for half a second.
	stop, done := make(chan struct{}), make(chan struct{})
	go ping(stop, done)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	time.Sleep(50 * time.Millisecond)
	base := lat.take()

	// Pings while the slow ones are flooded and cut off.
	slow := make([]*rawConn, slowOnes)
	for i := range slowOnes {
		var w *chat.Welcome
		slow[i], w = dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: fmt.Sprint("Slow ", i), CustomerID: fmt.Sprint("s", i)})
		oin.wait(t, "slow customer assigned", isAssigned(w.ConversationID))
		slow[i].t = t
		slow[i].conv = w.ConversationID
	}
	stop, done = make(chan struct{}), make(chan struct{})
	go ping(stop, done)
	text := strings.Repeat("x", chat.MaxText)
	start := time.Now()
	sent := 0
	for _, s := range slow {
		for !oin.has(isEvent(s.conv, chat.EventAway)) && time.Since(start) < 30*time.Second { // until it is cut
			if _, err := op.SendTo(ctx, s.conv, "", text); err == nil {
				sent++
			}
		}
	}
	took := time.Since(start)
	close(stop)
	<-done
	time.Sleep(50 * time.Millisecond)
	during := lat.take()
	t.Logf("%d slow customers cut off in %v (%d messages of 16 KiB); fast customer: alone %d pings, p50 %v, p99 %v; "+
		"during the cut-offs %d pings, p50 %v, p99 %v", slowOnes, took, sent, len(base), pct(base, 50), pct(base, 99),
		len(during), pct(during, 50), pct(during, 99))
	require.Less(t, took, 30*time.Second, "the slow customers were not cut off")
	require.NotEmpty(t, during)
	assert.Less(t, pct(during, 99), 100*time.Millisecond, "the fast customer waited for the slow ones")

	// Each slow customer reads on and finds why it was cut off.
	for i, s := range slow {
		var reason *chat.Error
		for reason == nil {
			s.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			f, err := s.fr.Read()
			require.NoError(t, err, "slow customer %d: the connection ended without a reason", i)
			if f.Type == chat.TypeError {
				m, err := chat.Decode(f)
				require.NoError(t, err)
				reason = m.(*chat.Error)
				assert.NotZero(t, f.Flags&chat.FlagFinal, "the reason is the last frame")
			}
		}
		assert.Equal(t, chat.CodeSlowConsumer, reason.Code)
	}
}
