package coding

import (
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

func TestParseReceipt(t *testing.T) {
	r, ok := ParseReceipt("id:0A1B2C3D sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:Hola, id:x stat:EXPIRED", nil)
	if !ok || r.ID != "0A1B2C3D" || r.Submitted != 1 || r.Delivered != 1 || r.Stat != "DELIVRD" ||
		r.State != pdu.StateDelivered || r.Err != "000" || r.Text != "Hola, id:x stat:EXPIRED" {
		t.Fatalf("standard receipt: %+v", r)
	}
	if !r.SubmitDate.Equal(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)) || !r.DoneDate.Equal(time.Date(2026, 11, 22, 10, 31, 0, 0, time.UTC)) {
		t.Fatalf("dates: %v %v", r.SubmitDate, r.DoneDate)
	}
	if !r.Final() {
		t.Fatal("DELIVRD not final")
	}

	// Other case, extra spaces, seconds, underscores, missing fields, other order.
	vet := time.FixedZone("VET", -4*3600)
	r, ok = ParseReceipt("  Stat: undeliv   ID:  12345  Submit_Date:261122103005  err:0B ", vet)
	if !ok || r.ID != "12345" || r.Stat != "UNDELIV" || r.State != pdu.StateUndeliverable || r.Err != "0B" ||
		r.Submitted != -1 || !r.SubmitDate.Equal(time.Date(2026, 11, 22, 10, 30, 5, 0, vet)) || !r.DoneDate.IsZero() {
		t.Fatalf("tolerant receipt: %+v", r)
	}
	r, _ = ParseReceipt("id:1 stat:ENROUTE", nil)
	if r.Final() {
		t.Fatal("ENROUTE final")
	}
	r, _ = ParseReceipt("id:1 stat:Delivered", nil)
	if r.Stat != "DELIVRD" {
		t.Fatalf("spelled-out state: %q", r.Stat)
	}
	if _, ok := ParseReceipt("hola, ¿cómo estás?", nil); ok {
		t.Fatal("an ordinary message parsed as a receipt")
	}
	if r, _ := ParseReceipt("identity:5 id:7", nil); r.ID != "7" {
		t.Fatalf("key inside a word matched: %+v", r)
	}
}

func TestReceiptTLVsAndBuild(t *testing.T) {
	sent := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	r := Receipt{ID: "1F4", Submitted: 1, Delivered: 0, SubmitDate: sent, DoneDate: sent.Add(time.Minute),
		Stat: "UNDELIV", Err: "011", Text: "Estimado cliente, su pago fue recibido", NetworkType: 3, NetworkError: 11}
	d := r.DeliverSM("584121234567", "ACME")
	b, err := d.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back pdu.DeliverSM
	if err := back.Decode(b); err != nil {
		t.Fatal(err)
	}
	got, ok := ReceiptFromDeliverSM(&back, nil)
	if !ok || got.ID != "1F4" || got.Stat != "UNDELIV" || got.State != pdu.StateUndeliverable ||
		got.NetworkType != 3 || got.NetworkError != 11 || got.Text != "Estimado cliente, su" ||
		!got.DoneDate.Equal(sent.Add(time.Minute)) {
		t.Fatalf("built and parsed: %+v", got)
	}

	// TLVs win over the text; a TLV-only receipt works.
	var p pdu.DeliverSM
	p.ESMClass = 0x04
	p.ShortMessage = []byte("id:999 stat:DELIVRD")
	p.TLVs.SetReceiptedMessageID("1000")
	p.TLVs.SetMessageState(pdu.StateExpired)
	got, ok = ReceiptFromDeliverSM(&p, nil)
	if !ok || got.ID != "1000" || got.State != pdu.StateExpired {
		t.Fatalf("TLV precedence: %+v", got)
	}
	p = pdu.DeliverSM{ESMClass: 0x04}
	p.TLVs.SetReceiptedMessageID("42")
	p.TLVs.SetMessageState(pdu.StateDelivered)
	if got, ok := ReceiptFromDeliverSM(&p, nil); !ok || got.Stat != "DELIVRD" {
		t.Fatalf("TLV-only receipt: %+v", got)
	}
	// An MO message is not a receipt even if it looks like one.
	mo := pdu.DeliverSM{ShortMessage: []byte("id:5 stat:DELIVRD")}
	if _, ok := ReceiptFromDeliverSM(&mo, nil); ok {
		t.Fatal("MO taken for a receipt")
	}
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
	} {
		got, ok := NormalizeID(c.id, c.f)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeID(%q, %d) = %q, %v; want %q, %v", c.id, c.f, got, ok, c.want, c.ok)
		}
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
