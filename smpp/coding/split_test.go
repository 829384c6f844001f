package coding

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		s, p := Capacity(c.dc, c.m)
		assert.Equal(t, c.single, s, "Capacity(%s, %d) single", c.dc, c.m)
		assert.Equal(t, c.part, p, "Capacity(%s, %d) part", c.dc, c.m)
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
		require.NoError(t, err)
		var d pdu.DeliverSM
		require.NoError(t, d.Decode(b))
		if len(segs) == 1 {
			data := d.ShortMessage
			if payload, ok := d.TLVs.MessagePayload(); ok {
				data = payload
			}
			if packed {
				data = Unpack(nil, data, 0)
			}
			s, err := Decode(data, DataCoding(d.DataCoding))
			require.NoError(t, err)
			return s
		}
		part, ok, err := PartFromDeliverSM(&d, "op/584121234567/1234")
		require.NoError(t, err, "part %d", i)
		require.True(t, ok, "part %d is not a part", i)
		if packed {
			fill := 0
			if d.ESMClass&ESMClassUDHI != 0 {
				fill = (7 - (len(d.ShortMessage)-len(part.Data))*8%7) % 7
			}
			part.Data = Unpack(nil, part.Data, fill)
		}
		msg, done, err := r.Add(part)
		require.NoError(t, err)
		require.Equal(t, i == 0, done, "done after part %d", i)
		if done {
			s, err := Decode(msg, dc)
			require.NoError(t, err)
			return s
		}
	}
	require.FailNow(t, "never completed")
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
				require.NoError(t, err, name)
				if packed && (m == Payload || dc != GSM7) {
					packed = false // payload and UCS-2 are never packed
				}
				for i, s := range segs {
					if !(dc == GSM7 && !packed) {
						require.LessOrEqual(t, len(s.ShortMessage), 140, "%s: segment %d octets", name, i)
					}
					require.LessOrEqual(t, len(s.ShortMessage), pdu.MaxShortMessage, "%s: segment %d exceeds sm_length", name, i)
				}
				require.Equal(t, text, reassemble(t, dc, segs, packed), "%s: round trip", name)
			}
		}
	}
}

func TestSplitBoundaries(t *testing.T) {
	// 152 plain characters then '€': the escape would be the 153rd septet.
	text := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
	_, segs, err := Split(text, SplitOptions{})
	require.NoError(t, err)
	first := segs[0].ShortMessage[6:]
	require.Equal(t, 152, len(first), "septets in the first part")
	assert.NotEqual(t, byte(gsmEscape), first[len(first)-1], "first part ends with an escape")
	// 66 units then an emoji: the high surrogate would be the 67th unit.
	text = strings.Repeat("ó", 66) + "😀" + "x"
	dc, segs, err := Split(text, SplitOptions{})
	require.NoError(t, err)
	require.Equal(t, UCS2, dc)
	assert.Equal(t, 132, len(segs[0].ShortMessage[6:]), "octets in the first UCS-2 part")
	// A message of exactly 160 septets is not split; 161 is.
	_, segs, _ = Split(strings.Repeat("x", 160), SplitOptions{})
	if assert.Equal(t, 1, len(segs), "160 septets split") {
		assert.False(t, segs[0].UDHI, "160 septets split")
	}
	_, segs, _ = Split(strings.Repeat("x", 161), SplitOptions{})
	assert.Equal(t, 2, len(segs), "161 septets not split in 2")
	_, _, err = Split(strings.Repeat("x", 153*3+1), SplitOptions{MaxParts: 3})
	assert.ErrorIs(t, err, ErrTooManyParts, "MaxParts")
	_, _, err = Split("ó", SplitOptions{Fixed: true, Coding: GSM7})
	assert.Error(t, err, "unrepresentable text accepted with a fixed coding")
	_, segs, err = Split("ó", SplitOptions{Fixed: true, Coding: GSM7, Replace: '?'})
	if assert.NoError(t, err, "replacement") {
		assert.Equal(t, "?", string(segs[0].ShortMessage), "replacement")
	}
	// UDH8 keeps the low octet of the reference; UDH16 all of it.
	_, segs, _ = Split(strings.Repeat("x", 200), SplitOptions{Ref: 0x1234})
	ies, _, _ := ParseUDH(segs[0].ShortMessage)
	assert.Equal(t, byte(IEIConcat8), ies[0].ID, "UDH8 header %v", ies)
	assert.Equal(t, byte(0x34), ies[0].Data[0], "UDH8 header %v", ies)
	_, segs, _ = Split(strings.Repeat("x", 200), SplitOptions{Ref: 0x1234, Method: UDH16})
	c, ok := ConcatFromUDH(mustIEs(t, segs[1].ShortMessage))
	require.True(t, ok, "UDH16 %+v", c)
	assert.Equal(t, Concat{Ref: 0x1234, Total: 2, Seq: 2}, c, "UDH16")
}

func mustIEs(t *testing.T, b []byte) []IE {
	t.Helper()
	ies, _, err := ParseUDH(b)
	require.NoError(t, err)
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
	_, done, _ := add(part("a", 1, 3, 1, "A"))
	assert.False(t, done, "duplicate completed")
	m, done, _ := add(part("a", 1, 3, 2, "B"))
	assert.True(t, done, "not completed")
	assert.Equal(t, "ABC", m)
	// The same reference from another sender is another message.
	add(part("a", 2, 2, 1, "x"))
	add(part("b", 2, 2, 1, "y"))
	m, _, _ = add(part("b", 2, 2, 2, "Y"))
	assert.Equal(t, "yY", m, "keys mixed")
	// Timeout: the pending message expires.
	now = now.Add(2 * time.Minute)
	assert.Equal(t, 1, r.Expire(), "expired")
	_, done, _ = add(part("a", 2, 2, 2, "X"))
	assert.False(t, done, "completed with an expired part")
	// MaxPending: a third message evicts the oldest.
	add(part("c", 1, 2, 1, "1"))
	add(part("d", 1, 2, 1, "1"))
	s := r.Stats()
	assert.Equal(t, 2, s.Pending, "stats %+v", s)
	assert.Equal(t, 1, s.Evicted, "stats %+v", s)
	assert.Equal(t, 1, s.Duplicates, "stats %+v", s)
	assert.Equal(t, 1, s.Expired, "stats %+v", s)
	assert.Equal(t, 2, s.Completed, "stats %+v", s)
	// MaxBytes.
	_, _, err := add(part("e", 1, 2, 1, strings.Repeat("z", 101)))
	assert.ErrorIs(t, err, ErrTooLarge, "oversized part")
	_, _, err = add(part("e", 1, 2, 3, "z"))
	assert.ErrorIs(t, err, ErrBadPart, "seq beyond total")
	_, _, err = add(part("e", 1, 0, 0, "z"))
	assert.ErrorIs(t, err, ErrBadPart, "zero total")
	assert.LessOrEqual(t, r.Stats().Bytes, 100, "octets held")
	// A reference reused with another total restarts the message.
	add(part("f", 9, 3, 1, "old"))
	m, done, _ = add(part("f", 9, 2, 1, "n"))
	assert.False(t, done, "reuse")
	assert.Equal(t, "", m, "reuse")
	m, done, _ = add(part("f", 9, 2, 2, "ew"))
	assert.True(t, done, "reused reference not completed")
	assert.Equal(t, "new", m, "reused reference")
}

func TestParseUDH(t *testing.T) {
	ies, payload, err := ParseUDH([]byte{5, 0, 3, 7, 2, 1, 'h', 'i'})
	require.NoError(t, err)
	require.Len(t, ies, 1)
	assert.Equal(t, "hi", string(payload))
	c, ok := ConcatFromUDH(ies)
	require.True(t, ok, "no concatenation element: %+v", c)
	assert.Equal(t, Concat{Ref: 7, Total: 2, Seq: 1}, c)
	for _, bad := range [][]byte{{}, {9, 0, 3}, {3, 0, 3, 1}, {2, 0}} {
		_, _, err := ParseUDH(bad)
		assert.ErrorIs(t, err, ErrUDH, "ParseUDH(%x)", bad)
	}
	_, ok = ConcatFromUDH([]IE{{ID: IEIConcat8, Data: []byte{1, 2, 3}}})
	assert.False(t, ok, "seq beyond total accepted")
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
		require.Equal(t, len(b), n+len(payload), "octets covered by the elements and payload")
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
			if done {
				require.LessOrEqual(t, len(msg), 64*6, "message larger than what could be held")
			}
			_ = err
			s := r.Stats()
			require.LessOrEqual(t, s.Pending, 4, "limits broken: %+v", s)
			require.LessOrEqual(t, s.Bytes, 64, "limits broken: %+v", s)
			require.GreaterOrEqual(t, s.Bytes, 0, "limits broken: %+v", s)
		}
	})
}
