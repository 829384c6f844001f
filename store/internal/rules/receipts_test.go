package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/switchboard-go/switchboard/store"
)

func TestFitsSubmitDate(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	assert.True(t, FitsSubmitDate(at, time.Time{}, store.ReceiptDateTolerance), "a receipt naming no date fits any submission")
	assert.False(t, FitsSubmitDate(time.Time{}, at, store.ReceiptDateTolerance), "a submission without a time fits no date")
	tol := store.ReceiptDateTolerance
	assert.True(t, FitsSubmitDate(at, at.Add(tol), tol))
	assert.True(t, FitsSubmitDate(at, at.Add(-tol), tol))
	assert.False(t, FitsSubmitDate(at, at.Add(tol+time.Second), tol))
	assert.False(t, FitsSubmitDate(at, at.Add(-tol-time.Second), tol))
	assert.False(t, FitsSubmitDate(at, at.Add(11*time.Second), 10*time.Second))
}

// The set path takes only receipts whose id is alone in the group and
// whose chosen submission waits in one segment; the choice is the most
// recent whose time fits.
func TestPlanReceipts(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	old := now.Add(-72 * time.Hour)
	k := func(id string) ReceiptKey { return ReceiptKey{1, id} }
	cands := map[ReceiptKey][]ReceiptCandidate{
		k("one"):   {{Order: 1, TransmissionID: 10, Segments: 1, SubmittedAt: now}},
		k("two"):   {{Order: 2, TransmissionID: 11, Segments: 2, SubmittedAt: now}},
		k("done"):  {{Order: 3, TransmissionID: 12, Segments: 1, State: store.TxDelivered, SubmittedAt: now}},
		k("reuse"): {{Order: 4, TransmissionID: 13, Segments: 1, SubmittedAt: old}, {Order: 9, TransmissionID: 14, Segments: 1, SubmittedAt: now}},
		k("twice"): {{Order: 5, TransmissionID: 15, Segments: 1, SubmittedAt: now}},
	}
	r := func(id string, sub time.Time) store.DeliveryReceipt {
		return store.DeliveryReceipt{OperatorID: 1, MessageID: id, State: store.TxDelivered, SubmittedAt: sub}
	}
	rs := []store.DeliveryReceipt{
		r("one", time.Time{}),  // 0: set
		r("two", time.Time{}),  // 1: parts: slow
		r("done", time.Time{}), // 2: has its receipt: slow
		r("reuse", old),        // 3: the older one, by its date: set
		r("twice", now),        // 4, 5: twice in the group: slow
		r("twice", now),
		r("none", time.Time{}), // 6: nothing recorded: slow
	}
	set, slow := PlanReceipts(rs, cands)
	assert.Equal(t, []int{1, 2, 4, 5, 6}, slow)
	if assert.Len(t, set, 2) {
		assert.Equal(t, 0, set[0].Receipt)
		assert.Equal(t, int64(10), set[0].Candidate.TransmissionID)
		assert.Equal(t, 3, set[1].Receipt)
		assert.Equal(t, int64(13), set[1].Candidate.TransmissionID, "the submission whose time fits, not the newest")
	}
	rs[3].SubmittedAt = time.Time{}
	set, _ = PlanReceipts(rs, cands)
	assert.Equal(t, int64(14), set[1].Candidate.TransmissionID, "without a date, the most recent")

	state, code := SettledAlone(store.DeliveryReceipt{State: store.TxDelivered, ErrorCode: 3})
	assert.Equal(t, store.TxDelivered, state)
	assert.Zero(t, code, "a delivered message keeps no error code")
	state, code = SettledAlone(store.DeliveryReceipt{State: store.TxUndeliverable, ErrorCode: 3})
	assert.Equal(t, store.TxUndeliverable, state)
	assert.Equal(t, 3, code)
}

func TestMessageID(t *testing.T) {
	assert.Equal(t, "abc-123", MessageID("abc-123"))
	assert.Equal(t, `a"b\c é`, MessageID(`a"b\c é`), "valid UTF-8 is kept as given")
	assert.Equal(t, `\xff\xfeok`, MessageID("\xff\xfeok"))
	assert.Equal(t, `a\x00b`, MessageID("a\x00b"))
	assert.Equal(t, `é\xc3`, MessageID("é\xc3"))
	r := store.SubmitResult{MessageIDs: []string{"ok", "\xff"}}
	got := SubmitIDs(r)
	assert.Equal(t, []string{"ok", `\xff`}, got.MessageIDs)
	assert.Equal(t, "\xff", r.MessageIDs[1], "the caller's slice is not changed")
}
