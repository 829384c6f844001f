package rules

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// ReceiptKey is what a receipt is matched by.
type ReceiptKey struct {
	OperatorID int64
	MessageID  string
}

// ReceiptCandidate is a recorded segment that a receipt may be for.
type ReceiptCandidate struct {
	Order          int64 // the order segments were recorded in: the highest is the most recent
	TransmissionID int64
	Segment        int
	State          store.TransmissionState // "" while it waits for its receipt
	Segments       int                     // of its transmission
	SubmittedAt    time.Time               // of its transmission
}

// ReceiptMatch is a receipt of a group and the segment it is for.
type ReceiptMatch struct {
	Receipt   int // index in the group
	Candidate ReceiptCandidate
}

// ReceiptKeys returns the distinct keys of rs in order.
func ReceiptKeys(rs []store.DeliveryReceipt) []ReceiptKey {
	seen := make(map[ReceiptKey]bool, len(rs))
	keys := make([]ReceiptKey, 0, len(rs))
	for _, r := range rs {
		k := ReceiptKey{r.OperatorID, r.MessageID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// PlanReceipts splits a group of receipts, given the segments recorded
// under their keys, into those a store applies by set and the others
// (slow, in order), which it applies one by one as ApplyReceipt does.
// By set go the receipts whose key appears once in the group and whose
// submission, chosen as ApplyReceipt chooses it (the most recent of those
// whose time fits the receipt's submit date), waits for its receipt in
// one segment. Their rows are touched by no other receipt of the group,
// so applying them first and the others after is applying all in order.
func PlanReceipts(rs []store.DeliveryReceipt, cands map[ReceiptKey][]ReceiptCandidate) (set []ReceiptMatch, slow []int) {
	count := make(map[ReceiptKey]int, len(rs))
	for _, r := range rs {
		count[ReceiptKey{r.OperatorID, r.MessageID}]++
	}
	for i, r := range rs {
		k := ReceiptKey{r.OperatorID, r.MessageID}
		if count[k] > 1 {
			slow = append(slow, i)
			continue
		}
		cs := cands[k]
		slices.SortFunc(cs, func(a, b ReceiptCandidate) int { return cmp.Compare(b.Order, a.Order) })
		var c *ReceiptCandidate
		for j := range cs {
			if FitsSubmitDate(cs[j].SubmittedAt, r.SubmittedAt, r.DateTolerance) {
				c = &cs[j]
				break
			}
		}
		if c == nil || c.State != "" || c.Segments != 1 {
			slow = append(slow, i)
			continue
		}
		set = append(set, ReceiptMatch{Receipt: i, Candidate: *c})
	}
	return set, slow
}

// FitsSubmitDate reports whether a submission recorded at submitted may
// be the one a receipt naming named is for, within tol (see
// store.DeliveryReceipt.DateTolerance); a receipt that names none fits
// any.
func FitsSubmitDate(submitted, named time.Time, tol time.Duration) bool {
	if named.IsZero() {
		return true
	}
	if submitted.IsZero() {
		return false
	}
	d := submitted.Sub(named)
	return d <= tol && d >= -tol
}

// SettledAlone is what a transmission of one segment becomes with the
// receipt r on it (as settling it from its segments would make it): its
// state and error code.
func SettledAlone(r store.DeliveryReceipt) (store.TransmissionState, int) {
	if r.State == store.TxDelivered {
		return r.State, 0
	}
	return r.State, r.ErrorCode
}
