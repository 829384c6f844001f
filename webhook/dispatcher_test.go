package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func newStore(t *testing.T) store.Store { return openStore(t, filepath.Join(t.TempDir(), "hooks.db")) }

// receiver records the verified events an endpoint gets.
type receiver struct {
	mu     sync.Mutex
	events []Event
	bodies [][]byte
	header []http.Header
	answer atomic.Int32 // the status to answer; 0 means 204
	calls  atomic.Int32
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.calls.Add(1)
	body, err := ReadRequest(r, secret, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if s := rc.answer.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.bodies = append(rc.bodies, body)
	rc.header = append(rc.header, r.Header.Clone())
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) got() []Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Event(nil), rc.events...)
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func endpoint(t *testing.T, st store.Store, name, url string, client int64, topics ...store.WebhookTopic) store.WebhookEndpoint {
	t.Helper()
	e := store.WebhookEndpoint{Name: name, URL: url, Secret: secret, Topics: topics, ClientID: client}
	require.NoError(t, st.PutWebhookEndpoint(context.Background(), &e))
	return e
}

// sendSMS takes one message of client through submit and receipt.
func sendSMS(t *testing.T, st store.Store, client, operator int64, ext, msgID string, final store.TransmissionState) store.Transmission {
	t.Helper()
	ctx := context.Background()
	_, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: client}, []store.Transmission{
		{ExternalID: ext, OperatorID: operator, Source: "1234", Destination: "584141234567", Text: "hola"}})
	require.NoError(t, err)
	ts, err := st.ClaimTransmissions(ctx, operator, 1, time.Time{})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.NoError(t, st.RecordSubmit(ctx, ts[0].ID, store.SubmitResult{MessageIDs: []string{msgID}}))
	_, matched, err := st.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: operator, MessageID: msgID, State: final, ErrorCode: 0})
	require.NoError(t, err)
	require.True(t, matched)
	return ts[0]
}

func smsSetup(t *testing.T, st store.Store) (acme, other store.Client, op store.Operator) {
	ctx := context.Background()
	acme, other = store.Client{Name: "acme"}, store.Client{Name: "other"}
	require.NoError(t, st.CreateClient(ctx, &acme))
	require.NoError(t, st.CreateClient(ctx, &other))
	op = store.Operator{Name: "op", Host: "127.0.0.1", Port: 2775, SystemID: "s", Password: "p",
		BindMode: store.BindTransceiver, Enabled: true}
	require.NoError(t, st.CreateOperator(ctx, &op))
	return acme, other, op
}

func TestDeliversSignedEvents(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	acme, other, op := smsSetup(t, st)
	dlr, events := &receiver{}, &receiver{}
	endpoint(t, st, "acme-dlr", serve(t, dlr).URL+"/dlr", acme.ID, store.TopicSMS)
	endpoint(t, st, "events", serve(t, events).URL+"/events", 0, store.TopicTicket, store.TopicChat)

	tr := sendSMS(t, st, acme.ID, op.ID, "order-77", "m-1", store.TxDelivered)
	sendSMS(t, st, other.ID, op.ID, "not-acme", "m-2", store.TxDelivered)
	conv := store.Conversation{CustomerName: "Ana", CustomerEmail: "ana@example.com"}
	require.NoError(t, st.CreateConversation(ctx, &conv))
	require.NoError(t, st.AssignConversation(ctx, conv.ID, "luis", time.Time{}))
	q := store.Queue{Name: "Soporte"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	tk := store.Ticket{Title: "Sin servicio", QueueID: q.ID}
	require.NoError(t, st.CreateTicket(ctx, &tk))

	d := &Dispatcher{Store: st}
	n, err := d.Flush(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, n, "acme's sent and delivered, two chat events, one ticket event")
	assert.Equal(t, Stats{Delivered: 5}, d.Stats())

	got := dlr.got()
	require.Len(t, got, 2)
	byType := map[string]Event{}
	for _, ev := range got {
		byType[ev.Type] = ev
	}
	dl := byType["sms.delivered"]
	require.NotNil(t, dl.SMS)
	assert.Equal(t, SMS{ID: tr.ID, ExternalID: "order-77", Client: "acme", BatchID: tr.BatchID, To: "584141234567",
		From: "1234", State: "delivered", MessageID: "m-1", Segments: 1}, *dl.SMS)
	assert.Equal(t, "sms:"+itoa(tr.ID)+":delivered", dl.ID)
	assert.Equal(t, "sent", byType["sms.sent"].SMS.State, "the event's own state, not the message's now")
	for i, h := range dlr.header {
		assert.Equal(t, got[i].ID, h.Get("Switchboard-Event-Id"))
		assert.Equal(t, got[i].Type, h.Get("Switchboard-Event"))
		assert.Equal(t, "application/json", h.Get("Content-Type"))
	}

	types := map[string]Event{}
	for _, ev := range events.got() {
		types[ev.Type] = ev
	}
	require.Contains(t, types, "chat.active")
	assert.Equal(t, Chat{ID: conv.ID, State: "active", Operator: "luis", CustomerName: "Ana", CustomerEmail: "ana@example.com"},
		*types["chat.active"].Chat)
	require.Contains(t, types, "ticket.created")
	assert.Equal(t, tk.Number, types["ticket.created"].Ticket.Number)
	assert.Equal(t, "created", types["ticket.created"].Ticket.Change.Kind)

	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	require.NoError(t, err)
	for _, x := range ds {
		assert.Equal(t, store.DeliveryDelivered, x.State, "delivery %d", x.ID)
		assert.Equal(t, 204, x.LastStatus)
	}
	n, err = d.Flush(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is sent twice")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// clock is a settable time for the dispatcher.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func onlyDelivery(t *testing.T, st store.Store) store.WebhookDelivery {
	t.Helper()
	ds, err := st.WebhookDeliveries(context.Background(), store.WebhookDeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0]
}

func TestRetriesWithBackoffGivesUpAndReplays(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	rc.answer.Store(500)
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicChat)
	conv := store.Conversation{CustomerName: "Ana"}
	require.NoError(t, st.CreateConversation(ctx, &conv))

	clk := &clock{t: time.Now()}
	d := &Dispatcher{Store: st, Now: clk.Now, MinBackoff: 10 * time.Second, MaxBackoff: 30 * time.Second, MaxTries: 4}
	var waits []time.Duration
	for try := 1; try <= 4; try++ {
		n, err := d.Flush(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "try %d", try)
		x := onlyDelivery(t, st)
		assert.Equal(t, 500, x.LastStatus)
		assert.Equal(t, "HTTP 500", x.LastError)
		if try < 4 {
			require.Equal(t, store.DeliveryPending, x.State)
			waits = append(waits, x.NextAttemptAt.Sub(clk.Now()))
			n, _ = d.Flush(ctx)
			assert.Zero(t, n, "not tried again before its time")
			clk.Add(x.NextAttemptAt.Sub(clk.Now()))
		} else {
			assert.Equal(t, store.DeliveryFailed, x.State, "given up after MaxTries")
		}
	}
	// 10 s, 20 s, then capped at 30 s; each ±20 %.
	require.Len(t, waits, 3)
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		assert.InDelta(t, float64(want), float64(waits[i]), float64(want)/5+float64(time.Millisecond), "wait %d", i)
	}
	assert.Equal(t, Stats{Retried: 3, Failed: 1}, d.Stats())
	first := onlyDelivery(t, st).Payload
	require.NotEmpty(t, first)

	// Replayed once the receiver is back: the same body as the first try.
	rc.answer.Store(0)
	require.NoError(t, st.ReplayWebhookDelivery(ctx, onlyDelivery(t, st).ID, clk.Now()))
	n, err := d.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	x := onlyDelivery(t, st)
	assert.Equal(t, store.DeliveryDelivered, x.State)
	assert.Equal(t, 5, x.Attempts)
	require.Len(t, rc.bodies, 1)
	assert.JSONEq(t, string(first), string(rc.bodies[0]))
}

func TestRetryAfterAndRedirects(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	var hits atomic.Int32
	elsewhere := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	var mode atomic.Int32
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case 0:
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
		}
	}))
	endpoint(t, st, "events", srv.URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	clk := &clock{t: time.Now()}
	d := &Dispatcher{Store: st, Now: clk.Now}
	_, err := d.Flush(ctx)
	require.NoError(t, err)
	x := onlyDelivery(t, st)
	assert.Equal(t, 429, x.LastStatus)
	assert.InDelta(t, float64(120*time.Second), float64(x.NextAttemptAt.Sub(clk.Now())), float64(time.Millisecond), "Retry-After honoured")

	mode.Store(1)
	clk.Add(120 * time.Second)
	_, err = d.Flush(ctx)
	require.NoError(t, err)
	x = onlyDelivery(t, st)
	assert.Equal(t, 307, x.LastStatus)
	assert.Equal(t, store.DeliveryPending, x.State, "a redirect is a failed attempt")
	assert.Zero(t, hits.Load(), "the redirect is not followed")
}

func TestSlowEndpointTimesOut(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	release := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	endpoint(t, st, "slow", srv.URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	d := &Dispatcher{Store: st, Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := d.Flush(ctx)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	x := onlyDelivery(t, st)
	assert.Equal(t, store.DeliveryPending, x.State)
	assert.Contains(t, x.LastError, "no answer within 200ms")
}

// loseOutcomes is a store that loses the first n recorded outcomes, as a
// dispatcher that dies after sending and before recording would.
type loseOutcomes struct {
	store.Store
	n atomic.Int32
}

func (l *loseOutcomes) FinishWebhookDelivery(ctx context.Context, a store.WebhookAttempt) error {
	if l.n.Add(-1) >= 0 {
		return nil
	}
	return l.Store.FinishWebhookDelivery(ctx, a)
}

// A dispatcher that dies between sending and recording leaves the
// delivery to be sent again when its lease ends: at least once.
func TestLostOutcomeIsSentAgainAfterTheLease(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicChat)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	clk := &clock{t: time.Now()}
	lossy := &loseOutcomes{Store: st}
	lossy.n.Store(1)
	d := &Dispatcher{Store: lossy, Now: clk.Now, Timeout: time.Second, Lease: time.Minute}
	n, err := d.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, _ = d.Flush(ctx)
	assert.Zero(t, n, "leased")
	clk.Add(time.Minute)
	n, err = d.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, store.DeliveryDelivered, onlyDelivery(t, st).State)
	got := rc.got()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].ID, got[1].ID, "the same event id both times, for the receiver to deduplicate")
}

func TestPurgeKeepsPendingAndRecent(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rc := &receiver{}
	endpoint(t, st, "events", serve(t, rc).URL, 0, store.TopicChat)
	for range 3 {
		require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	}
	clk := &clock{t: time.Now()}
	d := &Dispatcher{Store: st, Now: clk.Now, Retention: 24 * time.Hour}
	n, err := d.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Luis"})) // pending
	n, err = d.Purge(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "delivered less than a day ago")
	clk.Add(25 * time.Hour)
	n, err = d.Purge(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, store.DeliveryPending, ds[0].State)
	forever := &Dispatcher{Store: st, Now: func() time.Time { return clk.Now().Add(1000 * time.Hour) }, Retention: -1}
	n, err = forever.Purge(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}
