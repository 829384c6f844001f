package webhook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// flakyReceiver listens on one port, can be stopped and started again,
// and fails a share of the requests it gets.
type flakyReceiver struct {
	addr string
	fail float64

	mu     sync.Mutex
	srv    *http.Server
	bodies map[string][][]byte // event id -> bodies received (verified)
	calls  int
}

func (f *flakyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := ReadRequest(r, secret, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.calls++
	fail := rand.Float64() < f.fail
	if !fail {
		id := r.Header.Get("Switchboard-Event-Id")
		f.bodies[id] = append(f.bodies[id], body)
	}
	f.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// start listens on the receiver's port again. It may run on any
// goroutine: a failure is reported with t.Errorf.
func (f *flakyReceiver) start(t *testing.T) {
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !assert.NoError(t, err, "listen again") {
		return
	}
	f.addr = l.Addr().String()
	srv := &http.Server{Handler: f}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(l)
}

func (f *flakyReceiver) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Events made while dispatchers are killed and restarted (on a new
// handle, as a new process would be) and while the receiver goes down
// and comes back and fails one request in four: every event reaches the
// receiver, and every copy of an event has the same body.
func TestNothingLostAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hooks.db")
	st := openStore(t, path)
	rc := &flakyReceiver{addr: "127.0.0.1:0", fail: 0.25, bodies: map[string][][]byte{}}
	rc.start(t)
	defer rc.stop()
	ep := endpoint(t, st, "events", "http://"+rc.addr+"/hook", 0, store.TopicChat)

	// The producer: conversations opened, assigned and closed, in
	// transactions of their own, while everything else restarts.
	const conversations = 150
	produced := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := 0; i < conversations; i++ {
			c := store.Conversation{CustomerName: fmt.Sprint("c", i)}
			if err := st.CreateConversation(ctx, &c); err != nil {
				produced <- err
				return
			}
			if i%2 == 0 {
				if err := st.AssignConversation(ctx, c.ID, "luis", time.Time{}); err != nil {
					produced <- err
					return
				}
			}
			if i%3 == 0 {
				if err := st.CloseConversation(ctx, c.ID, time.Time{}); err != nil {
					produced <- err
					return
				}
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		}
		produced <- nil
	}()

	newDispatcher := func(s store.Store) *Dispatcher {
		return &Dispatcher{Store: s, Workers: 4, Timeout: time.Second, Lease: 2 * time.Second, Poll: 5 * time.Millisecond,
			MinBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxTries: 1 << 20}
	}
	run := func(s store.Store, d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		require.NoError(t, newDispatcher(s).Run(ctx))
	}
	var producerErr error
	done := false
	for round := 0; !done || round < 10; round++ {
		select {
		case producerErr = <-produced:
			done = true
		default:
		}
		// A "process": its own handle on the database, killed after a
		// while; the receiver goes down in some rounds.
		s := openStore(t, path)
		if round%3 == 1 {
			rc.stop()
			go func() { time.Sleep(30 * time.Millisecond); rc.start(t) }()
		}
		run(s, time.Duration(20+rand.IntN(60))*time.Millisecond)
		require.NoError(t, s.Close())
		if round%3 == 1 {
			time.Sleep(40 * time.Millisecond) // the receiver is up again
		}
	}
	require.NoError(t, producerErr)

	// A last process delivers what is left.
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan error, 1)
	go func() { finished <- newDispatcher(st).Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := st.WebhookDeliveries(context.Background(), store.WebhookDeliveryFilter{State: store.DeliveryPending, Limit: 1})
		require.NoError(t, err)
		if len(pending) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "deliveries still pending")
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-finished)

	// Every event the store recorded reached the receiver; copies are
	// identical.
	var keys []string
	f := store.WebhookDeliveryFilter{EndpointIDs: []int64{ep.ID}, Limit: 1000}
	for {
		page, err := st.WebhookDeliveries(context.Background(), f)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			assert.Equal(t, store.DeliveryDelivered, d.State, "delivery %d", d.ID)
			keys = append(keys, d.Key)
		}
		f.BeforeID = page[len(page)-1].ID
	}
	want := conversations + (conversations+1)/2 + (conversations+2)/3
	require.Len(t, keys, want, "events recorded")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	dups := 0
	for _, k := range keys {
		bodies := rc.bodies[k]
		if !assert.NotEmpty(t, bodies, "event %s never received", k) {
			continue
		}
		dups += len(bodies) - 1
		for _, b := range bodies[1:] {
			assert.Equal(t, string(bodies[0]), string(b), "copies of %s differ", k)
		}
	}
	assert.Len(t, rc.bodies, len(keys), "events received that the store does not have")
	t.Logf("%d events, %d requests, %d received twice or more", len(keys), rc.calls, dups)
}
