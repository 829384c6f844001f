package coding

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

func TestCapacity(t *testing.T) {
	cases := []struct {
		dc           DataCoding
		m            Method
		single, part int
	}{
		{GSM7, UDH8, 160, 153}, {GSM7, UDH16, 160, 152}, {GSM7, SAR, 160, 153},
		{UCS2, UDH8, 70, 67}, {UCS2, UDH16, 70, 66}, {Latin1, UDH8, 140, 134}, {Binary, UDH16, 140, 133},
	}
	for _, c := range cases {
		if s, p := Capacity(c.dc, c.m); s != c.single || p != c.part {
			t.Errorf("Capacity(%s, %d) = %d, %d; want %d, %d", c.dc, c.m, s, p, c.single, c.part)
		}
	}
}

// reassemble sends segments through real deliver_sm PDUs (encoded and
// decoded) and a Reassembler, in reverse order, and decodes the text.
func reassemble(t *testing.T, dc DataCoding, segs []Segment, packed bool) string {
	t.Helper()
	var r Reassembler
	for i := len(segs) - 1; i >= 0; i-- {
		var sm pdu.SubmitSM
		segs[i].Apply(&sm, dc)
		b, err := (*pdu.DeliverSM)(&sm).Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d pdu.DeliverSM
		if err := d.Decode(b); err != nil {
			t.Fatal(err)
		}
		if len(segs) == 1 {
			data := d.ShortMessage
			if payload, ok := d.TLVs.MessagePayload(); ok {
				data = payload
			}
			if packed {
				data = Unpack(nil, data, 0)
			}
			s, err := Decode(data, DataCoding(d.DataCoding))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		part, ok, err := PartFromDeliverSM(&d, "op/584121234567/1234")
		if err != nil || !ok {
			t.Fatalf("part %d: %v %v", i, ok, err)
		}
		if packed {
			fill := 0
			if d.ESMClass&ESMClassUDHI != 0 {
				fill = (7 - (len(d.ShortMessage)-len(part.Data))*8%7) % 7
			}
			part.Data = Unpack(nil, part.Data, fill)
		}
		msg, done, err := r.Add(part)
		if err != nil {
			t.Fatal(err)
		}
		if done != (i == 0) {
			t.Fatalf("done=%v after part %d", done, i)
		}
		if done {
			s, err := Decode(msg, dc)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatal("never completed")
	return ""
}

func TestSplitRoundTrip(t *testing.T) {
	gsm := strings.Repeat("Su pago de {100} € fue recibido. ", 12) // extension characters throughout
	ucs := strings.Repeat("Su envío llegó 😀 a tiempo. ", 10)       // UCS-2 with surrogate pairs
	for _, text := range []string{"short", gsm, ucs} {
		for _, m := range []Method{UDH8, UDH16, SAR, Payload} {
			for _, packed := range []bool{false, true} {
				name := fmt.Sprintf("%d chars/method %d/packed %v", len(text), m, packed)
				dc, segs, err := Split(text, SplitOptions{Method: m, Ref: 0x1234, Packed: packed})
				if err != nil {
					t.Fatal(name, err)
				}
				if packed && (m == Payload || dc != GSM7) {
					packed = false // payload and UCS-2 are never packed
				}
				for i, s := range segs {
					if len(s.ShortMessage) > 140 && !(dc == GSM7 && !packed) {
						t.Fatalf("%s: segment %d has %d octets", name, i, len(s.ShortMessage))
					}
					if len(s.ShortMessage) > pdu.MaxShortMessage {
						t.Fatalf("%s: segment %d exceeds sm_length", name, i)
					}
				}
				if got := reassemble(t, dc, segs, packed); got != text {
					t.Fatalf("%s: round trip gave %q", name, got)
				}
			}
		}
	}
}

func TestSplitBoundaries(t *testing.T) {
	// 152 plain characters then '€': the escape would be the 153rd septet.
	text := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
	_, segs, err := Split(text, SplitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := segs[0].ShortMessage[6:]
	if len(first) != 152 || first[len(first)-1] == gsmEscape {
		t.Fatalf("first part has %d septets ending %x", len(first), first[len(first)-1])
	}
	// 66 units then an emoji: the high surrogate would be the 67th unit.
	text = strings.Repeat("ó", 66) + "😀" + "x"
	dc, segs, err := Split(text, SplitOptions{})
	if err != nil || dc != UCS2 {
		t.Fatal(err, dc)
	}
	if body := segs[0].ShortMessage[6:]; len(body) != 132 {
		t.Fatalf("first UCS-2 part has %d octets, want 132", len(body))
	}
	// A message of exactly 160 septets is not split; 161 is.
	if _, segs, _ := Split(strings.Repeat("x", 160), SplitOptions{}); len(segs) != 1 || segs[0].UDHI {
		t.Fatal("160 septets split")
	}
	if _, segs, _ := Split(strings.Repeat("x", 161), SplitOptions{}); len(segs) != 2 {
		t.Fatal("161 septets not split in 2")
	}
	if _, _, err := Split(strings.Repeat("x", 153*3+1), SplitOptions{MaxParts: 3}); !errors.Is(err, ErrTooManyParts) {
		t.Fatalf("MaxParts: %v", err)
	}
	if _, _, err := Split("ó", SplitOptions{Fixed: true, Coding: GSM7}); err == nil {
		t.Fatal("unrepresentable text accepted with a fixed coding")
	}
	if _, segs, err := Split("ó", SplitOptions{Fixed: true, Coding: GSM7, Replace: '?'}); err != nil || string(segs[0].ShortMessage) != "?" {
		t.Fatal("replacement")
	}
	// UDH8 keeps the low octet of the reference; UDH16 all of it.
	_, segs, _ = Split(strings.Repeat("x", 200), SplitOptions{Ref: 0x1234})
	if ies, _, _ := ParseUDH(segs[0].ShortMessage); ies[0].ID != IEIConcat8 || ies[0].Data[0] != 0x34 {
		t.Fatalf("UDH8 header %v", ies)
	}
	_, segs, _ = Split(strings.Repeat("x", 200), SplitOptions{Ref: 0x1234, Method: UDH16})
	if c, ok := ConcatFromUDH(mustIEs(t, segs[1].ShortMessage)); !ok || c.Ref != 0x1234 || c.Seq != 2 || c.Total != 2 {
		t.Fatalf("UDH16 %+v", c)
	}
}

func mustIEs(t *testing.T, b []byte) []IE {
	ies, _, err := ParseUDH(b)
	if err != nil {
		t.Fatal(err)
	}
	return ies
}

func TestReassembler(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r := Reassembler{Timeout: time.Minute, MaxPending: 2, MaxBytes: 100, Now: func() time.Time { return now }}
	part := func(key string, ref uint16, total, seq uint8, data string) Part {
		return Part{Key: key, Concat: Concat{Ref: ref, Total: total, Seq: seq}, Data: []byte(data)}
	}
	add := func(p Part) (string, bool, error) {
		m, done, err := r.Add(p)
		return string(m), done, err
	}
	// Out of order, with a duplicate.
	add(part("a", 1, 3, 3, "C"))
	add(part("a", 1, 3, 1, "A"))
	if _, done, _ := add(part("a", 1, 3, 1, "A")); done {
		t.Fatal("duplicate completed")
	}
	if m, done, _ := add(part("a", 1, 3, 2, "B")); !done || m != "ABC" {
		t.Fatalf("got %q %v", m, done)
	}
	// The same reference from another sender is another message.
	add(part("a", 2, 2, 1, "x"))
	add(part("b", 2, 2, 1, "y"))
	if m, _, _ := add(part("b", 2, 2, 2, "Y")); m != "yY" {
		t.Fatalf("keys mixed: %q", m)
	}
	// Timeout: the pending message expires.
	now = now.Add(2 * time.Minute)
	if n := r.Expire(); n != 1 {
		t.Fatalf("expired %d", n)
	}
	if _, done, _ := add(part("a", 2, 2, 2, "X")); done {
		t.Fatal("completed with an expired part")
	}
	// MaxPending: a third message evicts the oldest.
	add(part("c", 1, 2, 1, "1"))
	add(part("d", 1, 2, 1, "1"))
	s := r.Stats()
	if s.Pending != 2 || s.Evicted != 1 || s.Duplicates != 1 || s.Expired != 1 || s.Completed != 2 {
		t.Fatalf("stats %+v", s)
	}
	// MaxBytes.
	if _, _, err := add(part("e", 1, 2, 1, strings.Repeat("z", 101))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized part: %v", err)
	}
	if _, _, err := add(part("e", 1, 2, 3, "z")); !errors.Is(err, ErrBadPart) {
		t.Fatalf("seq beyond total: %v", err)
	}
	if _, _, err := add(part("e", 1, 0, 0, "z")); !errors.Is(err, ErrBadPart) {
		t.Fatalf("zero total: %v", err)
	}
	if r.Stats().Bytes > 100 {
		t.Fatalf("holds %d octets", r.Stats().Bytes)
	}
	// A reference reused with another total restarts the message.
	add(part("f", 9, 3, 1, "old"))
	if m, done, _ := add(part("f", 9, 2, 1, "n")); done || m != "" {
		t.Fatal("reuse")
	}
	if m, done, _ := add(part("f", 9, 2, 2, "ew")); !done || m != "new" {
		t.Fatalf("reused reference: %q", m)
	}
}

func TestParseUDH(t *testing.T) {
	ies, payload, err := ParseUDH([]byte{5, 0, 3, 7, 2, 1, 'h', 'i'})
	if err != nil || len(ies) != 1 || string(payload) != "hi" {
		t.Fatal(ies, payload, err)
	}
	if c, ok := ConcatFromUDH(ies); !ok || c != (Concat{Ref: 7, Total: 2, Seq: 1}) {
		t.Fatal(c)
	}
	for _, bad := range [][]byte{{}, {9, 0, 3}, {3, 0, 3, 1}, {2, 0}} {
		if _, _, err := ParseUDH(bad); !errors.Is(err, ErrUDH) {
			t.Errorf("ParseUDH(%x) = %v", bad, err)
		}
	}
	if _, ok := ConcatFromUDH([]IE{{ID: IEIConcat8, Data: []byte{1, 2, 3}}}); ok {
		t.Fatal("seq beyond total accepted")
	}
}

func FuzzParseUDH(f *testing.F) {
	f.Add([]byte{5, 0, 3, 7, 2, 1, 'h', 'i'})
	f.Add([]byte{6, 8, 4, 1, 2, 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ies, payload, err := ParseUDH(b)
		if err != nil {
			return
		}
		n := 1
		for _, ie := range ies {
			n += 2 + len(ie.Data)
		}
		if n+len(payload) != len(b) {
			t.Fatalf("elements and payload cover %d of %d octets", n+len(payload), len(b))
		}
		ConcatFromUDH(ies)
	})
}

// FuzzReassembler feeds arbitrary parts: limits hold and nothing panics.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{1, 3, 1, 'a', 1, 3, 3, 'c', 1, 3, 2, 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := Reassembler{MaxPending: 4, MaxBytes: 64}
		for len(b) >= 4 {
			p := Part{Key: string(rune('a' + b[0]%3)), Concat: Concat{Ref: uint16(b[0]), Total: b[1] % 6, Seq: b[2] % 7}, Data: b[3:4]}
			b = b[4:]
			msg, done, err := r.Add(p)
			if done && len(msg) > 64*6 {
				t.Fatal("message larger than what could be held")
			}
			_ = err
			s := r.Stats()
			if s.Pending > 4 || s.Bytes > 64 || s.Bytes < 0 {
				t.Fatalf("limits broken: %+v", s)
			}
		}
	})
}
