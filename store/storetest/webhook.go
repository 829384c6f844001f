package storetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

var webhookTests = []test{
	{"WebhookEndpoints", testWebhookEndpoints},
	{"WebhookEventsWrittenWithTheChange", testWebhookEvents},
	{"WebhookEventsRolledBack", testWebhookEventsRolledBack},
	{"WebhookEndpointOfAnotherHandle", testWebhookEndpointOfAnotherHandle},
	{"WebhookClaimFinishReplay", testWebhookClaimFinishReplay},
	{"WebhookClaimConcurrent", testWebhookClaimConcurrent},
	{"WebhookAttemptStarted", testWebhookAttemptStarted},
	{"WebhookDeliveriesPaged", testWebhookDeliveriesPaged},
	{"WebhookDeliveriesPurged", testWebhookDeliveriesPurged},
}

const testSecret = "0123456789abcdef-secret"

func newEndpoint(t *testing.T, e *env, name string, client int64, topics ...store.WebhookTopic) store.WebhookEndpoint {
	t.Helper()
	ep := store.WebhookEndpoint{Name: name, URL: "http://127.0.0.1:9/" + name, Secret: testSecret, Topics: topics, ClientID: client}
	must(t, e.PutWebhookEndpoint(e.ctx(t), &ep))
	return ep
}

// deliveryKeys lists an endpoint's deliveries as "event key", oldest first.
func deliveryKeys(t *testing.T, e *env, ep store.WebhookEndpoint) []string {
	t.Helper()
	ds, err := e.WebhookDeliveries(e.ctx(t), store.WebhookDeliveryFilter{EndpointIDs: []int64{ep.ID}, Limit: 1000})
	must(t, err)
	var out []string
	for i := len(ds) - 1; i >= 0; i-- {
		out = append(out, ds[i].Event+" "+ds[i].Key)
	}
	return out
}

func eqList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func testWebhookEndpoints(t *testing.T, e *env) {
	ctx := e.ctx(t)
	list, err := e.WebhookEndpoints(ctx)
	must(t, err)
	eq(t, "endpoints of a new store", len(list), 0)

	a := newEndpoint(t, e, "crm", 0, store.TopicTicket, store.TopicChat)
	if a.ID == 0 || a.CreatedAt.IsZero() {
		t.Fatalf("put endpoint did not set id and time: %+v", a)
	}
	acme := newClient(t, e, "acme")
	b := store.WebhookEndpoint{Name: "crm", URL: "https://example.com/hook?x=1", Secret: testSecret + "2",
		Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: acme.ID}
	wantErr(t, e.PutWebhookEndpoint(ctx, &b), store.ErrDuplicate) // a second creation of the name
	b.ID = a.ID
	must(t, e.PutWebhookEndpoint(ctx, &b))
	eq(t, "replacement keeps the id", b.ID, a.ID)
	eq(t, "replacement keeps the creation time", b.CreatedAt, a.CreatedAt)
	list, err = e.WebhookEndpoints(ctx)
	must(t, err)
	eq(t, "endpoints", len(list), 1)
	eq(t, "stored", fmt.Sprintf("%+v", list[0]), fmt.Sprintf("%+v", b))

	for _, bad := range []store.WebhookEndpoint{
		{Name: "", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "a b", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "x", URL: "ftp://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "x", URL: "/relative", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "x", URL: "http://x/\n", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "x", URL: "http://x/", Secret: "short", Topics: []store.WebhookTopic{store.TopicSMS}},
		{Name: "x", URL: "http://x/", Secret: testSecret},
		{Name: "x", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{"mail"}},
		{Name: "x", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: -1},
		{Name: "x", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: acme.ID + 1000},
		{Name: "x", URL: "http://x/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicSMS, store.TopicChat}, ClientID: acme.ID},
	} {
		wantErr(t, e.PutWebhookEndpoint(ctx, &bad), store.ErrInvalid)
	}
	renamed := b
	renamed.Name = "crm2"
	wantErr(t, e.PutWebhookEndpoint(ctx, &renamed), store.ErrConflict) // id and name no longer go together
	wantErr(t, e.DeleteWebhookEndpoint(ctx, "nobody"), store.ErrNotFound)
	must(t, e.DeleteWebhookEndpoint(ctx, "crm"))
	gone := b
	wantErr(t, e.PutWebhookEndpoint(ctx, &gone), store.ErrConflict) // deleted meanwhile
	list, err = e.WebhookEndpoints(ctx)
	must(t, err)
	eq(t, "endpoints after delete", len(list), 0)
}

// Every path that changes a transmission, a ticket or a conversation
// leaves its deliveries, for the endpoints that want them and no other.
func testWebhookEvents(t *testing.T, e *env) {
	ctx := e.ctx(t)
	acme, other := newClient(t, e, "acme"), newClient(t, e, "other")
	op := newOperator(t, e, "op")

	// Before any endpoint: nothing is written.
	early := claimOne(t, e, acme.ID, op.ID, "early")
	must(t, e.RecordSubmit(ctx, early.ID, store.SubmitResult{MessageIDs: []string{"e1"}}))
	ds, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	must(t, err)
	eq(t, "deliveries without endpoints", len(ds), 0)

	all := newEndpoint(t, e, "all-sms", 0, store.TopicSMS)
	mine := newEndpoint(t, e, "acme-dlr", acme.ID, store.TopicSMS)
	events := newEndpoint(t, e, "events", 0, store.TopicTicket, store.TopicChat)

	// acme: sent, then a receipt (one by one); other: sent, then a batch
	// of receipts; a third fails without reaching the SMSC.
	t1 := claimOne(t, e, acme.ID, op.ID, "one")
	must(t, e.RecordSubmit(ctx, t1.ID, store.SubmitResult{MessageIDs: []string{"m1"}}))
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "m1", State: store.TxDelivered})
	must(t, err)
	t2 := claimOne(t, e, other.ID, op.ID, "two")
	errs, err := e.RecordSubmits(ctx, []store.Submitted{{TransmissionID: t2.ID, Result: store.SubmitResult{MessageIDs: []string{"m2"}}}})
	must(t, err)
	must(t, errs[0])
	_, err = e.ApplyReceipts(ctx, []store.DeliveryReceipt{{OperatorID: op.ID, MessageID: "m2", State: store.TxUndeliverable, ErrorCode: 11}})
	must(t, err)
	t3 := claimOne(t, e, acme.ID, op.ID, "three")
	must(t, e.FailTransmission(ctx, t3.ID, 88, "throttled for good", time.Time{}))
	// A receipt for the early message, sent before the endpoints existed.
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "e1", State: store.TxExpired})
	must(t, err)

	key := func(tr store.Transmission, state string) string {
		return fmt.Sprintf("sms.%s sms:%d:%s", state, tr.ID, state)
	}
	eqList(t, "every client's sms", deliveryKeys(t, e, all), []string{
		key(t1, "sent"), key(t1, "delivered"), key(t2, "sent"), key(t2, "undeliverable"), key(t3, "failed"), key(early, "expired")})
	eqList(t, "acme's sms", deliveryKeys(t, e, mine), []string{
		key(t1, "sent"), key(t1, "delivered"), key(t3, "failed"), key(early, "expired")})
	eqList(t, "sms on the events endpoint", deliveryKeys(t, e, events), nil)

	d, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{all.ID}, Limit: 1})
	must(t, err)
	eq(t, "newest delivery's subject", d[0].SubjectID, early.ID)
	eq(t, "its value", d[0].Value, "expired")
	eq(t, "its state", d[0].State, store.DeliveryPending)
	d, err = e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{mine.ID}, Limit: 2})
	must(t, err)
	eq(t, "failure reason", d[1].Detail, "throttled for good")
	eq(t, "failure code", d[1].Code, int64(88))

	// Tickets: every event, whichever path wrote it.
	q := newQueue(t, e, "Soporte")
	tk := store.Ticket{Title: "Falla", QueueID: q.ID}
	must(t, e.CreateTicket(ctx, &tk))
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketOpen, 0, time.Time{}))
	in := mail("<webhook-1@x>", "hola")
	in.NewTicket = &store.Ticket{Title: "Falla", QueueID: q.ID}
	res, err := e.IngestMail(ctx, in)
	must(t, err)
	follow := mail("<webhook-2@x>", "otra")
	follow.TicketID = tk.ID
	_, err = e.IngestMail(ctx, follow)
	must(t, err)
	tevs, err := e.TicketEvents(ctx, tk.ID)
	must(t, err)
	nevs, err := e.TicketEvents(ctx, res.Ticket.ID)
	must(t, err)
	evs := append(tevs, nevs...)
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	var want []string
	for _, ev := range evs {
		want = append(want, fmt.Sprintf("ticket.%s ticket_event:%d", ev.Kind, ev.ID))
	}
	if len(want) < 3 {
		t.Fatalf("too few ticket events to test: %v", want)
	}

	// Chat: opened, assigned, transferred, closed.
	c := newConversation(t, e)
	must(t, e.AssignConversation(ctx, c.ID, "luis", time.Time{}))
	must(t, e.AssignConversation(ctx, c.ID, "marta", time.Time{}))
	must(t, e.CloseConversation(ctx, c.ID, time.Time{}))
	got := deliveryKeys(t, e, events)
	eqList(t, "ticket events", got[:len(want)], want)
	var chat []string
	for _, k := range got[len(want):] {
		ev, rest, _ := strings.Cut(k, " ")
		eq(t, "chat key prefix", strings.HasPrefix(rest, fmt.Sprintf("chat:%d:", c.ID)), true)
		chat = append(chat, ev)
	}
	eqList(t, "chat events", chat, []string{"chat.waiting", "chat.active", "chat.active", "chat.closed"})
	d, err = e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{events.ID}, Limit: 2})
	must(t, err)
	eq(t, "transferred to", d[1].Detail, "marta")

	// Deleting an endpoint deletes its deliveries.
	must(t, e.DeleteWebhookEndpoint(ctx, "acme-dlr"))
	eqList(t, "deleted endpoint's deliveries", deliveryKeys(t, e, mine), nil)
}

func testWebhookEventsRolledBack(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	ep := newEndpoint(t, e, "all", 0, store.TopicSMS, store.TopicChat)
	tr := claimOne(t, e, c.ID, op.ID, "one")
	boom := errors.New("boom")
	err := e.InTx(ctx, func(tx store.Ops) error {
		if err := tx.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"m1"}}); err != nil {
			return err
		}
		conv := store.Conversation{CustomerName: "Ana"}
		if err := tx.CreateConversation(ctx, &conv); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	eqList(t, "deliveries of a rolled back change", deliveryKeys(t, e, ep), nil)
	must(t, e.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"m1"}}))
	eqList(t, "deliveries once committed", deliveryKeys(t, e, ep), []string{fmt.Sprintf("sms.sent sms:%d:sent", tr.ID)})
}

func onlyDelivery(t *testing.T, e *env, id int64) store.WebhookDelivery {
	t.Helper()
	d, err := e.WebhookDelivery(e.ctx(t), id)
	must(t, err)
	return d
}

func testWebhookClaimFinishReplay(t *testing.T, e *env) {
	ctx := e.ctx(t)
	newEndpoint(t, e, "chat", 0, store.TopicChat)
	for i := 0; i < 3; i++ {
		newConversation(t, e)
	}
	now := at("2026-06-01T10:00:00Z")
	lease := time.Minute
	ds, err := e.ClaimWebhookDeliveries(ctx, 2, now, lease)
	must(t, err)
	eq(t, "claimed", len(ds), 2)
	if ds[0].ID >= ds[1].ID {
		t.Fatalf("claimed out of order: %d, %d", ds[0].ID, ds[1].ID)
	}
	eq(t, "attempts", ds[0].Attempts, 1)
	eq(t, "tries", ds[0].Tries, 1)
	eq(t, "leased until", ds[0].NextAttemptAt, now.Add(lease))
	if ds[0].Payload != nil {
		t.Fatalf("payload before the first attempt: %q", ds[0].Payload)
	}
	rest, err := e.ClaimWebhookDeliveries(ctx, 10, now, lease)
	must(t, err)
	eq(t, "claimed while leased", len(rest), 1)
	rest, err = e.ClaimWebhookDeliveries(ctx, 10, now, lease)
	must(t, err)
	eq(t, "claimed again while leased", len(rest), 0)

	a, b := ds[0], ds[1]
	// a fails and is retried later; its payload is kept from now on.
	must(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: a.ID, Attempt: 1, Payload: []byte(`{"n":1}`),
		Status: 503, Error: "service unavailable", Next: now.Add(10 * time.Second), At: now}))
	got := onlyDelivery(t, e, a.ID)
	eq(t, "state after a failure", got.State, store.DeliveryPending)
	eq(t, "status", got.LastStatus, 503)
	eq(t, "error", got.LastError, "service unavailable")
	eq(t, "payload", string(got.Payload), `{"n":1}`)
	ds, err = e.ClaimWebhookDeliveries(ctx, 10, now.Add(5*time.Second), lease)
	must(t, err)
	eq(t, "claimed before the retry is due", len(ds), 0)
	ds, err = e.ClaimWebhookDeliveries(ctx, 10, now.Add(10*time.Second), lease)
	must(t, err)
	eq(t, "claimed when due", len(ds), 1)
	eq(t, "attempts", ds[0].Attempts, 2)
	eq(t, "payload kept", string(ds[0].Payload), `{"n":1}`)
	// An outcome for an attempt taken over is refused.
	wantErr(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: a.ID, Attempt: 1, Delivered: true}), store.ErrNotFound)
	// A later payload does not replace the first.
	must(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: a.ID, Attempt: 2, Payload: []byte(`{"n":2}`),
		Delivered: true, Status: 204, At: now.Add(11 * time.Second)}))
	got = onlyDelivery(t, e, a.ID)
	eq(t, "state", got.State, store.DeliveryDelivered)
	eq(t, "delivered at", got.DeliveredAt, now.Add(11*time.Second))
	eq(t, "payload fixed at the first attempt", string(got.Payload), `{"n":1}`)
	wantErr(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: a.ID, Attempt: 2, Delivered: true}), store.ErrNotFound)

	// b is given up, then replayed: a new series of tries.
	must(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: b.ID, Attempt: 1, Payload: []byte(`{"b":1}`),
		Error: "connection refused", At: now}))
	got = onlyDelivery(t, e, b.ID)
	eq(t, "given up", got.State, store.DeliveryFailed)
	failed, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{State: store.DeliveryFailed})
	must(t, err)
	eq(t, "failed listed", len(failed), 1)
	later := now.Add(time.Hour)
	must(t, e.ReplayWebhookDelivery(ctx, b.ID, later))
	got = onlyDelivery(t, e, b.ID)
	eq(t, "replayed state", got.State, store.DeliveryPending)
	eq(t, "replayed tries", got.Tries, 0)
	eq(t, "replayed attempts", got.Attempts, 1)
	eq(t, "replayed due", got.NextAttemptAt, later)
	ds, err = e.ClaimWebhookDeliveries(ctx, 10, later, lease)
	must(t, err)
	// b and the third, whose lease ended.
	eq(t, "claimed after replay", len(ds), 2)
	eq(t, "replayed claim", fmt.Sprint(ds[0].ID, ds[0].Attempts, ds[0].Tries, string(ds[0].Payload)), fmt.Sprint(b.ID, 2, 1, `{"b":1}`))
	// A delivered one can be replayed too, and a pending one is only made due.
	must(t, e.ReplayWebhookDelivery(ctx, a.ID, later))
	eq(t, "delivered replayed", onlyDelivery(t, e, a.ID).State, store.DeliveryPending)
	eq(t, "delivered time cleared", onlyDelivery(t, e, a.ID).DeliveredAt.IsZero(), true)
	must(t, e.ReplayWebhookDelivery(ctx, b.ID, later))
	eq(t, "pending replayed keeps its tries", onlyDelivery(t, e, b.ID).Tries, 1)
	wantErr(t, e.ReplayWebhookDelivery(ctx, 1<<40, later), store.ErrNotFound)
	_, err = e.WebhookDelivery(ctx, 1<<40)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: 0, Attempt: 1}), store.ErrInvalid)
}

// Claimers on two handles never take the same delivery.
func testWebhookClaimConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	newEndpoint(t, e, "chat", 0, store.TopicChat)
	const n = 60
	for i := 0; i < n; i++ {
		newConversation(t, e)
	}
	stores := []store.Store{e.Store, e.second(t)}
	var mu sync.Mutex
	seen := map[int64]int{}
	now := time.Now()
	err := parallel(e.workers, func(i int) error {
		st := stores[i%2]
		for {
			ds, err := st.ClaimWebhookDeliveries(ctx, 3, now, time.Hour)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return nil
			}
			for _, d := range ds {
				if err := st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: d.ID, Attempt: d.Attempts, Delivered: true, Status: 200}); err != nil {
					return err
				}
				mu.Lock()
				seen[d.ID]++
				mu.Unlock()
			}
		}
	})
	must(t, err)
	eq(t, "deliveries claimed", len(seen), n)
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("delivery %d claimed %d times", id, k)
		}
	}
	pending, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{State: store.DeliveryPending})
	must(t, err)
	eq(t, "pending left", len(pending), 0)
}

func testWebhookDeliveriesPaged(t *testing.T, e *env) {
	ctx := e.ctx(t)
	a := newEndpoint(t, e, "a", 0, store.TopicChat)
	b := newEndpoint(t, e, "b", 0, store.TopicChat)
	for i := 0; i < 7; i++ {
		newConversation(t, e)
	}
	var ids []int64
	f := store.WebhookDeliveryFilter{EndpointIDs: []int64{b.ID}, Limit: 3}
	for {
		page, err := e.WebhookDeliveries(ctx, f)
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d over its limit", len(page))
		}
		for _, d := range page {
			eq(t, "endpoint", d.EndpointID, b.ID)
			ids = append(ids, d.ID)
		}
		f.BeforeID = page[len(page)-1].ID
	}
	eq(t, "paged", len(ids), 7)
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] > ids[j] }) {
		t.Fatalf("not newest first: %v", ids)
	}
	both, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{a.ID, b.ID}})
	must(t, err)
	eq(t, "both endpoints", len(both), 14)
	none, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{EndpointIDs: []int64{}})
	must(t, err)
	eq(t, "no endpoints", len(none), 0)
	for _, bad := range []store.WebhookDeliveryFilter{{Limit: -1}, {Limit: 1001}, {State: "lost"}} {
		_, err := e.WebhookDeliveries(ctx, bad)
		wantErr(t, err, store.ErrInvalid)
	}
}

// An endpoint made, and deleted, through another handle (another process)
// takes effect on the first one's next change, whatever it prepared
// before.
func testWebhookEndpointOfAnotherHandle(t *testing.T, e *env) {
	ctx := e.ctx(t)
	other := e.second(t)
	for i := 0; i < 3; i++ { // statements prepared and cached before any endpoint
		c := store.Conversation{CustomerName: "warm"}
		must(t, e.CreateConversation(ctx, &c))
		must(t, e.AssignConversation(ctx, c.ID, "luis", time.Time{}))
	}
	ep := store.WebhookEndpoint{Name: "late", URL: "http://127.0.0.1:9/", Secret: testSecret, Topics: []store.WebhookTopic{store.TopicChat}}
	must(t, other.PutWebhookEndpoint(ctx, &ep))
	c := store.Conversation{CustomerName: "after"}
	must(t, e.CreateConversation(ctx, &c))
	must(t, e.AssignConversation(ctx, c.ID, "luis", time.Time{}))
	got := deliveryKeys(t, e, ep)
	eq(t, "deliveries after another handle's endpoint", len(got), 2)

	must(t, other.DeleteWebhookEndpoint(ctx, "late"))
	must(t, e.CloseConversation(ctx, c.ID, time.Time{}))
	ds, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	must(t, err)
	eq(t, "deliveries after the endpoint is gone", len(ds), 0)
}

// Deliveries that ended long enough ago are purged, a few at a time;
// pending ones never are.
func testWebhookDeliveriesPurged(t *testing.T, e *env) {
	ctx := e.ctx(t)
	newEndpoint(t, e, "chat", 0, store.TopicChat)
	for i := 0; i < 6; i++ {
		newConversation(t, e)
	}
	now := at("2026-06-01T10:00:00Z")
	ds, err := e.ClaimWebhookDeliveries(ctx, 5, now, time.Minute)
	must(t, err)
	eq(t, "claimed", len(ds), 5)
	for i, d := range ds[:4] {
		a := store.WebhookAttempt{ID: d.ID, Attempt: d.Attempts, Delivered: i%2 == 0, At: now.Add(time.Duration(i) * time.Hour)}
		must(t, e.FinishWebhookDelivery(ctx, a)) // delivered at 0 h and 2 h, failed at 1 h and 3 h
	}
	// ds[4] is pending (claimed), the sixth pending and never claimed.
	n, err := e.PurgeWebhookDeliveries(ctx, now.Add(150*time.Minute), 2)
	must(t, err)
	eq(t, "purged, limited", n, 2)
	n, err = e.PurgeWebhookDeliveries(ctx, now.Add(150*time.Minute), 100)
	must(t, err)
	eq(t, "purged, the rest before the time", n, 1)
	n, err = e.PurgeWebhookDeliveries(ctx, now.Add(1000*time.Hour), 100)
	must(t, err)
	eq(t, "purged, the last ended", n, 1)
	left, err := e.WebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
	must(t, err)
	eq(t, "left", len(left), 2)
	for _, d := range left {
		eq(t, "left state", d.State, store.DeliveryPending)
	}
}

// An attempt starts by fixing the body (the first one stored stays) and
// finds the endpoint as it is; a delivery gone or taken over is not to be
// sent. A replay while an attempt is in flight keeps its lease.
func testWebhookAttemptStarted(t *testing.T, e *env) {
	ctx := e.ctx(t)
	ep := newEndpoint(t, e, "chat", 0, store.TopicChat)
	newConversation(t, e)
	now := time.Now()
	ds, err := e.ClaimWebhookDeliveries(ctx, 1, now, time.Hour)
	must(t, err)
	eq(t, "claimed", len(ds), 1)
	d := ds[0]
	body, got, err := e.StartWebhookAttempt(ctx, d.ID, d.Attempts, []byte(`{"v":1}`))
	must(t, err)
	eq(t, "body stored", string(body), `{"v":1}`)
	eq(t, "endpoint", got.URL, ep.URL)
	body, _, err = e.StartWebhookAttempt(ctx, d.ID, d.Attempts, []byte(`{"v":2}`))
	must(t, err)
	eq(t, "the first body stays", string(body), `{"v":1}`)

	// Replayed while in flight: no second claim while the lease lives.
	must(t, e.ReplayWebhookDelivery(ctx, d.ID, now))
	again, err := e.ClaimWebhookDeliveries(ctx, 1, now, time.Hour)
	must(t, err)
	eq(t, "claimed while in flight", len(again), 0)
	// Its outcome recorded, a replay makes it due at once.
	must(t, e.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: d.ID, Attempt: d.Attempts, Error: "HTTP 500",
		Next: now.Add(time.Hour), At: now}))
	must(t, e.ReplayWebhookDelivery(ctx, d.ID, now))
	again, err = e.ClaimWebhookDeliveries(ctx, 1, now, time.Hour)
	must(t, err)
	eq(t, "claimed after the replay", len(again), 1)
	eq(t, "the body kept", string(again[0].Payload), `{"v":1}`)

	// A stale attempt, and a delivery whose endpoint is gone, start nothing.
	_, _, err = e.StartWebhookAttempt(ctx, d.ID, d.Attempts, nil)
	wantErr(t, err, store.ErrNotFound)
	must(t, e.DeleteWebhookEndpoint(ctx, "chat"))
	_, _, err = e.StartWebhookAttempt(ctx, d.ID, again[0].Attempts, nil)
	wantErr(t, err, store.ErrNotFound)
}
