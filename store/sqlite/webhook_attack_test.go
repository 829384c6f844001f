package sqlite_test

// Attacks on the webhook outbox of the SQLite store, from outside (the
// public store API, two handles on one file as two processes would).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

const attackSecret = "0123456789abcdef-attack"

func attackEndpoint(t *testing.T, st store.Store, name string, client int64, topics ...store.WebhookTopic) store.WebhookEndpoint {
	t.Helper()
	ep := store.WebhookEndpoint{Name: name, URL: "http://127.0.0.1:9/" + name, Secret: attackSecret, Topics: topics, ClientID: client}
	if err := st.PutWebhookEndpoint(context.Background(), &ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

func attackConversation(t *testing.T, st store.Store) store.Conversation {
	t.Helper()
	c := store.Conversation{CustomerName: "Ana"}
	if err := st.CreateConversation(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A replay of a delivery that a dispatcher holds (claimed, its lease
// living, its request in flight) makes it claimable at once by a second
// dispatcher: two dispatchers hold it, and send it, at the same time.
// "A delivery is never claimed by two dispatchers at once while its lease
// lives."
func TestAttackReplayOfLeasedDeliveryLetsASecondClaim(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	st := open(t, path)
	defer st.Close()
	other := open(t, path)
	defer other.Close()
	attackEndpoint(t, st, "chat", 0, store.TopicChat)
	attackConversation(t, st)
	now := time.Now()
	first, err := st.ClaimWebhookDeliveries(ctx, 10, now, time.Hour)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}
	// The operator replays it through the API while it is in flight.
	if err := st.ReplayWebhookDelivery(ctx, first[0].ID, now); err != nil {
		t.Fatal(err)
	}
	second, err := other.ClaimWebhookDeliveries(ctx, 10, now.Add(time.Second), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Errorf("delivery %d claimed by a second dispatcher (attempt %d) while the first one's lease (attempt %d) lives until %v",
			second[0].ID, second[0].Attempts, first[0].Attempts, first[0].NextAttemptAt)
	}
}

// SQLite reuses the largest rowid once its row is deleted (the tables
// have no AUTOINCREMENT). Deleting an endpoint deletes its deliveries; the
// next delivery written gets the id of one deleted, and a dispatcher's
// outcome for the old delivery (claimed before the delete, its request in
// flight) is recorded on the new one: the new event is marked with the
// old one's outcome, and the old event's body becomes the new one's
// payload, sent from then on to the new endpoint.
func TestAttackStaleFinishLandsOnAReusedDeliveryID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	st := open(t, path)
	defer st.Close()
	old := attackEndpoint(t, st, "old", 0, store.TopicChat)
	attackConversation(t, st)
	now := time.Now()
	a, err := st.ClaimWebhookDeliveries(ctx, 1, now, time.Hour) // dispatcher A, request in flight
	if err != nil || len(a) != 1 {
		t.Fatalf("claim: %v %v", a, err)
	}
	if err := st.DeleteWebhookEndpoint(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	fresh := attackEndpoint(t, st, "fresh", 0, store.TopicChat)
	if fresh.ID == old.ID {
		t.Logf("endpoint id %d reused by a new endpoint", fresh.ID)
	}
	attackConversation(t, st)
	b, err := st.ClaimWebhookDeliveries(ctx, 1, now, time.Hour) // dispatcher B
	if err != nil || len(b) != 1 {
		t.Fatalf("claim: %v %v", b, err)
	}
	if b[0].ID == a[0].ID {
		t.Logf("delivery id %d reused (old key %q, new key %q)", b[0].ID, a[0].Key, b[0].Key)
	}
	// A's outcome arrives: a failed attempt, with the old event's body.
	err = st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: a[0].ID, Attempt: a[0].Attempts,
		Payload: []byte(`{"id":"` + a[0].Key + `"}`), Status: 500, Error: "HTTP 500", Next: now.Add(time.Minute)})
	if !errors.Is(err, store.ErrNotFound) {
		d, _ := st.WebhookDelivery(ctx, b[0].ID)
		t.Errorf("stale finish of deleted delivery %d (key %q) accepted: err = %v; the new delivery %d (key %q) now has payload %s, last status %d",
			a[0].ID, a[0].Key, err, d.ID, d.Key, d.Payload, d.LastStatus)
	}
}

// The same without any delete of an endpoint: the purge of ended
// deliveries frees the largest ids, and the next event takes them again:
// a delivery id (the Switchboard-Delivery header, the API's id and its
// "before" paging) names two different deliveries over time.
func TestAttackDeliveryIDReusedAfterPurge(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	attackEndpoint(t, st, "chat", 0, store.TopicChat)
	attackConversation(t, st)
	now := time.Now()
	ds, err := st.ClaimWebhookDeliveries(ctx, 1, now, time.Hour)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	if err := st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: ds[0].ID, Attempt: ds[0].Attempts, Delivered: true, Status: 200, At: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PurgeWebhookDeliveries(ctx, now.Add(time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	attackConversation(t, st)
	next, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	if err != nil || len(next) != 1 {
		t.Fatalf("deliveries: %v %v", next, err)
	}
	if next[0].ID <= ds[0].ID {
		t.Errorf("delivery id %d given again to another event (%q, was %q)", next[0].ID, next[0].Key, ds[0].Key)
	}
}

// A context that is cancelled at the k-th call of Done: it lets the test
// cancel a claim at each point of its work, among them between the
// UPDATE ... RETURNING and the COMMIT.
type kthDone struct {
	context.Context
	mu     sync.Mutex
	n, k   int
	ch     chan struct{}
	closed bool
}

func newKthDone(k int) *kthDone {
	return &kthDone{Context: context.Background(), k: k, ch: make(chan struct{})}
}

func (c *kthDone) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n >= c.k && !c.closed {
		c.closed = true
		close(c.ch)
	}
	return c.ch
}

func (c *kthDone) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return context.Canceled
	}
	return nil
}

// ClaimWebhookDeliveries cancelled after its UPDATE ran but before its
// COMMIT returns the deliveries it did not claim (the transaction rolled
// back) together with the error. Dispatcher.Run sends whatever the claim
// returned, error or not, so on shutdown it sends deliveries that no
// lease protects, and its outcome (Attempt n+1) can later be recorded on
// another dispatcher's claim of the same attempt number.
func TestAttackClaimCancelledReturnsUnclaimedDeliveries(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	attackEndpoint(t, st, "chat", 0, store.TopicChat)
	attackConversation(t, st)
	bad := 0
	for i := 0; i < 600; i++ { // the count of Done calls varies with scheduling: many passes
		k := 1 + i%120
		before, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
		if err != nil || len(before) != 1 {
			t.Fatalf("deliveries: %v %v", before, err)
		}
		ds, err := st.ClaimWebhookDeliveries(newKthDone(k), 1, time.Now().Add(time.Duration(i+1)*time.Hour), time.Minute)
		if err != nil && len(ds) > 0 {
			after, _ := st.WebhookDelivery(ctx, ds[0].ID)
			if after.Attempts != ds[0].Attempts {
				if bad++; bad <= 3 {
					t.Errorf("k=%d: claim failed (%v) yet returned delivery %d as attempt %d; the store has attempt %d",
						k, err, ds[0].ID, ds[0].Attempts, after.Attempts)
				}
			}
		}
	}
	if bad == 0 {
		t.Log("no cancellation point returned unclaimed deliveries")
	}
}

// Endpoints made and removed (topic by topic, so that the triggers are
// created and dropped) on one handle while another handle writes: every
// change begun after a Put returned has its delivery.
func TestAttackTriggersToggledWhileAnotherHandleWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	admin := open(t, path)
	defer admin.Close()
	writer := open(t, path)
	defer writer.Close()
	ep := store.WebhookEndpoint{Name: "flip", URL: "http://127.0.0.1:9/", Secret: attackSecret, Topics: []store.WebhookTopic{store.TopicTicket}}
	var on atomic.Int64 // generation; odd: chat wanted
	var mu sync.Mutex
	mustHave := map[int64]bool{} // conversation id -> begun after chat was on (and it stayed on)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			gen := on.Load()
			c := store.Conversation{CustomerName: fmt.Sprint("c", i)}
			if err := writer.CreateConversation(ctx, &c); err != nil {
				errc <- err
				return
			}
			if gen%2 == 1 && on.Load() == gen {
				mu.Lock()
				mustHave[c.ID] = true
				mu.Unlock()
			}
		}
	}()
	for round := 0; round < 12; round++ {
		ep.Topics = []store.WebhookTopic{store.TopicChat}
		t0 := time.Now()
		if err := admin.PutWebhookEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		if round < 3 {
			t.Logf("put took %v", time.Since(t0))
		}
		on.Add(1)
		// While chat is wanted, let the writer make at least one
		// conversation (slow under -race), then a few milliseconds more.
		mu.Lock()
		before := len(mustHave)
		mu.Unlock()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			grown := len(mustHave) > before
			mu.Unlock()
			if grown {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		on.Add(1)
		ep.Topics = []store.WebhookTopic{store.TopicTicket}
		if err := admin.PutWebhookEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	got := map[int64]bool{}
	f := store.WebhookDeliveryFilter{Limit: 1000}
	for {
		ds, err := admin.WebhookDeliveries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			got[d.SubjectID] = true
		}
		if len(ds) < f.Limit {
			break
		}
		f.BeforeID = ds[len(ds)-1].ID
	}
	t.Logf("%d deliveries seen, %d conversations must have one", len(got), len(mustHave))
	if len(mustHave) < 12 {
		t.Fatalf("only %d conversations written while chat was wanted", len(mustHave))
	}
	for id := range mustHave {
		if !got[id] {
			t.Errorf("conversation %d opened while an endpoint wanted chat has no delivery", id)
		}
	}
	t.Logf("%d conversations checked", len(mustHave))
}

// Concurrent claimers on two handles, short claims of one, each finishing
// what it got: never two holders of one delivery at once.
func TestAttackClaimStressTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	a := open(t, path)
	defer a.Close()
	b := open(t, path)
	defer b.Close()
	attackEndpoint(t, a, "chat", 0, store.TopicChat)
	for i := 0; i < 200; i++ {
		attackConversation(t, a)
	}
	var mu sync.Mutex
	held := map[int64]bool{}
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < 16; w++ {
		st := []store.Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := st.ClaimWebhookDeliveries(ctx, 1+w%3, time.Now(), time.Hour)
				if err != nil {
					errc <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				for _, d := range ds {
					mu.Lock()
					if held[d.ID] {
						errc <- fmt.Errorf("delivery %d held twice", d.ID)
					}
					held[d.ID] = true
					seen[d.ID]++
					mu.Unlock()
				}
				for _, d := range ds {
					mu.Lock()
					delete(held, d.ID)
					mu.Unlock()
					if err := st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: d.ID, Attempt: d.Attempts, Delivered: true, Status: 200}); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if len(seen) != 200 {
		t.Errorf("claimed %d deliveries, want 200", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
}

// A merge logs "merged" on both tickets, and each event has its delivery
// (regression: the merge path writes its events like every other).
func TestAttackMergeEventsDelivered(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	ep := attackEndpoint(t, st, "tickets", 0, store.TopicTicket)
	q := store.Queue{Name: "Soporte"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		t.Fatal(err)
	}
	a, b := store.Ticket{Title: "a", QueueID: q.ID}, store.Ticket{Title: "b", QueueID: q.ID}
	if err := st.CreateTicket(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTicket(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := st.MergeTicket(ctx, a.ID, b.ID, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var evs []store.TicketEvent
	for _, id := range []int64{a.ID, b.ID} {
		e, err := st.TicketEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e...)
	}
	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{ep.ID}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, d := range ds {
		keys[d.Key] = true
	}
	merged := 0
	for _, e := range evs {
		if e.Kind == store.EventMerged {
			merged++
		}
		if !keys[fmt.Sprintf("ticket_event:%d", e.ID)] {
			t.Errorf("ticket event %d (%s on %d) without delivery", e.ID, e.Kind, e.TicketID)
		}
	}
	if merged != 2 {
		t.Errorf("%d merged events, want 2", merged)
	}
}
