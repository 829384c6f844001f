package coding

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// TestParseRealReceipts reads receipts as SMSCs and other SMPP libraries
// write them. Sources: the cloudhopper-smpp test suite
// (DeliveryReceiptTest, Apache-2.0: the SMSC simulator's "Text:", a real
// receipt whose text is "@$#!%&/:", dates with seconds, fields out of
// order with text before stat, 14-digit dates without sub and dlvrd, an
// err that is not a number), the text Kannel's SMPP box writes, receipts
// of SMSCs that spell keys out or use underscores, and our own issue
// reports.
func TestParseRealReceipts(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, c := range []struct {
		name, in             string
		id, stat, err, text  string
		sub, dlvrd           int
		submitDate, doneDate time.Time
	}{
		{name: "appendix B",
			in: "id:0123456789 sub:002 dlvrd:001 submit date:1005232039 done date:1005242339 stat:DELIVRD err:012 text:This is a sample mes",
			id: "0123456789", stat: "DELIVRD", err: "012", text: "This is a sample mes", sub: 2, dlvrd: 1,
			submitDate: utc(2010, 5, 23, 20, 39, 0), doneDate: utc(2010, 5, 24, 23, 39, 0)},
		{name: "simulator capital Text",
			in: "id:4 sub:001 dlvrd:001 submit date:1006020051 done date:1006020051 stat:DELIVRD err:000 Text:Hello",
			id: "4", stat: "DELIVRD", err: "000", text: "Hello", sub: 1, dlvrd: 1,
			submitDate: utc(2010, 6, 2, 0, 51, 0), doneDate: utc(2010, 6, 2, 0, 51, 0)},
		{name: "text of punctuation and a colon",
			in: "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:@$#!%&/:",
			id: "0059113978", stat: "DELIVRD", err: "000", text: "@$#!%&/:", sub: 1, dlvrd: 1,
			submitDate: utc(2010, 2, 10, 17, 30, 0), doneDate: utc(2010, 2, 10, 17, 31, 0)},
		{name: "dates with seconds, uuid id, empty text",
			in: "id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 sub:001 dlvrd:001 submit date:110206193041 done date:110206193110 stat:DELIVRD err:000 text:",
			id: "74e02ee1-4e2f-4a6e-a78b-4b247d756a22", stat: "DELIVRD", err: "000", sub: 1, dlvrd: 1,
			submitDate: utc(2011, 2, 6, 19, 30, 41), doneDate: utc(2011, 2, 6, 19, 31, 10)},
		{name: "out of order, text before stat",
			in: "sub:001 id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 err:000 dlvrd:001 done date:110206193110 submit date:110206193041 text: stat:DELIVRD",
			id: "74e02ee1-4e2f-4a6e-a78b-4b247d756a22", stat: "DELIVRD", err: "000", sub: 1, dlvrd: 1,
			submitDate: utc(2011, 2, 6, 19, 30, 41), doneDate: utc(2011, 2, 6, 19, 31, 10)},
		{name: "no sub or dlvrd, 14-digit dates",
			in: "id:2E179B310EDE971B2760C72B7F026E1B submit date:20110314181534 done date:20110314181741 stat:DELIVRD err:0",
			id: "2E179B310EDE971B2760C72B7F026E1B", stat: "DELIVRD", err: "0", sub: -1, dlvrd: -1,
			submitDate: utc(2011, 3, 14, 18, 15, 34), doneDate: utc(2011, 3, 14, 18, 17, 41)},
		{name: "err not a number",
			in: "id:0123456789 sub:002 dlvrd:001 submit date:1005232039 done date:1005242339 stat:DELIVRD err:21b text:This is a sample mes",
			id: "0123456789", stat: "DELIVRD", err: "21b", text: "This is a sample mes", sub: 2, dlvrd: 1,
			submitDate: utc(2010, 5, 23, 20, 39, 0), doneDate: utc(2010, 5, 24, 23, 39, 0)},
		{name: "zero dates",
			in: "id:0000000001 sub:000 dlvrd:000 submit date:0000000000 done date:0000000000 stat:ENROUTE err:000 text:",
			id: "0000000001", stat: "ENROUTE", err: "000", sub: 0, dlvrd: 0},
		{name: "text then a field seen already stays text",
			in: "id:abc sub:001 dlvrd:000 submit date:2611221030 done date:2611221031 stat:UNDELIV err:001 text:id:5 stat:DELIVRD",
			id: "abc", stat: "UNDELIV", err: "001", text: "id:5 stat:DELIVRD", sub: 1, dlvrd: 0,
			submitDate: utc(2026, 11, 22, 10, 30, 0), doneDate: utc(2026, 11, 22, 10, 31, 0)},
		{name: "text first, then stat and err",
			in: "id:abc text:hello stat:UNDELIV err:001",
			id: "abc", stat: "UNDELIV", err: "001", text: "hello", sub: -1, dlvrd: -1},
		{name: "state instead of stat",
			in: "id:abc state:DELIVRD", id: "abc", stat: "DELIVRD", sub: -1, dlvrd: -1},
		{name: "underscores, status, error, msgid",
			in: "msgid:77 submit_date:2611221030 done_date:2611221031 status:REJECTD error:0x0B",
			id: "77", stat: "REJECTD", err: "0x0B", sub: -1, dlvrd: -1,
			submitDate: utc(2026, 11, 22, 10, 30, 0), doneDate: utc(2026, 11, 22, 10, 31, 0)},
		{name: "message_id and spelled-out state",
			in: "message_id:9f-1 stat:UNDELIVERABLE err:034", id: "9f-1", stat: "UNDELIV", err: "034", sub: -1, dlvrd: -1},
		{name: "unknown key ends a value",
			in: "id:55 smsc:acme-1 stat:EXPIRED err:000 text:x", id: "55", stat: "EXPIRED", err: "000", text: "x", sub: -1, dlvrd: -1},
		{name: "spaces around colons, tabs and CRLF",
			in: "ID : 12\tSTAT : Delivrd\r\nERR : 000\r\n", id: "12", stat: "DELIVRD", err: "000", sub: -1, dlvrd: -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ok := ParseReceipt(c.in, nil)
			assert.True(t, ok)
			assert.Equal(t, c.id, r.ID, "id")
			assert.Equal(t, c.stat, r.Stat, "stat")
			assert.Equal(t, StatState(c.stat), r.State, "state")
			assert.Equal(t, c.err, r.Err, "err")
			assert.Equal(t, c.text, r.Text, "text")
			assert.Equal(t, c.sub, r.Submitted, "sub")
			assert.Equal(t, c.dlvrd, r.Delivered, "dlvrd")
			assert.True(t, c.submitDate.Equal(r.SubmitDate), "submit date %v", r.SubmitDate)
			assert.True(t, c.doneDate.Equal(r.DoneDate), "done date %v", r.DoneDate)
		})
	}
	// A receipt's final state decides whether its message is done.
	for stat, final := range map[string]bool{"DELIVRD": true, "UNDELIV": true, "EXPIRED": true, "REJECTD": true,
		"DELETED": true, "UNKNOWN": true, "SKIPPED": true, "ENROUTE": false, "ACCEPTD": false} {
		r, _ := ParseReceipt("id:1 stat:"+stat, nil)
		assert.Equal(t, final, r.Final(), stat)
		assert.NotEqual(t, pdu.StateScheduled, r.State, stat)
	}
}
