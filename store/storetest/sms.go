package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/store"
)

var smsTests = []test{
	{"Operators", testOperators},
	{"Clients", testClients},
	{"BatchIdempotent", testBatchIdempotent},
	{"BatchLarge", testBatchLarge},
	{"ClaimOrderAndSchedule", testClaimOrder},
	{"ClaimConcurrent", testClaimConcurrent},
	{"SubmitAndReceipts", testSubmitAndReceipts},
	{"ReceiptBeforeSubmit", testReceiptBeforeSubmit},
	{"ReceiptIDsReused", testReceiptIDsReused},
	{"ReceiptExactDate", testReceiptExactDate},
	{"OperatorHealth", testOperatorHealth},
	{"GroupRecording", testGroupRecording},
	{"LoadPending", testLoadPending},
	{"HostileMessageIDs", testHostileMessageIDs},
	{"UnsettledSegments", testUnsettledSegments},
	{"ReceiptMinute", testReceiptMinute},
	{"RouteQueued", testRouteQueued},
	{"RetryFailRequeue", testRetryFailRequeue},
	{"LastStatusAndMO", testLastStatusAndMO},
	{"RepliesAndStatusByClient", testRepliesAndStatusByClient},
	{"OperatorCounts", testOperatorCounts},
	{"BatchListQueueAndHours", testBatchReports},
	{"ModemOperators", testModemOperators},
}

func newOperator(t *testing.T, e *env, name string, prefixes ...string) store.Operator {
	t.Helper()
	o := store.Operator{Name: name, Host: "127.0.0.1", Port: 2775, SystemID: "sys", Password: "pw",
		BindMode: store.BindTransceiver, Enabled: true, Prefixes: prefixes}
	must(t, e.CreateOperator(e.ctx(t), &o))
	return o
}

func newClient(t *testing.T, e *env, name string) store.Client {
	t.Helper()
	c := store.Client{Name: name}
	must(t, e.CreateClient(e.ctx(t), &c))
	return c
}

// loadBatch stores n transmissions to numbers 58412000000+i for one operator.
func loadBatch(t *testing.T, e *env, client, operator int64, name string, n int) store.Batch {
	t.Helper()
	ts := make([]store.Transmission, n)
	for i := range ts {
		ts[i] = store.Transmission{ExternalID: fmt.Sprintf("%s-%d", name, i), OperatorID: operator, Source: "1234",
			Destination: fmt.Sprintf("5841200%05d", i), Text: "hello world"}
	}
	b := store.Batch{ClientID: client, Name: name}
	ins, dup, err := e.CreateBatch(e.ctx(t), &b, ts)
	must(t, err)
	eq(t, "inserted", ins, n)
	eq(t, "duplicates", dup, 0)
	return b
}

func testOperators(t *testing.T, e *env) {
	ctx := e.ctx(t)
	o := store.Operator{Name: "movil", Host: "smsc.example", Port: 2775, SystemID: "acme", Password: "secret",
		SystemType: "VMA", BindMode: store.BindPair, TLS: true, WindowSize: 50, TPS: 100, EnquireLink: 30 * time.Second,
		Binds: 2, Enabled: true,
		Params:   []store.OperatorParam{{Command: "submit_sm", Name: "service_type", Value: "CMT"}, {Command: "submit_sm", Name: "source_addr_ton", Value: "5"}},
		Prefixes: []string{"58414", "58424"}, Sources: []string{"1234", "5678"}}
	must(t, e.CreateOperator(ctx, &o))
	got, err := e.Operator(ctx, o.ID)
	must(t, err)
	eq(t, "name", got.Name, "movil")
	eq(t, "bind", got.BindMode, store.BindPair)
	eq(t, "tls", got.TLS, true)
	eq(t, "enquire link", got.EnquireLink, 30*time.Second)
	eq(t, "params", len(got.Params), 2)
	if !slices.Equal(got.Prefixes, []string{"58414", "58424"}) || !slices.Equal(got.Sources, []string{"1234", "5678"}) {
		t.Fatalf("prefixes/sources = %v / %v", got.Prefixes, got.Sources)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Fatal("operator times not set")
	}

	dup := store.Operator{Name: "movil"}
	wantErr(t, e.CreateOperator(ctx, &dup), store.ErrDuplicate)
	// A prefix may be shared (failover), with priorities and weights.
	shared := store.Operator{Name: "other", Prefixes: []string{"58414"}, Priority: 1, Weight: 3}
	must(t, e.CreateOperator(ctx, &shared))
	gotShared, err := e.Operator(ctx, shared.ID)
	must(t, err)
	eq(t, "priority", gotShared.Priority, 1)
	eq(t, "weight", gotShared.Weight, 3)
	eq(t, "shared prefix", strings.Join(gotShared.Prefixes, ","), "58414")
	gotShared.Priority = 2
	must(t, e.UpdateOperator(ctx, &gotShared))
	gotShared, _ = e.Operator(ctx, shared.ID)
	eq(t, "priority after update", gotShared.Priority, 2)
	must(t, e.DeleteOperator(ctx, shared.ID))
	wantErr(t, e.CreateOperator(ctx, &store.Operator{Name: "x", BindMode: "fax"}), store.ErrInvalid)
	wantErr(t, e.CreateOperator(ctx, &store.Operator{Name: "y", Prefixes: []string{"1", "1"}}), store.ErrInvalid)

	def := store.Operator{Name: "fallback", Default: true}
	must(t, e.CreateOperator(ctx, &def))
	def2 := store.Operator{Name: "fallback2", Default: true}
	wantErr(t, e.CreateOperator(ctx, &def2), store.ErrDuplicate)

	before := got.UpdatedAt
	got.Prefixes = []string{"58416"}
	got.Params = nil
	got.Password = "new"
	must(t, e.UpdateOperator(ctx, &got))
	again, err := e.Operator(ctx, o.ID)
	must(t, err)
	eq(t, "password", again.Password, "new")
	eq(t, "params after update", len(again.Params), 0)
	if !slices.Equal(again.Prefixes, []string{"58416"}) {
		t.Fatalf("prefixes after update = %v", again.Prefixes)
	}
	if !again.UpdatedAt.After(before) {
		t.Fatalf("UpdatedAt did not advance: %v -> %v", before, again.UpdatedAt)
	}
	// The freed prefix can now go to another operator.
	newOperator(t, e, "third", "58414")

	all, err := e.Operators(ctx)
	must(t, err)
	eq(t, "operators", len(all), 3)
	eq(t, "default", all[1].Default, true)

	missing := store.Operator{ID: o.ID + 1000, Name: "ghost"}
	wantErr(t, e.UpdateOperator(ctx, &missing), store.ErrNotFound)
	must(t, e.DeleteOperator(ctx, o.ID))
	_, err = e.Operator(ctx, o.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, e.DeleteOperator(ctx, o.ID), store.ErrNotFound)
}

func testClients(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "Banco Uno")
	got, err := e.Client(ctx, c.ID)
	must(t, err)
	eq(t, "name", got.Name, "Banco Uno")
	byName, err := e.ClientByName(ctx, "Banco Uno")
	must(t, err)
	eq(t, "by name", byName.ID, c.ID)
	wantErr(t, e.CreateClient(ctx, &store.Client{Name: "Banco Uno"}), store.ErrDuplicate)
	wantErr(t, e.CreateClient(ctx, &store.Client{}), store.ErrInvalid)
	_, err = e.ClientByName(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound)
}

func testBatchIdempotent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	b := loadBatch(t, e, c.ID, op.ID, "file-1.csv", 100)
	eq(t, "total", b.Total, 100)

	// A row stored as failed at load keeps its reason and gets a done time.
	_, _, err := e.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{{ExternalID: "unroutable",
		Destination: "571234567890", Text: "x", State: store.TxFailed, Reason: "no route", ErrorCode: 7}})
	must(t, err)
	failed, err := e.LastTransmissionTo(ctx, "571234567890")
	must(t, err)
	eq(t, "failed at load", failed.State, store.TxFailed)
	eq(t, "reason", failed.Reason, "no route")
	eq(t, "code", failed.ErrorCode, 7)
	eq(t, "done", failed.DoneAt, failed.CreatedAt)

	// The same file again, with 10 new rows: only those are inserted, into
	// the same batch.
	ts := make([]store.Transmission, 110)
	for i := range ts {
		ts[i] = store.Transmission{ExternalID: fmt.Sprintf("file-1.csv-%d", i), OperatorID: op.ID, Destination: "584120000000", Text: "x"}
	}
	again := store.Batch{ClientID: c.ID, Name: "file-1.csv"}
	ins, dup, err := e.CreateBatch(ctx, &again, ts)
	must(t, err)
	eq(t, "inserted", ins, 10)
	eq(t, "duplicates", dup, 100)
	eq(t, "same batch", again.ID, b.ID)
	eq(t, "total", again.Total, 110)
	for i, tr := range ts { // the inserted ones, and only they, have their ids
		if i < 100 {
			eq(t, fmt.Sprintf("skipped row %d id", i), tr.ID, int64(0))
			continue
		}
		got, err := e.Transmission(ctx, tr.ID)
		must(t, err)
		eq(t, fmt.Sprintf("inserted row %d", i), got.ExternalID, tr.ExternalID)
	}
	list, err := e.BatchTransmissions(ctx, b.ID, ts[100].ID, 0)
	must(t, err)
	eq(t, "after the first new row", len(list), 9)
	eq(t, "in order", list[0].ID, ts[101].ID)
	load, err := e.LoadSummary(ctx, again.ID, ts[100].ID, ts[109].ID)
	must(t, err)
	eq(t, "this load", load.ByState[store.TxQueued], 10)
	eq(t, "load's batch", load.Batch.ID, b.ID)

	// Rows without external id are never deduplicated.
	anon := store.Batch{ClientID: c.ID}
	rows := []store.Transmission{{Destination: "1", Text: "a"}, {Destination: "1", Text: "b"}, {ExternalID: "file-1.csv-0", Destination: "1", Text: "c"}}
	ins, _, err = e.CreateBatch(ctx, &anon, rows)
	must(t, err)
	eq(t, "anonymous inserted", ins, 2)
	for i, text := range []string{"a", "b"} {
		got, err := e.Transmission(ctx, rows[i].ID)
		must(t, err)
		eq(t, "anonymous row's id", got.Text, text)
	}
	eq(t, "skipped", rows[2].ID, int64(0))

	// A bad row rolls the whole batch back.
	bad := store.Batch{ClientID: c.ID, Name: "bad"}
	_, _, err = e.CreateBatch(ctx, &bad, []store.Transmission{{Destination: "1", Text: "ok"}, {Text: "no destination"}})
	wantErr(t, err, store.ErrInvalid)
	sum, err := e.BatchSummary(ctx, b.ID)
	must(t, err)
	eq(t, "queued", sum.ByState[store.TxQueued], 110)
	eq(t, "summary total", sum.Batch.Total, 110)
	_, _, err = e.CreateBatch(ctx, &store.Batch{}, nil)
	wantErr(t, err, store.ErrInvalid)
	_, err = e.BatchSummary(ctx, b.ID+1000)
	wantErr(t, err, store.ErrNotFound)
}

func testBatchLarge(t *testing.T, e *env) {
	c := newClient(t, e, "big")
	op := newOperator(t, e, "op")
	start := time.Now()
	b := loadBatch(t, e, c.ID, op.ID, "big.csv", 20000)
	t.Logf("20,000-row batch stored in %v", time.Since(start))
	sum, err := e.BatchSummary(e.ctx(t), b.ID)
	must(t, err)
	eq(t, "queued", sum.ByState[store.TxQueued], 20000)
}

func testClaimOrder(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	other := newOperator(t, e, "other")
	now := at("2026-05-01T12:00:00Z")
	ts := []store.Transmission{
		{ExternalID: "a", OperatorID: op.ID, Destination: "1", Text: "a"},
		{ExternalID: "later", OperatorID: op.ID, Destination: "2", Text: "b", NextAttempt: now.Add(time.Hour)},
		{ExternalID: "c", OperatorID: op.ID, Destination: "3", Text: "c"},
		{ExternalID: "o", OperatorID: other.ID, Destination: "4", Text: "d"},
	}
	_, _, err := e.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, ts)
	must(t, err)
	got, err := e.ClaimTransmissions(ctx, op.ID, 10, now)
	must(t, err)
	eq(t, "claimed", len(got), 2)
	eq(t, "first", got[0].ExternalID, "a")
	eq(t, "second", got[1].ExternalID, "c")
	eq(t, "state", got[0].State, store.TxSubmitting)
	eq(t, "attempts", got[0].Attempts, 1)
	none, err := e.ClaimTransmissions(ctx, op.ID, 10, now)
	must(t, err)
	eq(t, "claimed again", len(none), 0)
	later, err := e.ClaimTransmissions(ctx, op.ID, 10, now.Add(2*time.Hour))
	must(t, err)
	eq(t, "scheduled", len(later), 1)
	eq(t, "scheduled id", later[0].ExternalID, "later")
	_, err = e.ClaimTransmissions(ctx, op.ID, 0, now)
	wantErr(t, err, store.ErrInvalid)
}

// testClaimConcurrent lets several dispatchers, on two database handles,
// drain one queue: every transmission is handed out exactly once.
func testClaimConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	const n = 3000
	loadBatch(t, e, c.ID, op.ID, "b", n)
	second := e.second(t)
	var mu sync.Mutex
	seen := map[int64]int{}
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for {
			got, err := st.ClaimTransmissions(ctx, op.ID, 37, time.Time{})
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return nil
			}
			mu.Lock()
			for _, tr := range got {
				seen[tr.ID]++
			}
			mu.Unlock()
		}
	}))
	eq(t, "distinct claimed", len(seen), n)
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("transmission %d claimed %d times", id, k)
		}
	}
}

func claimOne(t *testing.T, e *env, client, operator int64, ext string) store.Transmission {
	t.Helper()
	ctx := e.ctx(t)
	_, _, err := e.CreateBatch(ctx, &store.Batch{ClientID: client}, []store.Transmission{
		{ExternalID: ext, OperatorID: operator, Destination: "584141234567", Text: "hi"}})
	must(t, err)
	got, err := e.ClaimTransmissions(ctx, operator, 1, time.Time{})
	must(t, err)
	eq(t, "claimed", len(got), 1)
	return got[0]
}

func testSubmitAndReceipts(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	tr := claimOne(t, e, c.ID, op.ID, "one")
	sent := at("2026-05-01T12:00:00Z")
	must(t, e.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"a1", "a2"}, At: sent}))
	got, _ := e.Transmission(ctx, tr.ID)
	eq(t, "state", got.State, store.TxSent)
	eq(t, "message id", got.MessageID, "a1")
	eq(t, "segments", got.Segments, 2)
	eq(t, "submitted", got.SubmittedAt, sent)
	wantErr(t, e.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"again"}}), store.ErrConflict)

	// First segment delivered: still sent. Second delivered: delivered.
	r, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "a1", State: store.TxDelivered, DoneAt: sent.Add(time.Second)})
	must(t, err)
	eq(t, "matched", matched, true)
	eq(t, "after one segment", r.State, store.TxSent)
	done := sent.Add(2 * time.Second)
	r, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "a2", State: store.TxDelivered, DoneAt: done})
	must(t, err)
	eq(t, "after all segments", r.State, store.TxDelivered)
	eq(t, "done", r.DoneAt, done)

	// A failed segment fails the transmission, with its error code.
	tr2 := claimOne(t, e, c.ID, op.ID, "two")
	must(t, e.RecordSubmit(ctx, tr2.ID, store.SubmitResult{MessageIDs: []string{"b1", "b2"}}))
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "b1", State: store.TxUndeliverable, ErrorCode: 11})
	must(t, err)
	got, _ = e.Transmission(ctx, tr2.ID)
	eq(t, "failed segment", got.State, store.TxUndeliverable)
	eq(t, "error code", got.ErrorCode, 11)

	// Message ids are per operator.
	other := newOperator(t, e, "other")
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: other.ID, MessageID: "b2", State: store.TxDelivered})
	must(t, err)
	eq(t, "matched other operator", matched, false)
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "b2", State: store.TxSent})
	wantErr(t, err, store.ErrInvalid)
}

// SMSCs reuse message ids (a restart, a counter that wraps): a receipt
// goes to the most recent submission of its id, never to one that has
// its receipt already, and an old unmatched receipt is not applied to a
// new submission.
// A receipt whose submit date is exact (a GSM status report's service
// centre time) and says so with a small DateTolerance lands on the
// submission of its id made then, not on a later one that reused the id
// seconds after, alone, in a group (ApplyReceipts) and kept aside until
// its submission is recorded.
func testReceiptExactDate(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "modem")
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	first := claimOne(t, e, c.ID, op.ID, "first")
	must(t, e.RecordSubmit(ctx, first.ID, store.SubmitResult{MessageIDs: []string{"584141234567/1"}, At: t0}))
	second := claimOne(t, e, c.ID, op.ID, "second")
	must(t, e.RecordSubmit(ctx, second.ID, store.SubmitResult{MessageIDs: []string{"584141234567/1"}, At: t0.Add(20 * time.Second)}))
	rc := store.DeliveryReceipt{OperatorID: op.ID, MessageID: "584141234567/1", State: store.TxUndeliverable, ErrorCode: 0x41,
		DoneAt: t0.Add(30 * time.Second), SubmittedAt: t0.Add(-time.Second), DateTolerance: 5 * time.Second}
	r, matched, err := e.ApplyReceipt(ctx, rc)
	must(t, err)
	eq(t, "matched", matched, true)
	eq(t, "to the submission made then", r.ID, first.ID)
	got, _ := e.Transmission(ctx, second.ID)
	eq(t, "the later one untouched", got.State, store.TxSent)
	rc.State, rc.ErrorCode, rc.SubmittedAt = store.TxDelivered, 0, t0.Add(21*time.Second)
	ms, err := e.ApplyReceipts(ctx, []store.DeliveryReceipt{rc})
	must(t, err)
	eq(t, "matched in a group", ms[0], true)
	got, _ = e.Transmission(ctx, second.ID)
	eq(t, "the later one's own", got.State, store.TxDelivered)

	// A report for a submission not yet recorded waits for it, and not
	// for a later reuse of the id minutes after.
	rc = store.DeliveryReceipt{OperatorID: op.ID, MessageID: "584141234567/2", State: store.TxExpired,
		DoneAt: time.Now(), SubmittedAt: time.Now().Add(-2 * time.Minute), DateTolerance: 5 * time.Second}
	_, matched, err = e.ApplyReceipt(ctx, rc)
	must(t, err)
	eq(t, "nothing to match yet", matched, false)
	reuse := claimOne(t, e, c.ID, op.ID, "reuse")
	must(t, e.RecordSubmit(ctx, reuse.ID, store.SubmitResult{MessageIDs: []string{"584141234567/2"}}))
	got, _ = e.Transmission(ctx, reuse.ID)
	eq(t, "a reuse minutes later does not take it", got.State, store.TxSent)

	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "x", State: store.TxDelivered,
		DateTolerance: -time.Second})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative tolerance: %v, want ErrInvalid", err)
	}
}

func testReceiptIDsReused(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	old := claimOne(t, e, c.ID, op.ID, "old")
	must(t, e.RecordSubmit(ctx, old.ID, store.SubmitResult{MessageIDs: []string{"1"}}))
	oldDone := time.Now().Add(-time.Minute).Truncate(time.Second)
	_, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "1", State: store.TxDelivered, DoneAt: oldDone})
	must(t, err)
	eq(t, "first receipt matched", matched, true)

	// The SMSC delivers that receipt again (our acknowledgment was lost):
	// nothing changes and nothing is kept for a later submission.
	dupT, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "1", State: store.TxDelivered, DoneAt: oldDone})
	must(t, err)
	eq(t, "duplicate matched", matched, true)
	eq(t, "duplicate of", dupT.ID, old.ID)

	// The SMSC restarted and gives id 1 again; the new message's receipt
	// overtakes its submit_sm_resp.
	fresh := claimOne(t, e, c.ID, op.ID, "fresh")
	r, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "1", State: store.TxUndeliverable,
		ErrorCode: 5, DoneAt: time.Now(), Raw: "id:1 sub:001 dlvrd:000 stat:UNDELIV err:005"})
	must(t, err)
	eq(t, "matched to the delivered message", matched, false)
	eq(t, "no transmission", r.ID, int64(0))
	got, _ := e.Transmission(ctx, old.ID)
	eq(t, "old state", got.State, store.TxDelivered)
	eq(t, "old done", got.DoneAt.Equal(oldDone), true)
	must(t, e.RecordSubmit(ctx, fresh.ID, store.SubmitResult{MessageIDs: []string{"1"}}))
	got, _ = e.Transmission(ctx, fresh.ID)
	eq(t, "new message's receipt", got.State, store.TxUndeliverable)
	eq(t, "new message's error", got.ErrorCode, 5)

	// The most recent submission wins, not the highest transmission id.
	a := claimOne(t, e, c.ID, op.ID, "a")
	b := claimOne(t, e, c.ID, op.ID, "b")
	must(t, e.RecordSubmit(ctx, b.ID, store.SubmitResult{MessageIDs: []string{"7"}}))
	must(t, e.RecordSubmit(ctx, a.ID, store.SubmitResult{MessageIDs: []string{"7"}}))
	r, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "7", State: store.TxDelivered})
	must(t, err)
	eq(t, "matched", matched, true)
	eq(t, "to the latest submission", r.ID, a.ID)
	got, _ = e.Transmission(ctx, b.ID)
	eq(t, "earlier submission untouched", got.State, store.TxSent)

	// A duplicate receipt never lands on a later submission of its id.
	a2 := claimOne(t, e, c.ID, op.ID, "a2")
	must(t, e.RecordSubmit(ctx, a2.ID, store.SubmitResult{MessageIDs: []string{"5"}}))
	rc := store.DeliveryReceipt{OperatorID: op.ID, MessageID: "5", State: store.TxDelivered, DoneAt: time.Now().Truncate(time.Second)}
	_, _, err = e.ApplyReceipt(ctx, rc)
	must(t, err)
	_, _, err = e.ApplyReceipt(ctx, rc)
	must(t, err)
	b2 := claimOne(t, e, c.ID, op.ID, "b2")
	must(t, e.RecordSubmit(ctx, b2.ID, store.SubmitResult{MessageIDs: []string{"5"}}))
	got, _ = e.Transmission(ctx, b2.ID)
	eq(t, "a duplicate receipt on the next message of the id", got.State, store.TxSent)

	// A receipt nobody claimed for longer than PendingReceiptWindow is
	// not applied to a submission that reuses its id later.
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "9", State: store.TxExpired})
	must(t, err)
	eq(t, "unknown id", matched, false)
	late := claimOne(t, e, c.ID, op.ID, "late")
	must(t, e.RecordSubmit(ctx, late.ID, store.SubmitResult{MessageIDs: []string{"9"},
		At: time.Now().Add(store.PendingReceiptWindow + time.Minute)}))
	got, _ = e.Transmission(ctx, late.ID)
	eq(t, "stale receipt not applied", got.State, store.TxSent)

	// An older message of id 3 still waits for its receipt (sent three
	// days ago) when the SMSC gives id 3 again; the new message's receipt
	// overtakes its submit_sm_resp. Its submit date says it is not the
	// older one's: kept for the new message, not put on the old one.
	older := claimOne(t, e, c.ID, op.ID, "older")
	threeDays := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	must(t, e.RecordSubmit(ctx, older.ID, store.SubmitResult{MessageIDs: []string{"3"}, At: threeDays}))
	newer := claimOne(t, e, c.ID, op.ID, "newer")
	now := time.Now().Truncate(time.Minute) // receipts name the minute, in a zone they do not say
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "3", State: store.TxDelivered,
		DoneAt: now, SubmittedAt: now.Add(-5 * time.Hour)})
	must(t, err)
	eq(t, "the new message's early receipt on the old one", matched, false)
	got, _ = e.Transmission(ctx, older.ID)
	eq(t, "the older message still waits", got.State, store.TxSent)
	must(t, e.RecordSubmit(ctx, newer.ID, store.SubmitResult{MessageIDs: []string{"3"}}))
	got, _ = e.Transmission(ctx, newer.ID)
	eq(t, "the new message got it", got.State, store.TxDelivered)
	// The older message's own receipt, days late, names its submit date
	// (in another time zone): it lands on the older message, not aside.
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "3", State: store.TxExpired,
		DoneAt: now, SubmittedAt: threeDays.Add(9 * time.Hour)})
	must(t, err)
	eq(t, "the older message's late receipt", matched, true)
	got, _ = e.Transmission(ctx, older.ID)
	eq(t, "the older message expired", got.State, store.TxExpired)
	got, _ = e.Transmission(ctx, newer.ID)
	eq(t, "the newer one untouched", got.State, store.TxDelivered)

	// A receipt kept aside keeps its submit date: a later reuse of the id
	// whose time does not fit it does not take it.
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "8", State: store.TxDelivered,
		DoneAt: now, SubmittedAt: now.Add(-50 * time.Hour)})
	must(t, err)
	eq(t, "no submission of id 8 yet", matched, false)
	reuse := claimOne(t, e, c.ID, op.ID, "reuse")
	must(t, e.RecordSubmit(ctx, reuse.ID, store.SubmitResult{MessageIDs: []string{"8"}}))
	got, _ = e.Transmission(ctx, reuse.ID)
	eq(t, "a receipt dated two days before is not this submission's", got.State, store.TxSent)
	pair := claimOne(t, e, c.ID, op.ID, "pair")
	must(t, e.RecordSubmit(ctx, pair.ID, store.SubmitResult{MessageIDs: []string{"4"}, At: threeDays}))
	_, matched, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "4", State: store.TxExpired,
		DoneAt: now, SubmittedAt: threeDays.Add(-11 * time.Hour)})
	must(t, err)
	eq(t, "submit date in another zone", matched, true)
}

func testUnsettledSegments(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op, other := newOperator(t, e, "op"), newOperator(t, e, "other")
	sent := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	long := claimOne(t, e, c.ID, op.ID, "long")
	must(t, e.RecordSubmit(ctx, long.ID, store.SubmitResult{MessageIDs: []string{"l1", "l2"}, At: sent}))
	_, _, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "l1", State: store.TxDelivered})
	must(t, err)
	done := claimOne(t, e, c.ID, op.ID, "done")
	must(t, e.RecordSubmit(ctx, done.ID, store.SubmitResult{MessageIDs: []string{"d1"}, At: sent}))
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "d1", State: store.TxDelivered})
	must(t, err)
	short := claimOne(t, e, c.ID, op.ID, "short")
	must(t, e.RecordSubmit(ctx, short.ID, store.SubmitResult{MessageIDs: []string{"s1"}, At: sent}))
	recent := claimOne(t, e, c.ID, op.ID, "recent")
	must(t, e.RecordSubmit(ctx, recent.ID, store.SubmitResult{MessageIDs: []string{"r1"}}))
	elsewhere := claimOne(t, e, c.ID, other.ID, "elsewhere")
	must(t, e.RecordSubmit(ctx, elsewhere.ID, store.SubmitResult{MessageIDs: []string{"e1"}, At: sent}))

	got, err := e.UnsettledSegments(ctx, op.ID, time.Now().Add(-time.Minute), 0, 0)
	must(t, err)
	eq(t, "unsettled", len(got), 2)
	eq(t, "first", got[0], store.SentSegment{TransmissionID: long.ID, Segment: 2, MessageID: "l2",
		Destination: "584141234567", SubmittedAt: got[0].SubmittedAt})
	eq(t, "submitted", got[0].SubmittedAt.Equal(sent), true)
	eq(t, "second", got[1].MessageID, "s1")
	got, err = e.UnsettledSegments(ctx, op.ID, time.Now().Add(-time.Minute), long.ID, 1)
	must(t, err)
	eq(t, "after", len(got), 1)
	eq(t, "after id", got[0].MessageID, "s1")
	got, err = e.UnsettledSegments(ctx, op.ID, time.Now().Add(time.Minute), short.ID, 0)
	must(t, err)
	eq(t, "recent ones too", len(got), 1)
	eq(t, "recent", got[0].MessageID, "r1")
	_, err = e.UnsettledSegments(ctx, op.ID, time.Now(), 0, -1)
	wantErr(t, err, store.ErrInvalid)
}

// A receipt time cut to the minute, in the minute of the submission but
// before it, does not make a message done before it was submitted.
func testReceiptMinute(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	tr := claimOne(t, e, c.ID, op.ID, "m")
	sent := at("2026-05-01T12:00:41Z")
	must(t, e.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"m1"}, At: sent}))
	got, _, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "m1", State: store.TxDelivered,
		DoneAt: at("2026-05-01T12:00:00Z")})
	must(t, err)
	eq(t, "done at the submission", got.DoneAt, sent)
	tr2 := claimOne(t, e, c.ID, op.ID, "n")
	must(t, e.RecordSubmit(ctx, tr2.ID, store.SubmitResult{MessageIDs: []string{"n1"}, At: sent}))
	got, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "n1", State: store.TxDelivered,
		DoneAt: at("2026-05-01T12:01:00Z")})
	must(t, err)
	eq(t, "done as the receipt says", got.DoneAt, at("2026-05-01T12:01:00Z"))
}

func testRouteQueued(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	a, b := newOperator(t, e, "a"), newOperator(t, e, "b")
	loadBatch(t, e, c.ID, a.ID, "x", 3)
	claimed, err := e.ClaimTransmissions(ctx, a.ID, 1, time.Time{})
	must(t, err)
	queued, err := e.QueuedTransmissions(ctx, a.ID, 0, 0)
	must(t, err)
	eq(t, "queued", len(queued), 2)
	page, err := e.QueuedTransmissions(ctx, a.ID, queued[0].ID, 1)
	must(t, err)
	eq(t, "page", len(page), 1)
	eq(t, "page id", page[0].ID, queued[1].ID)
	must(t, e.RouteTransmission(ctx, queued[0].ID, b.ID))
	wantErr(t, e.RouteTransmission(ctx, claimed[0].ID, b.ID), store.ErrConflict)
	moved, err := e.ClaimTransmissions(ctx, b.ID, 10, time.Time{})
	must(t, err)
	eq(t, "claimed on the new operator", len(moved), 1)
	eq(t, "moved", moved[0].ID, queued[0].ID)
	_, err = e.QueuedTransmissions(ctx, a.ID, 0, -1)
	wantErr(t, err, store.ErrInvalid)

	orphans, err := e.OrphanedOperators(ctx)
	must(t, err)
	eq(t, "no orphans", len(orphans), 0)
	must(t, e.DeleteOperator(ctx, a.ID))
	orphans, err = e.OrphanedOperators(ctx)
	must(t, err)
	eq(t, "orphans", len(orphans), 1)
	eq(t, "orphan", orphans[0], a.ID)
}

func testReceiptBeforeSubmit(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	tr := claimOne(t, e, c.ID, op.ID, "race")
	done := at("2026-05-01T12:00:05Z")
	_, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "early", State: store.TxExpired, ErrorCode: 3, DoneAt: done})
	must(t, err)
	eq(t, "matched before submit", matched, false)
	must(t, e.RecordSubmit(ctx, tr.ID, store.SubmitResult{MessageIDs: []string{"early"}}))
	got, _ := e.Transmission(ctx, tr.ID)
	eq(t, "state", got.State, store.TxExpired)
	eq(t, "error", got.ErrorCode, 3)
	eq(t, "done", got.DoneAt, done)
}

func testRetryFailRequeue(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	tr := claimOne(t, e, c.ID, op.ID, "r")
	next := time.Now().Add(time.Hour)
	must(t, e.RetryTransmission(ctx, tr.ID, next, 0x58, "throttled"))
	got, _ := e.Transmission(ctx, tr.ID)
	eq(t, "state", got.State, store.TxQueued)
	eq(t, "reason", got.Reason, "throttled")
	eq(t, "error", got.ErrorCode, 0x58)
	wantErr(t, e.RetryTransmission(ctx, tr.ID, next, 0, ""), store.ErrConflict) // not submitting
	wantErr(t, e.RetryTransmission(ctx, tr.ID+1000, next, 0, ""), store.ErrNotFound)
	claimed, _ := e.ClaimTransmissions(ctx, op.ID, 1, time.Time{})
	eq(t, "claimable before next attempt", len(claimed), 0)
	claimed, _ = e.ClaimTransmissions(ctx, op.ID, 1, next.Add(time.Second))
	eq(t, "claimable after", len(claimed), 1)
	eq(t, "attempts", claimed[0].Attempts, 2)

	must(t, e.FailTransmission(ctx, tr.ID, 0x0B, "invalid destination", time.Time{}))
	got, _ = e.Transmission(ctx, tr.ID)
	eq(t, "failed", got.State, store.TxFailed)
	if got.DoneAt.IsZero() {
		t.Fatal("failed transmission without done time")
	}
	wantErr(t, e.FailTransmission(ctx, tr.ID, 0, "", time.Time{}), store.ErrConflict)
	wantErr(t, e.EndTransmission(ctx, tr.ID, store.TxUnknown, 0, "", time.Time{}), store.ErrConflict)

	// A submit whose outcome cannot be learned, not sent again.
	unsure := claimOne(t, e, c.ID, op.ID, "u")
	wantErr(t, e.EndTransmission(ctx, unsure.ID, store.TxSent, 0, "", time.Time{}), store.ErrInvalid)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	must(t, e.EndTransmission(ctx, unsure.ID, store.TxUnknown, 0, "may have reached the SMSC", at))
	got, _ = e.Transmission(ctx, unsure.ID)
	eq(t, "ended state", got.State, store.TxUnknown)
	eq(t, "ended reason", got.Reason, "may have reached the SMSC")
	eq(t, "ended at", got.DoneAt.Equal(at), true)
	wantErr(t, e.EndTransmission(ctx, unsure.ID+1000, store.TxUnknown, 0, "", time.Time{}), store.ErrNotFound)
	claimed, _ = e.ClaimTransmissions(ctx, op.ID, 1, next.Add(time.Second))
	eq(t, "an ended transmission is not claimed", len(claimed), 0)

	// A dispatcher that died leaves claims behind; they go back in the queue.
	// One that lives renews its claims, which then do not go stale.
	stale := claimOne(t, e, c.ID, op.ID, "s")
	renewed, err := e.RenewClaims(ctx, []int64{stale.ID, tr.ID, unsure.ID}, time.Now().Add(time.Hour))
	must(t, err)
	eq(t, "renewed (only the submitting one)", renewed, 1)
	n0, err := e.RequeueStale(ctx, time.Now().Add(30*time.Minute))
	must(t, err)
	eq(t, "requeued though renewed", n0, 0)
	renewed, err = e.RenewClaims(ctx, nil, time.Now())
	must(t, err)
	eq(t, "renewed none", renewed, 0)
	_, err = e.RenewClaims(ctx, []int64{stale.ID}, time.Now())
	must(t, err)
	n, err := e.RequeueStale(ctx, time.Now().Add(-time.Hour))
	must(t, err)
	eq(t, "requeued too early", n, 0)
	n, err = e.RequeueStale(ctx, time.Now().Add(time.Second))
	must(t, err)
	eq(t, "requeued", n, 1)
	got, _ = e.Transmission(ctx, stale.ID)
	eq(t, "requeued state", got.State, store.TxQueued)
	eq(t, "requeued reason", got.Reason, store.ReasonStaleClaim)
}

func testLastStatusAndMO(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	first := claimOne(t, e, c.ID, op.ID, "1")
	must(t, e.RecordSubmit(ctx, first.ID, store.SubmitResult{MessageIDs: []string{"m1"}}))
	second := claimOne(t, e, c.ID, op.ID, "2")
	must(t, e.RecordSubmit(ctx, second.ID, store.SubmitResult{MessageIDs: []string{"m2"}}))
	_, _, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "m2", State: store.TxDelivered})
	must(t, err)
	last, err := e.LastTransmissionTo(ctx, "584141234567")
	must(t, err)
	eq(t, "last", last.ID, second.ID)
	eq(t, "last state", last.State, store.TxDelivered)
	_, err = e.LastTransmissionTo(ctx, "000")
	wantErr(t, err, store.ErrNotFound)

	mo := store.MO{OperatorID: op.ID, From: "584141234567", To: "1234", Text: "SI"}
	must(t, e.InsertMO(ctx, &mo))
	eq(t, "linked", mo.TransmissionID, second.ID)
	stranger := store.MO{OperatorID: op.ID, From: "584169999999", To: "1234", Text: "hola"}
	must(t, e.InsertMO(ctx, &stranger))
	eq(t, "unlinked", stranger.TransmissionID, int64(0))
	list, err := e.MOs(ctx, store.MOFilter{})
	must(t, err)
	eq(t, "MOs", len(list), 2)
	eq(t, "text", list[0].Text, "SI")
	list, err = e.MOs(ctx, store.MOFilter{From: "584169999999"})
	must(t, err)
	eq(t, "MOs from", len(list), 1)
	list, err = e.MOs(ctx, store.MOFilter{TransmissionID: second.ID})
	must(t, err)
	eq(t, "MOs to a transmission", len(list), 1)
	eq(t, "MO to a transmission", list[0].ID, mo.ID)
	list, err = e.MOs(ctx, store.MOFilter{Since: time.Now().Add(time.Hour)})
	must(t, err)
	eq(t, "MOs since later", len(list), 0)
	list, err = e.MOs(ctx, store.MOFilter{Since: time.Now().Add(-time.Hour)})
	must(t, err)
	eq(t, "MOs since earlier", len(list), 2)
	wantErr(t, e.InsertMO(ctx, &store.MO{}), store.ErrInvalid)
}

func testOperatorCounts(t *testing.T, e *env) {
	ctx := e.ctx(t)
	before := time.Now().Add(-time.Minute)
	c := newClient(t, e, "acme")
	a, b := newOperator(t, e, "a"), newOperator(t, e, "b")
	loadBatch(t, e, c.ID, a.ID, "x", 5)
	loadBatch(t, e, c.ID, b.ID, "y", 2)
	claimed, err := e.ClaimTransmissions(ctx, a.ID, 3, time.Time{})
	must(t, err)
	must(t, e.RecordSubmit(ctx, claimed[0].ID, store.SubmitResult{MessageIDs: []string{"m1"}, At: time.Now()}))
	must(t, e.RecordSubmit(ctx, claimed[1].ID, store.SubmitResult{MessageIDs: []string{"m2"}, At: time.Now()}))
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: a.ID, MessageID: "m1", State: store.TxDelivered, DoneAt: time.Now()})
	must(t, err)
	must(t, e.FailTransmission(ctx, claimed[2].ID, 0x0B, "invalid destination", time.Now()))

	got, err := e.OperatorCounts(ctx, before)
	must(t, err)
	eq(t, "operators", len(got), 2)
	eq(t, "first", got[0].OperatorID, a.ID)
	eqStates(t, "a", got[0].ByState, map[store.TransmissionState]int{store.TxDelivered: 1, store.TxSent: 1, store.TxFailed: 1, store.TxQueued: 2})
	eq(t, "a submitted", got[0].Submitted, 2)
	eqStates(t, "b", got[1].ByState, map[store.TransmissionState]int{store.TxQueued: 2})
	eq(t, "b submitted", got[1].Submitted, 0)

	got, err = e.OperatorCounts(ctx, time.Now().Add(time.Hour))
	must(t, err)
	eq(t, "nothing since later", len(got), 0)
}

func eqStates(t *testing.T, what string, got, want map[store.TransmissionState]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// Health reports: one per process and operator, the latest kept, listed
// by operator and process, filtered by time, gone with their operator.
func testOperatorHealth(t *testing.T, e *env) {
	ctx := e.ctx(t)
	a, b := newOperator(t, e, "a"), newOperator(t, e, "b")
	old := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	now := time.Now().Truncate(time.Millisecond)
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h1:1", Bound: 0, Binds: 2,
		UnboundSince: old, LastError: "connection refused", ReportedAt: old}))
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h1:1", Bound: 2, Binds: 2,
		Throughput: 12.5, ReportedAt: now}))
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h2:7", Bound: 1, Binds: 2, ReportedAt: now}))
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: b.ID, Process: "h1:1", Bound: 0, Binds: 1,
		UnboundSince: old, LastError: "bind refused", ReportedAt: old}))
	wantErr(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: b.ID + 100, Process: "x"}), store.ErrNotFound)
	got, err := e.OperatorHealths(ctx, now.Add(-time.Minute))
	must(t, err)
	eq(t, "recent reports", len(got), 2)
	eq(t, "replaced", got[0], store.OperatorHealth{OperatorID: a.ID, Process: "h1:1", Bound: 2, Binds: 2, Throughput: 12.5,
		ReportedAt: got[0].ReportedAt})
	eq(t, "reported at", got[0].ReportedAt.Equal(now), true)
	eq(t, "second process", got[1].Process, "h2:7")
	all, err := e.OperatorHealths(ctx, time.Time{})
	must(t, err)
	eq(t, "all reports", len(all), 3)
	eq(t, "stale one", all[2].LastError, "bind refused")
	eq(t, "unbound since", all[2].UnboundSince.Equal(old), true)
	must(t, e.DeleteOperator(ctx, b.ID))
	all, err = e.OperatorHealths(ctx, time.Time{})
	must(t, err)
	eq(t, "gone with the operator", len(all), 2)

	// The writer's interval and a last report are kept; an error is one
	// clean line of at most MaxHealthError bytes, cut at a rune boundary.
	long := "línea\nfalsa\u202e " + strings.Repeat("é", store.MaxHealthError)
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h2:7", Binds: 2, LastError: long,
		Interval: 90 * time.Second, Stopped: true, ReportedAt: now}))
	got, err = e.OperatorHealths(ctx, now)
	must(t, err)
	eq(t, "reports", len(got), 2)
	h := got[1]
	eq(t, "interval", h.Interval, 90*time.Second)
	eq(t, "stopped", h.Stopped, true)
	eq(t, "error capped", len(h.LastError) <= store.MaxHealthError && len(h.LastError) > store.MaxHealthError-2, true)
	eq(t, "error valid UTF-8", utf8.ValidString(h.LastError), true)
	eq(t, "error on one clean line", strings.ContainsAny(h.LastError, "\n\u202e"), false)
	wantErr(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID}), store.ErrInvalid)

	// A report for a deleted operator inside a transaction is ErrNotFound
	// and leaves the transaction usable.
	must(t, e.InTx(ctx, func(tx store.Ops) error {
		wantErr(t, tx.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: b.ID, Process: "h1:1"}), store.ErrNotFound)
		return tx.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h3:1", Bound: 1, Binds: 1})
	}))

	// Writing a report deletes its operator's reports older than a day.
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "old:1",
		ReportedAt: now.Add(-25 * time.Hour)}))
	all, err = e.OperatorHealths(ctx, time.Time{})
	must(t, err)
	eq(t, "old report written", len(all), 4)
	must(t, e.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: a.ID, Process: "h3:1", ReportedAt: now}))
	all, err = e.OperatorHealths(ctx, time.Time{})
	must(t, err)
	eq(t, "a day old report pruned", len(all), 3)
}

// testRepliesAndStatusByClient: two clients write to one number from
// their own short codes. A reply goes to the message sent from the short
// code it was sent to, whoever wrote last; each client's last message to
// the number is its own.
func testRepliesAndStatusByClient(t *testing.T, e *env) {
	ctx := e.ctx(t)
	acme, other := newClient(t, e, "acme"), newClient(t, e, "other")
	op := newOperator(t, e, "op")
	send := func(client int64, source, ext string) store.Transmission {
		t.Helper()
		_, _, err := e.CreateBatch(ctx, &store.Batch{ClientID: client}, []store.Transmission{
			{ExternalID: ext, OperatorID: op.ID, Source: source, Destination: "584141234567", Text: "hi"}})
		must(t, err)
		got, err := e.ClaimTransmissions(ctx, op.ID, 1, time.Time{})
		must(t, err)
		eq(t, "claimed", len(got), 1)
		must(t, e.RecordSubmit(ctx, got[0].ID, store.SubmitResult{MessageIDs: []string{ext}}))
		return got[0]
	}
	a := send(acme.ID, "1234", "a1")
	o := send(other.ID, "5678", "o1")

	toAcme := store.MO{OperatorID: op.ID, From: "584141234567", To: "1234", Text: "sí"}
	must(t, e.InsertMO(ctx, &toAcme))
	eq(t, "reply to acme's short code", toAcme.TransmissionID, a.ID)
	toOther := store.MO{OperatorID: op.ID, From: "584141234567", To: "5678", Text: "no"}
	must(t, e.InsertMO(ctx, &toOther))
	eq(t, "reply to other's short code", toOther.TransmissionID, o.ID)
	elsewhere := store.MO{OperatorID: op.ID, From: "584141234567", To: "9999", Text: "?"}
	must(t, e.InsertMO(ctx, &elsewhere))
	eq(t, "reply to a code nobody sent from: the last message", elsewhere.TransmissionID, o.ID)

	got, err := e.LastClientTransmissionTo(ctx, acme.ID, "584141234567")
	must(t, err)
	eq(t, "acme's last", got.ID, a.ID)
	got, err = e.LastClientTransmissionTo(ctx, other.ID, "584141234567")
	must(t, err)
	eq(t, "other's last", got.ID, o.ID)
	_, err = e.LastClientTransmissionTo(ctx, acme.ID, "000")
	wantErr(t, err, store.ErrNotFound)
	_, err = e.LastClientTransmissionTo(ctx, other.ID+1000, "584141234567")
	wantErr(t, err, store.ErrNotFound)
}
