package postgres_test

// Attacks on the webhook outbox of the PostgreSQL store, from outside
// (the public store API, several handles as several processes).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

const attackSecret = "0123456789abcdef-attack"

func attackEndpoint(t *testing.T, st store.Store, name string, topics ...store.WebhookTopic) store.WebhookEndpoint {
	t.Helper()
	ep := store.WebhookEndpoint{Name: name, URL: "http://127.0.0.1:9/" + name, Secret: attackSecret, Topics: topics}
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

// A replay of a leased delivery (its request in flight) lets a second
// dispatcher claim it at once: two holders while the lease lives.
func TestAttackReplayOfLeasedDeliveryLetsASecondClaim(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	st := open(t, u)
	defer st.Close()
	other := open(t, u)
	defer other.Close()
	attackEndpoint(t, st, "chat", store.TopicChat)
	attackConversation(t, st)
	now := time.Now()
	first, err := st.ClaimWebhookDeliveries(ctx, 10, now, time.Hour)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}
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

// An endpoint being deleted (its transaction not yet committed, as when
// its many deliveries are being cascaded away) while another process
// records a change that has an event: the change waits for the endpoint's
// row and then fails on the deliveries' foreign key, so the change itself
// (here a conversation; as well a batch of receipts or a mail) is lost to
// an unrelated administrative action.
func TestAttackEndpointDeletedWhileAnotherProcessWrites(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	admin := open(t, u)
	defer admin.Close()
	writer := open(t, u)
	defer writer.Close()
	attackEndpoint(t, admin, "doomed", store.TopicChat)
	attackEndpoint(t, admin, "kept", store.TopicTicket) // another endpoint, unrelated
	deleting := make(chan struct{})
	release := make(chan struct{})
	adminDone := make(chan error, 1)
	go func() {
		adminDone <- admin.InTx(ctx, func(tx store.Ops) error {
			if err := tx.DeleteWebhookEndpoint(ctx, "doomed"); err != nil {
				return err
			}
			close(deleting)
			<-release
			return nil
		})
	}()
	<-deleting
	writerDone := make(chan error, 1)
	go func() {
		c := store.Conversation{CustomerName: "Ana"}
		writerDone <- writer.CreateConversation(ctx, &c)
	}()
	time.Sleep(300 * time.Millisecond) // the writer reaches the endpoint's row
	close(release)
	if err := <-adminDone; err != nil {
		t.Fatal(err)
	}
	if err := <-writerDone; err != nil {
		t.Errorf("a conversation opened while an endpoint was being deleted was refused: %v", err)
	}
}

// ClaimWebhookDeliveries whose context ends before its commit returns the
// deliveries it did not claim together with the error (Dispatcher.Run
// sends them anyway).
func TestAttackClaimCancelledReturnsUnclaimedDeliveries(t *testing.T) {
	ctx := context.Background()
	st := open(t, freshSchema(t))
	defer st.Close()
	attackEndpoint(t, st, "chat", store.TopicChat)
	attackConversation(t, st)
	for i := 0; i < 200; i++ {
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(time.Duration(i%40) * 50 * time.Microsecond)
			cancel()
		}()
		ds, err := st.ClaimWebhookDeliveries(cctx, 1, time.Now().Add(time.Duration(i+1)*time.Hour), time.Minute)
		cancel()
		if err != nil && len(ds) > 0 {
			after, gerr := st.WebhookDelivery(ctx, ds[0].ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if after.Attempts != ds[0].Attempts {
				t.Fatalf("claim failed (%v) yet returned delivery %d as attempt %d; the store has attempt %d",
					err, ds[0].ID, ds[0].Attempts, after.Attempts)
			}
			t.Logf("claim failed (%v) but did commit: delivery %d, attempt %d", err, ds[0].ID, ds[0].Attempts)
		}
	}
}

// Many claimers on three handles, claims of one to three, no two holders
// of one delivery, every delivery claimed once.
func TestAttackClaimStressThreeHandles(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	sts := []store.Store{open(t, u), open(t, u), open(t, u)}
	for _, s := range sts {
		defer s.Close()
	}
	attackEndpoint(t, sts[0], "chat", store.TopicChat)
	const n = 300
	for i := 0; i < n; i++ {
		attackConversation(t, sts[i%3])
	}
	var mu sync.Mutex
	held := map[int64]bool{}
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := 0; w < 24; w++ {
		st := sts[w%3]
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
				mu.Lock()
				for _, d := range ds {
					if held[d.ID] {
						errc <- fmt.Errorf("delivery %d held twice", d.ID)
					}
					held[d.ID] = true
					seen[d.ID]++
				}
				mu.Unlock()
				for _, d := range ds {
					mu.Lock()
					delete(held, d.ID)
					mu.Unlock()
					err := st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: d.ID, Attempt: d.Attempts, Delivered: true, Status: 200})
					if err != nil {
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
	if len(seen) != n {
		t.Errorf("claimed %d deliveries, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("delivery %d claimed %d times", id, k)
		}
	}
}

// A stale finish after the lease was taken over is refused (regression).
func TestAttackStaleFinishAfterTakeover(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	a, b := open(t, u), open(t, u)
	defer a.Close()
	defer b.Close()
	attackEndpoint(t, a, "chat", store.TopicChat)
	attackConversation(t, a)
	now := time.Now()
	da, err := a.ClaimWebhookDeliveries(ctx, 1, now, time.Second)
	if err != nil || len(da) != 1 {
		t.Fatal(da, err)
	}
	db, err := b.ClaimWebhookDeliveries(ctx, 1, now.Add(2*time.Second), time.Hour)
	if err != nil || len(db) != 1 {
		t.Fatal(db, err)
	}
	err = a.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: da[0].ID, Attempt: da[0].Attempts, Delivered: true, Status: 200})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stale finish: %v, want ErrNotFound", err)
	}
}

// kthDone is a context cancelled at the k-th call of its Done.
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

// The same, cancelling at each point where the claim looks at its
// context.
func TestAttackClaimCancelledAtEachPoint(t *testing.T) {
	ctx := context.Background()
	st := open(t, freshSchema(t))
	defer st.Close()
	attackEndpoint(t, st, "chat", store.TopicChat)
	attackConversation(t, st)
	for k := 1; k <= 60; k++ {
		ds, err := st.ClaimWebhookDeliveries(newKthDone(k), 1, time.Now().Add(time.Duration(k)*time.Hour), time.Minute)
		if err != nil && len(ds) > 0 {
			after, gerr := st.WebhookDelivery(ctx, ds[0].ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if after.Attempts != ds[0].Attempts {
				t.Errorf("k=%d: claim failed (%v) yet returned delivery %d as attempt %d; the store has attempt %d",
					k, err, ds[0].ID, ds[0].Attempts, after.Attempts)
			}
		}
	}
}
