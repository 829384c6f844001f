package gateway

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// Every receipt coding calls final ends its message here too: SKIPPED
// and states this gateway does not know included (before, SKIPPED was
// acknowledged to the SMSC and nothing was recorded).
func TestEveryFinalReceiptIsRecordedFinal(t *testing.T) {
	for _, stat := range []string{"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE",
		"SKIPPED", "SCHEDULED", "WHATEVER"} {
		r, ok := coding.ParseReceipt("id:1 sub:001 dlvrd:000 submit date:2612041030 done date:2612041031 stat:"+stat+" err:000 text:x", nil)
		if !assert.True(t, ok, stat) {
			continue
		}
		dr := receiptFrom(1, "1", &r)
		assert.Equal(t, r.Final(), dr.State.Final(), "%s: coding says final %v, the gateway records %s", stat, r.Final(), dr.State)
	}
	dr := receiptFrom(1, "1", &coding.Receipt{State: pdu.StateSkipped, Stat: "SKIPPED", DoneDate: time.Now()})
	assert.Equal(t, store.TxUndeliverable, dr.State)
}

// The receipt's submit date goes to the store, which keeps a receipt off
// an older waiting message whose id the SMSC reused; a date far from
// now (an SMSC writing ddmmyy, read as yymmdd) is ignored.
func TestReceiptCarriesItsSubmitDate(t *testing.T) {
	sub := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	r, ok := coding.ParseReceipt("id:1 sub:001 dlvrd:001 submit date:"+sub.Format("0601021504")+
		" done date:"+sub.Format("0601021504")+" stat:DELIVRD err:000 text:x", time.Local)
	assert.True(t, ok)
	dr := receiptFrom(1, "1", &r)
	assert.True(t, dr.SubmittedAt.Equal(sub), "submit date %v, want %v", dr.SubmittedAt, sub)

	// 7 December 2026 14:30 written day first reads as 26 December 2007.
	r, ok = coding.ParseReceipt("id:1 sub:001 dlvrd:001 submit date:0712261430 done date:0712261431 stat:DELIVRD err:000 text:x", nil)
	assert.True(t, ok)
	assert.Equal(t, 2007, r.SubmitDate.Year())
	dr = receiptFrom(1, "1", &r)
	assert.True(t, dr.SubmittedAt.IsZero(), "a date years away is not used to choose the submission")
}
