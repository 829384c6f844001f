package webhook

// Attacks on the Dispatcher from outside: receivers that misbehave, a
// store whose timing is stretched, endpoints changed under its feet.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// "At-least-once delivery with a stable event id and identical body
// across retries": a dispatcher that dies between sending and recording
// (simulated as TestLostOutcomeIsSentAgainAfterTheLease does) leaves no
// payload stored, and the next dispatcher builds it again from the
// ticket as it is now: the receiver gets the same event id with two
// different bodies (the ticket's state, title, priority read at send
// time).
func TestAttackBodyChangesWhenFirstOutcomeIsLost(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicTicket)
	q := store.Queue{Name: "Soporte"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	tk := store.Ticket{Title: "Sin servicio", QueueID: q.ID}
	require.NoError(t, st.CreateTicket(ctx, &tk))

	clk := &clock{t: time.Now()}
	lossy := &loseOutcomes{Store: st}
	lossy.n.Store(1)
	d := &Dispatcher{Store: lossy, Now: clk.Now, Timeout: time.Second, Lease: time.Minute}
	n, err := d.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Meanwhile the ticket moves on (its own event goes to a delivery of
	// its own; the first delivery must not change).
	require.NoError(t, st.SetTicketState(ctx, tk.ID, store.TicketClosed, 0, time.Time{}))
	clk.Add(time.Minute)
	_, err = d.Flush(ctx)
	require.NoError(t, err)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	byID := map[string][]string{}
	for i, ev := range rc.events {
		byID[ev.ID] = append(byID[ev.ID], string(rc.bodies[i]))
	}
	created := byID[rc.events[0].ID]
	require.Len(t, created, 2, "the first event sent twice (at least once)")
	assert.Equal(t, created[0], created[1], "the same event id %s with two bodies", rc.events[0].ID)
}

// slowLookups holds the dispatcher inside the payload's lookups until
// released, as a slow or busy store would.
type slowLookups struct {
	store.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowLookups) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return s.Store.Conversation(ctx, id)
}

// An endpoint deleted while one of its deliveries is in flight, and a new
// endpoint made (for someone else, with another URL and secret): SQLite
// gives the new endpoint the deleted one's id, and the dispatcher, which
// reads the endpoint by id after building the body, sends the deleted
// endpoint's event to the new endpoint, signed with the new secret.
func TestAttackInFlightDeliveryOfDeletedEndpointGoesToItsSuccessor(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	oldRc, newRc := &receiver{}, &receiver{}
	old := endpoint(t, st, "crm-old", serve(t, oldRc).URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana", CustomerEmail: "ana@example.com"}))

	slow := &slowLookups{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
	d := &Dispatcher{Store: slow, Timeout: 2 * time.Second}
	done := make(chan error, 1)
	go func() { _, err := d.Flush(ctx); done <- err }()
	<-slow.entered
	require.NoError(t, st.DeleteWebhookEndpoint(ctx, "crm-old"))
	// A new endpoint, for ticket events only, of another party.
	fresh := endpoint(t, st, "someone-else", serve(t, newRc).URL, 0, store.TopicTicket)
	t.Logf("old endpoint id %d, new endpoint id %d", old.ID, fresh.ID)
	close(slow.release)
	require.NoError(t, <-done)

	assert.Zero(t, newRc.calls.Load(), "the deleted endpoint's chat event (customer ana@example.com) was sent to another endpoint: %v", newRc.got())
}

// A replay (API) of a delivery whose request is in flight: a second
// dispatcher sends it at the same time as the first one.
func TestAttackReplayInFlightSentTwiceAtOnce(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	var inFlight, most atomic.Int32
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	endpoint(t, st, "events", srv.URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	d1 := &Dispatcher{Store: st, Timeout: 5 * time.Second}
	d2 := &Dispatcher{Store: st, Timeout: 5 * time.Second}
	done := make(chan struct{}, 2)
	go func() { d1.Flush(ctx); done <- struct{}{} }()
	<-arrived
	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	require.NoError(t, err)
	require.NoError(t, st.ReplayWebhookDelivery(ctx, ds[0].ID, time.Now()))
	go func() { d2.Flush(ctx); done <- struct{}{} }()
	select {
	case <-arrived:
	case <-time.After(time.Second):
	}
	close(release)
	<-done
	<-done
	assert.LessOrEqual(t, most.Load(), int32(1), "the same delivery in flight from two dispatchers at once")
}

// A receiver that never answers, one that sends an endless body, a
// redirect loop: Run, cancelled, returns within about Timeout and every
// goroutine ends (goleak in TestMain checks).
func TestAttackMisbehavingReceiversRunStops(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	quit := make(chan struct{})
	defer close(quit) // before the servers' Close (cleanups run after)
	hang := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leave
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	endless := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
		chunk := bytes.Repeat([]byte("x"), 4096)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	var loops atomic.Int32
	var loop *httptest.Server
	loop = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loops.Add(1)
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	}))
	dribble := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	}))
	endpoint(t, st, "hang", hang.URL, 0, store.TopicChat)
	endpoint(t, st, "endless", endless.URL, 0, store.TopicChat)
	endpoint(t, st, "loop", loop.URL, 0, store.TopicChat)
	endpoint(t, st, "dribble", dribble.URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))

	d := &Dispatcher{Store: st, Timeout: 500 * time.Millisecond, Poll: 20 * time.Millisecond}
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- d.Run(rctx) }()
	time.Sleep(150 * time.Millisecond) // requests in flight
	cancel()
	start := time.Now()
	select {
	case err := <-ran:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.LessOrEqual(t, loops.Load(), int32(1), "redirects followed")

	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	require.NoError(t, err)
	byName := map[int64]store.WebhookDelivery{}
	for _, x := range ds {
		byName[x.EndpointID] = x
	}
	eps, err := st.WebhookEndpoints(ctx)
	require.NoError(t, err)
	for _, e := range eps {
		x := byName[e.ID]
		assert.Equal(t, 1, x.Attempts, "%s: one attempt recorded before Run returned", e.Name)
		switch e.Name {
		case "hang":
			assert.Equal(t, store.DeliveryPending, x.State)
			assert.Contains(t, x.LastError, "no answer")
		case "endless", "dribble":
			assert.Equal(t, store.DeliveryDelivered, x.State, "%s: a 2xx", e.Name)
		case "loop":
			assert.Equal(t, 302, x.LastStatus)
		}
	}
	hang.CloseClientConnections()
	endless.CloseClientConnections()
	dribble.CloseClientConnections()
}

// Retry-After in its odd forms: honoured within MaxBackoff, never
// negative, never below zero wait, an HTTP date understood.
func TestAttackRetryAfterForms(t *testing.T) {
	for _, tc := range []struct {
		header   string
		min, max time.Duration // of the wait, from the clock
	}{
		{"-30", 8 * time.Second, 12 * time.Second},                  // ignored: the backoff (10 s ±20 %)
		{"0", 8 * time.Second, 12 * time.Second},                    // ignored
		{"abc", 8 * time.Second, 12 * time.Second},                  // ignored
		{"99999999999999999999", 8 * time.Second, 12 * time.Second}, // unparsable: ignored
		{"9999999999", time.Hour / 2, time.Hour / 2},                // capped at MaxBackoff
		{"45", 45 * time.Second, 45 * time.Second},                  // honoured
		{"1.5", 8 * time.Second, 12 * time.Second},                  // not an integer
		{"DATE+60s", 59 * time.Second, 61 * time.Second},            // an HTTP date
		{"DATE-60s", 8 * time.Second, 12 * time.Second},             // a past date
		{"DATE+100h", time.Hour / 2, time.Hour / 2},                 // capped
	} {
		t.Run(tc.header, func(t *testing.T) {
			st := newStore(t)
			ctx := context.Background()
			clk := &clock{t: time.Now().Truncate(time.Second)}
			h := tc.header
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v := h
				if rest, ok := strings.CutPrefix(h, "DATE"); ok {
					dur, _ := time.ParseDuration(rest)
					v = clk.Now().Add(dur).UTC().Format(http.TimeFormat)
				}
				w.Header().Set("Retry-After", v)
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			endpoint(t, st, "events", srv.URL, 0, store.TopicChat)
			require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
			d := &Dispatcher{Store: st, Now: clk.Now, MinBackoff: 10 * time.Second, MaxBackoff: 30 * time.Minute}
			_, err := d.Flush(ctx)
			require.NoError(t, err)
			x := onlyDelivery(t, st)
			wait := x.NextAttemptAt.Sub(clk.Now())
			assert.GreaterOrEqual(t, wait, tc.min-time.Millisecond, "Retry-After %q", tc.header)
			assert.LessOrEqual(t, wait, tc.max+time.Millisecond, "Retry-After %q", tc.header)
		})
	}
}

// A negative MinBackoff (the server's -webhook-min-backoff flag takes
// any duration) makes every retry due at once: the dispatcher hammers a
// failing endpoint in a hot loop.
func TestAttackNegativeBackoffHotLoops(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	rc.answer.Store(500)
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	d := &Dispatcher{Store: st, MinBackoff: -time.Second, MaxTries: 1000, Poll: time.Second}
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	require.NoError(t, d.Run(rctx))
	assert.LessOrEqual(t, rc.calls.Load(), int32(3), "attempts in half a second against a failing endpoint")
}

// Payloads over MaxBody are given up at once, without a request.
func TestAttackHugePayloadNotSent(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: strings.Repeat("A", 4096)}))
	d := &Dispatcher{Store: st, MaxBody: 1024}
	_, err := d.Flush(ctx)
	require.NoError(t, err)
	assert.Zero(t, rc.calls.Load())
	x := onlyDelivery(t, st)
	assert.Equal(t, store.DeliveryFailed, x.State)
	assert.Contains(t, x.LastError, "over the limit")
}

// An endpoint URL with credentials: sent with them, never shown in the
// delivery's last error.
func TestAttackURLCredentialsNotInLastError(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	endpoint(t, st, "events", "http://user:hunter2-password@127.0.0.1:1/x?token=qs-secret", 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	d := &Dispatcher{Store: st}
	_, err := d.Flush(ctx)
	require.NoError(t, err)
	x := onlyDelivery(t, st)
	assert.NotEmpty(t, x.LastError)
	assert.NotContains(t, x.LastError, "hunter2-password")
	t.Logf("last error: %s", x.LastError)
	_ = fmt.Sprint
}
