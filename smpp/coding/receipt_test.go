package coding

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

func TestParseReceipt(t *testing.T) {
	r, ok := ParseReceipt("id:0A1B2C3D sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:Hola, id:x stat:EXPIRED", nil)
	require.True(t, ok, "standard receipt not parsed: %+v", r)
	assert.Equal(t, "0A1B2C3D", r.ID, "standard receipt")
	assert.Equal(t, 1, r.Submitted, "standard receipt")
	assert.Equal(t, 1, r.Delivered, "standard receipt")
	assert.Equal(t, "DELIVRD", r.Stat, "standard receipt")
	assert.Equal(t, pdu.StateDelivered, r.State, "standard receipt")
	assert.Equal(t, "000", r.Err, "standard receipt")
	assert.Equal(t, "Hola, id:x stat:EXPIRED", r.Text, "standard receipt")
	assert.True(t, r.SubmitDate.Equal(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)), "submit date: %v", r.SubmitDate)
	assert.True(t, r.DoneDate.Equal(time.Date(2026, 11, 22, 10, 31, 0, 0, time.UTC)), "done date: %v", r.DoneDate)
	assert.True(t, r.Final(), "DELIVRD not final")

	// Other case, extra spaces, seconds, underscores, missing fields, other order.
	vet := time.FixedZone("VET", -4*3600)
	r, ok = ParseReceipt("  Stat: undeliv   ID:  12345  Submit_Date:261122103005  err:0B ", vet)
	require.True(t, ok, "tolerant receipt not parsed: %+v", r)
	assert.Equal(t, "12345", r.ID, "tolerant receipt")
	assert.Equal(t, "UNDELIV", r.Stat, "tolerant receipt")
	assert.Equal(t, pdu.StateUndeliverable, r.State, "tolerant receipt")
	assert.Equal(t, "0B", r.Err, "tolerant receipt")
	assert.Equal(t, -1, r.Submitted, "tolerant receipt")
	assert.True(t, r.SubmitDate.Equal(time.Date(2026, 11, 22, 10, 30, 5, 0, vet)), "tolerant receipt's submit date: %v", r.SubmitDate)
	assert.True(t, r.DoneDate.IsZero(), "tolerant receipt's done date: %v", r.DoneDate)

	r, _ = ParseReceipt("id:1 stat:ENROUTE", nil)
	assert.False(t, r.Final(), "ENROUTE final")
	r, _ = ParseReceipt("id:1 stat:Delivered", nil)
	assert.Equal(t, "DELIVRD", r.Stat, "spelled-out state")
	_, ok = ParseReceipt("hola, ¿cómo estás?", nil)
	assert.False(t, ok, "an ordinary message parsed as a receipt")
	r, _ = ParseReceipt("identity:5 id:7", nil)
	assert.Equal(t, "7", r.ID, "key inside a word matched: %+v", r)
}

func TestReceiptTLVsAndBuild(t *testing.T) {
	sent := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	r := Receipt{ID: "1F4", Submitted: 1, Delivered: 0, SubmitDate: sent, DoneDate: sent.Add(time.Minute),
		Stat: "UNDELIV", Err: "011", Text: "Estimado cliente, su pago fue recibido", NetworkType: 3, NetworkError: 11}
	d := r.DeliverSM("584121234567", "ACME")
	b, err := d.Encode(nil)
	require.NoError(t, err)
	var back pdu.DeliverSM
	require.NoError(t, back.Decode(b))
	got, ok := ReceiptFromDeliverSM(&back, nil)
	require.True(t, ok, "built receipt not parsed: %+v", got)
	assert.Equal(t, "1F4", got.ID, "built and parsed")
	assert.Equal(t, "UNDELIV", got.Stat, "built and parsed")
	assert.Equal(t, pdu.StateUndeliverable, got.State, "built and parsed")
	assert.Equal(t, uint8(3), got.NetworkType, "built and parsed")
	assert.Equal(t, uint16(11), got.NetworkError, "built and parsed")
	assert.Equal(t, "Estimado cliente, su", got.Text, "built and parsed")
	assert.True(t, got.DoneDate.Equal(sent.Add(time.Minute)), "built and parsed: done date %v", got.DoneDate)

	// TLVs win over the text; a TLV-only receipt works.
	var p pdu.DeliverSM
	p.ESMClass = 0x04
	p.ShortMessage = []byte("id:999 stat:DELIVRD")
	p.TLVs.SetReceiptedMessageID("1000")
	p.TLVs.SetMessageState(pdu.StateExpired)
	got, ok = ReceiptFromDeliverSM(&p, nil)
	require.True(t, ok, "TLV precedence: not a receipt: %+v", got)
	assert.Equal(t, "1000", got.ID, "TLV precedence")
	assert.Equal(t, pdu.StateExpired, got.State, "TLV precedence")
	p = pdu.DeliverSM{ESMClass: 0x04}
	p.TLVs.SetReceiptedMessageID("42")
	p.TLVs.SetMessageState(pdu.StateDelivered)
	got, ok = ReceiptFromDeliverSM(&p, nil)
	require.True(t, ok, "TLV-only receipt: not a receipt: %+v", got)
	assert.Equal(t, "DELIVRD", got.Stat, "TLV-only receipt")
	// An MO message is not a receipt even if it looks like one.
	mo := pdu.DeliverSM{ShortMessage: []byte("id:5 stat:DELIVRD")}
	_, ok = ReceiptFromDeliverSM(&mo, nil)
	assert.False(t, ok, "MO taken for a receipt")
}

// NormalizeID brings a message id written in either base, with or
// without leading zeros, of any width, to one form; it never guesses a
// base (hex "10" is not decimal "10").
func TestNormalizeID(t *testing.T) {
	for _, c := range []struct {
		id   string
		f    IDFormat
		want string
		ok   bool
	}{
		{"500", IDDecimal, "500", true}, {"1f4", IDHex, "500", true}, {"1F4", IDHex, "500", true},
		{"0000012345", IDDecimal, "12345", true}, {"3039", IDHex, "12345", true}, {"0A1B2C3D", IDHex, "169552957", true},
		{"10", IDHex, "16", true}, {"10", IDDecimal, "10", true},
		{"340282366920938463463374607431768211457", IDDecimal, "340282366920938463463374607431768211457", true},
		{"100000000000000000000000000000001", IDHex, "340282366920938463463374607431768211457", true},
		{"msg-7", IDDecimal, "msg-7", false}, {"msg-7", IDHex, "msg-7", false}, {"msg-7", IDText, "msg-7", true},
		{"0A", IDText, "0A", true}, {"", IDHex, "", false}, {"-5", IDDecimal, "-5", false}, {"+5", IDDecimal, "+5", false},
		{"+5", IDHex, "+5", false}, {"-0", IDHex, "-0", false}, {"0x1f", IDHex, "0x1f", false}, {"1_0", IDHex, "1_0", false},
	} {
		got, ok := NormalizeID(c.id, c.f)
		assert.Equal(t, c.want, got, "NormalizeID(%q, %d)", c.id, c.f)
		assert.Equal(t, c.ok, ok, "NormalizeID(%q, %d) ok", c.id, c.f)
	}
}

// FuzzReceipt: parsing any text never panics, and a parsed receipt's
// canonical form parses back to the same id and state.
func FuzzReceipt(f *testing.F) {
	f.Add("id:0A1B sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:x")
	f.Add("stat: UNDELIV id : 7")
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseReceipt(s, nil)
		if !ok || r.ID == "" || r.Stat == "" {
			return
		}
		if stringsContainKey(r.ID) || stringsContainKey(r.Stat) {
			return // a value that itself looks like "key:" cannot survive re-formatting
		}
		again, ok := ParseReceipt(r.String(), nil)
		if !ok || again.ID != r.ID || again.Stat != r.Stat {
			t.Fatalf("%q -> %+v -> %q -> %+v", s, r, r.String(), again)
		}
	})
}

func stringsContainKey(v string) bool {
	_, ok := ParseReceipt(" "+v, nil)
	for _, c := range v {
		if c == ' ' || c == ':' || c == '\t' || c == '\n' || c == '\r' {
			return true
		}
	}
	return ok
}

// Receipt dates come with or without seconds and with a two- or
// four-digit year; twelve digits are read as yymmddhhmmss, else as
// yyyymmddhhmm.
func TestReceiptDateForms(t *testing.T) {
	want := time.Date(2023, 1, 15, 12, 31, 0, 0, time.UTC)
	for _, d := range []string{"2301151231", "230115123100", "202301151231", "20230115123100"} {
		r, ok := ParseReceipt("id:1 sub:001 dlvrd:001 submit date:"+d+" done date:"+d+" stat:DELIVRD err:000 text:x", time.UTC)
		require.True(t, ok, d)
		assert.True(t, want.Equal(r.DoneDate), "%s read as %v", d, r.DoneDate)
		assert.True(t, want.Equal(r.SubmitDate), "%s read as %v", d, r.SubmitDate)
	}
}
