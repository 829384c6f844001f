package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// testBatchReports checks what a console shows of batches: the list
// newest first by client with paging, a batch's queue by operator (with
// its earliest retry), and messages per hour by state.
func testBatchReports(t *testing.T, e *env) {
	ctx := e.ctx(t)
	from := time.Now().Add(-time.Minute)
	acme, other := newClient(t, e, "acme"), newClient(t, e, "other")
	a, b := newOperator(t, e, "a"), newOperator(t, e, "b")
	b1 := loadBatch(t, e, acme.ID, a.ID, "first", 4)
	b2 := loadBatch(t, e, other.ID, b.ID, "second", 2)
	b3 := loadBatch(t, e, acme.ID, b.ID, "third", 3)

	all, err := e.Batches(ctx, store.BatchFilter{})
	must(t, err)
	eq(t, "batches", len(all), 3)
	eq(t, "newest first", all[0].ID, b3.ID)
	eq(t, "then", all[1].ID, b2.ID)
	eq(t, "name", all[2].Name, "first")
	eq(t, "total", all[2].Total, 4)
	if all[2].CreatedAt.IsZero() {
		t.Fatal("a listed batch without its time")
	}
	mine, err := e.Batches(ctx, store.BatchFilter{ClientID: acme.ID, Limit: 1})
	must(t, err)
	eq(t, "one client's, one", len(mine), 1)
	eq(t, "its newest", mine[0].ID, b3.ID)
	mine, err = e.Batches(ctx, store.BatchFilter{ClientID: acme.ID, BeforeID: mine[0].ID})
	must(t, err)
	eq(t, "the page before", len(mine), 1)
	eq(t, "its older one", mine[0].ID, b1.ID)
	_, err = e.Batches(ctx, store.BatchFilter{Limit: -1})
	wantErr(t, err, store.ErrInvalid)

	// Batch 1: two claimed (one sent, one back in the queue to retry in an
	// hour), one moved to operator b, one left queued.
	claimed, err := e.ClaimTransmissions(ctx, a.ID, 2, time.Time{})
	must(t, err)
	must(t, e.RecordSubmit(ctx, claimed[0].ID, store.SubmitResult{MessageIDs: []string{"r1"}, At: time.Now()}))
	retryAt := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(t, e.RetryTransmission(ctx, claimed[1].ID, retryAt, 0x58, "throttled"))
	queued, err := e.QueuedTransmissions(ctx, a.ID, claimed[1].ID, 10)
	must(t, err)
	must(t, e.RouteTransmission(ctx, queued[0].ID, b.ID))

	q, err := e.BatchQueue(ctx, b1.ID)
	must(t, err)
	eq(t, "operators waited for", len(q), 2)
	eq(t, "first operator", q[0].OperatorID, a.ID)
	eq(t, "queued on a", q[0].Count, 2)
	if !q[0].NextAttempt.IsZero() {
		t.Fatalf("earliest attempt on a = %v, want zero (one is due now)", q[0].NextAttempt)
	}
	eq(t, "second operator", q[1].OperatorID, b.ID)
	eq(t, "queued on b", q[1].Count, 1)
	// Only the retry left on a: its time is the earliest.
	left, err := e.ClaimTransmissions(ctx, a.ID, 5, time.Time{})
	must(t, err)
	eq(t, "claimable on a", len(left), 1)
	must(t, e.FailTransmission(ctx, left[0].ID, 0x0B, "invalid destination", time.Now()))
	q, err = e.BatchQueue(ctx, b1.ID)
	must(t, err)
	eq(t, "earliest retry", q[0].NextAttempt.Equal(retryAt), true)
	q, err = e.BatchQueue(ctx, b2.ID)
	must(t, err)
	eq(t, "other batch", len(q), 1)
	eq(t, "other batch's count", q[0].Count, 2)
	_, err = e.BatchQueue(ctx, b3.ID+1000)
	wantErr(t, err, store.ErrNotFound)

	sum := func(hs []store.HourCount) map[store.TransmissionState]int {
		t.Helper()
		out := map[store.TransmissionState]int{}
		for _, h := range hs {
			if !h.Start.Equal(h.Start.Truncate(time.Hour)) || h.Start.Before(from.Truncate(time.Hour)) || h.Start.After(time.Now()) {
				t.Fatalf("hour %v: not the start of an hour of this test", h.Start)
			}
			out[h.State] += h.Count
		}
		return out
	}
	hs, err := e.TransmissionHours(ctx, store.HourQuery{From: from})
	must(t, err)
	eqStates(t, "every client's hours", sum(hs), map[store.TransmissionState]int{store.TxQueued: 7, store.TxSent: 1, store.TxFailed: 1})
	hs, err = e.TransmissionHours(ctx, store.HourQuery{ClientID: acme.ID, From: from, To: time.Now().Add(time.Minute)})
	must(t, err)
	eqStates(t, "one client's hours", sum(hs), map[store.TransmissionState]int{store.TxQueued: 5, store.TxSent: 1, store.TxFailed: 1})
	hs, err = e.TransmissionHours(ctx, store.HourQuery{From: time.Now().Add(time.Hour)})
	must(t, err)
	eq(t, "nothing later", len(hs), 0)
	hs, err = e.TransmissionHours(ctx, store.HourQuery{From: from.Add(-2 * time.Hour), To: from})
	must(t, err)
	eq(t, "nothing earlier", len(hs), 0)
}

// An operator is an SMPP one by default, or a modem with its settings;
// both read back as stored, and a modem needs its device.
func testModemOperators(t *testing.T, e *env) {
	ctx := e.ctx(t)
	smpp := newOperator(t, e, "smsc")
	eq(t, "default kind", smpp.Kind, store.KindSMPP)
	m := store.Operator{Name: "stick", Kind: store.KindModem, Enabled: true, TPS: 1, Prefixes: []string{"58416"},
		Modem: store.ModemSettings{Device: "/dev/ttyUSB0", Baud: 115200, PIN: "1234", SMSC: "+584160000001"}}
	must(t, e.CreateOperator(ctx, &m))
	got, err := e.Operator(ctx, m.ID)
	must(t, err)
	eq(t, "kind", got.Kind, store.KindModem)
	eq(t, "settings", got.Modem, m.Modem)
	got.Modem.Device = "/dev/ttyUSB1"
	must(t, e.UpdateOperator(ctx, &got))
	again, err := e.Operator(ctx, m.ID)
	must(t, err)
	eq(t, "changed device", again.Modem.Device, "/dev/ttyUSB1")
	s, err := e.Operator(ctx, smpp.ID)
	must(t, err)
	eq(t, "smpp read back", s.Kind, store.KindSMPP)
	for _, bad := range []store.Operator{
		{Name: "b1", Kind: store.KindModem},
		{Name: "b2", Kind: store.KindModem, Modem: store.ModemSettings{Device: "/dev/x", PIN: "12ab"}},
		{Name: "b3", Kind: store.KindModem, Modem: store.ModemSettings{Device: "/dev/x", SMSC: "call me"}},
		{Name: "b4", Kind: store.KindModem, Modem: store.ModemSettings{Device: "/dev/x", Baud: -1}},
		{Name: "b5", Kind: "pigeon"},
	} {
		wantErr(t, e.CreateOperator(ctx, &bad), store.ErrInvalid)
	}
}
