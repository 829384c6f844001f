package coding

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// receive sends segments through encoded and decoded deliver_sm PDUs, in
// reverse order, and reads them as a receiver does: header elements,
// unpacking after the fill bits, reassembly, decoding with the national
// languages of the first part. It returns the text and the languages.
func receive(t testing.TB, dc DataCoding, segs []Segment, packed bool) (string, Language, Language) {
	t.Helper()
	var r Reassembler
	for i := len(segs) - 1; i >= 0; i-- {
		var sm pdu.SubmitSM
		segs[i].Apply(&sm, dc)
		b, err := (*pdu.DeliverSM)(&sm).Encode(nil)
		require.NoError(t, err)
		var d pdu.DeliverSM
		require.NoError(t, d.Decode(b))
		part, isPart, err := PartFromDeliverSM(&d, "k")
		require.NoError(t, err)
		if packed {
			ud := d.ShortMessage
			if len(ud) == 0 {
				ud, _ = d.TLVs.MessagePayload()
			}
			fill := (7 - (len(ud)-len(part.Data))*8%7) % 7
			part.Data = Unpack(nil, part.Data, fill)
		}
		require.Equal(t, len(segs) > 1, isPart, "segment %d is a part", i)
		if isPart {
			whole, done, err := r.Assemble(part)
			require.NoError(t, err)
			require.Equal(t, i == 0, done, "done after segment %d", i)
			if !done {
				continue
			}
			part = whole
		}
		var text string
		if dc.Alphabet() == GSM7 {
			text, err = DecodeGSM7Lang(part.Data, part.Locking, part.Single)
		} else {
			text, err = Decode(part.Data, dc)
		}
		require.NoError(t, err)
		return text, part.Locking, part.Single
	}
	t.Fatal("no segment")
	return "", 0, 0
}

// airBits is the size of a segment's user data on the air interface, in
// bits: header octets (and extra octets an SMSC adds to the header), fill
// bits and 7 bits a septet (GSM 7-bit, packed or not), else 8 bits an
// octet.
func airBits(t testing.TB, dc DataCoding, s Segment, packed bool, extra int) (bits, septets int) {
	t.Helper()
	ud, udh := s.ShortMessage, 0
	if s.UDHI {
		_, payload, err := ParseUDH(ud)
		require.NoError(t, err)
		udh = len(ud) - len(payload)
		ud = payload
	}
	if dc.Alphabet() != GSM7 {
		return 8 * (len(s.ShortMessage) + extra), 0
	}
	septets = len(ud)
	if packed {
		septets = len(Unpack(nil, ud, (7-udh*8%7)%7))
	}
	udh += extra
	return 8*udh + (7-udh*8%7)%7 + 7*septets, septets
}

func TestSplitLanguagesSpanishInGSM(t *testing.T) {
	text := strings.Repeat("Envío ", 50) // 300 characters, 50 í
	require.Equal(t, 300, utf8.RuneCountInString(text))

	dc, segs, err := Split(text, SplitOptions{Ref: 7})
	require.NoError(t, err)
	require.Equal(t, UCS2, dc)
	require.Len(t, segs, 5, "UCS-2: 67 characters a part")

	for _, packed := range []bool{false, true} {
		dc, segs, err = Split(text, SplitOptions{Ref: 7, Languages: []Language{Spanish}, Packed: packed})
		require.NoError(t, err)
		require.Equal(t, GSM7, dc)
		require.Len(t, segs, 3, "350 septets in parts of 149")
		for i, s := range segs {
			ies := mustIEs(t, s.ShortMessage)
			lock, single := LanguagesFromUDH(ies)
			assert.Equal(t, []Language{DefaultLanguage, Spanish}, []Language{lock, single}, "part %d", i)
			c, ok := ConcatFromUDH(ies)
			assert.True(t, ok)
			assert.Equal(t, Concat{Ref: 7, Total: 3, Seq: uint8(i + 1)}, c)
			bits, septets := airBits(t, dc, s, packed, 0)
			assert.LessOrEqual(t, bits, 140*8, "part %d", i)
			if i == 0 {
				assert.Equal(t, 149, septets, "a full part: 140 octets less a 9-octet header")
			}
		}
		got, lock, single := receive(t, dc, segs, packed)
		assert.Equal(t, text, got)
		assert.Equal(t, []Language{DefaultLanguage, Spanish}, []Language{lock, single})
	}
}

func TestSplitLanguagesChoice(t *testing.T) {
	long := strings.Repeat("Envío ", 50)
	hindi := strings.Repeat("नमस्ते दुनिया ", 14) // 196 characters, all in the Hindi locking table
	cases := []struct {
		name            string
		text            string
		langs           []Language
		dc              DataCoding
		parts           int
		locking, single Language
	}{
		{"default alphabet: no tables", strings.Repeat("¿Qué tal? Ñoño Müller. ", 5), []Language{Spanish}, GSM7, 1, 0, 0},
		{"as short in UCS-2: UCS-2", "Envío recibido", []Language{Spanish}, UCS2, 1, 0, 0},
		{"Spanish: single shift", strings.Repeat("Envío recibido. ", 5), []Language{Spanish}, GSM7, 1, DefaultLanguage, Spanish},
		// Both single shift tables carry í; the first language wins.
		{"order breaks a tie", strings.Repeat("Envío ", 15), []Language{Spanish, Portuguese}, GSM7, 1, DefaultLanguage, Spanish},
		{"order breaks a tie 2", strings.Repeat("Envío ", 15), []Language{Portuguese, Spanish}, GSM7, 1, DefaultLanguage, Portuguese},
		// Portuguese locking carries í in one septet: 300 septets, yet
		// still 3 parts; the single shift table keeps the default alphabet.
		{"same parts: default alphabet kept", long, []Language{Spanish, Portuguese}, GSM7, 3, DefaultLanguage, Spanish},
		// 38 ã: 189 septets with the single shift table, 2 parts; 151 with
		// the locking table, 1.
		{"locking saves a part", strings.Repeat("mão ", 37) + "pão", []Language{Portuguese}, GSM7, 1, Portuguese, DefaultLanguage},
		{"Turkish", strings.Repeat("Şeker ığdır, İstanbul. ", 4), []Language{Turkish}, GSM7, 1, DefaultLanguage, Turkish},
		{"a character no table has", strings.Repeat("Şeker ς ", 10), []Language{Turkish}, UCS2, 2, 0, 0},
		{"short Hindi: as short in UCS-2", "नमस्ते दुनिया", []Language{Hindi}, UCS2, 1, 0, 0},
		{"long Hindi: locking shift", hindi, []Language{Hindi}, GSM7, 2, Hindi, DefaultLanguage},
		{"a language that does not carry it", long, []Language{Turkish, Urdu}, UCS2, 5, 0, 0},
		{"invalid ids are ignored", long, []Language{0, 14, 255}, UCS2, 5, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc, segs, err := Split(c.text, SplitOptions{Languages: c.langs})
			require.NoError(t, err)
			assert.Equal(t, c.dc, dc)
			assert.Len(t, segs, c.parts)
			got, lock, single := receive(t, dc, segs, false)
			assert.Equal(t, c.text, got)
			assert.Equal(t, []Language{c.locking, c.single}, []Language{lock, single})
			if dc == GSM7 && lock == DefaultLanguage && single == DefaultLanguage && len(segs) == 1 {
				assert.False(t, segs[0].UDHI, "no header without tables")
			}
		})
	}
}

// A message of one part carries a header with only the language
// elements; capacities count them exactly.
func TestSplitLanguagesCapacity(t *testing.T) {
	// One element: 140 octets less 4 of header: 155 septets.
	text := "á" + strings.Repeat("a", 153)
	for _, packed := range []bool{false, true} {
		dc, segs, err := Split(text, SplitOptions{Languages: []Language{Spanish}, Packed: packed})
		require.NoError(t, err)
		require.Equal(t, GSM7, dc)
		require.Len(t, segs, 1)
		assert.True(t, segs[0].UDHI)
		assert.Equal(t, []byte{3, IEISingleShift, 1, byte(Spanish)}, segs[0].ShortMessage[:4])
		bits, septets := airBits(t, dc, segs[0], packed, 0)
		assert.Equal(t, 155, septets)
		assert.Equal(t, 140*8, bits)
		if packed {
			assert.Len(t, segs[0].ShortMessage, 140)
		}
		got, _, _ := receive(t, dc, segs, packed)
		assert.Equal(t, text, got)
	}
	_, segs, err := Split(text+"a", SplitOptions{Languages: []Language{Spanish}})
	require.NoError(t, err)
	assert.Len(t, segs, 2, "156 septets")

	// Two elements: 152 septets. Portuguese: ∞ is only in its locking
	// table, Φ only in its single shift table (and the default alphabet's,
	// which the locking table replaces).
	text = "Φ∞" + strings.Repeat("a", 149)
	for _, packed := range []bool{false, true} {
		dc, segs, err := Split(text, SplitOptions{Languages: []Language{Portuguese}, Packed: packed})
		require.NoError(t, err)
		require.Equal(t, GSM7, dc)
		require.Len(t, segs, 1)
		assert.Equal(t, []byte{6, IEISingleShift, 1, byte(Portuguese), IEILockingShift, 1, byte(Portuguese)}, segs[0].ShortMessage[:7])
		bits, septets := airBits(t, dc, segs[0], packed, 0)
		assert.Equal(t, 152, septets)
		assert.Equal(t, 140*8, bits)
		got, _, _ := receive(t, dc, segs, packed)
		assert.Equal(t, text, got)
	}

	// Parts of 146 (UDH8, SAR) and 145 (UDH16) septets.
	for _, m := range []Method{UDH8, UDH16, SAR} {
		for _, packed := range []bool{false, true} {
			text := strings.Repeat("Φ ∞ pão ", 50)
			dc, segs, err := Split(text, SplitOptions{Method: m, Ref: 0x0102, Languages: []Language{Portuguese}, Packed: packed})
			require.NoError(t, err)
			require.Equal(t, GSM7, dc)
			_, part := gsmCapacity(m, 6)
			for i, s := range segs {
				lock, single := LanguagesFromUDH(mustIEs(t, s.ShortMessage))
				require.Equal(t, []Language{Portuguese, Portuguese}, []Language{lock, single}, "method %d part %d", m, i)
				extra := 0
				if m == SAR {
					extra = 5 // the concatenation element the SMSC adds
				}
				bits, septets := airBits(t, dc, s, packed, extra)
				assert.LessOrEqual(t, bits, 140*8, "method %d part %d", m, i)
				assert.LessOrEqual(t, septets, part)
				if i < len(segs)-1 {
					assert.GreaterOrEqual(t, septets, part-1, "a full part: all but an escape pair")
				}
				if packed {
					assert.LessOrEqual(t, len(s.ShortMessage), 140)
				}
			}
			got, _, _ := receive(t, dc, segs, packed)
			assert.Equal(t, text, got, "method %d packed %v", m, packed)
		}
	}
	assert.Equal(t, []int{155, 149, 148}, func() []int {
		s, p8 := gsmCapacity(UDH8, 3)
		_, p16 := gsmCapacity(UDH16, 3)
		return []int{s, p8, p16}
	}())
	assert.Equal(t, []int{152, 146, 145}, func() []int {
		s, p8 := gsmCapacity(SAR, 6)
		_, p16 := gsmCapacity(UDH16, 6)
		return []int{s, p8, p16}
	}())
}

func TestSplitLanguagesNeverSplitAnEscapePair(t *testing.T) {
	// 148 plain characters then á: its escape would be the 149th septet.
	text := strings.Repeat("a", 148) + "á" + strings.Repeat("b", 10)
	for _, packed := range []bool{false, true} {
		dc, segs, err := Split(text, SplitOptions{Languages: []Language{Spanish}, Packed: packed})
		require.NoError(t, err)
		require.Equal(t, GSM7, dc)
		require.Len(t, segs, 2)
		_, payload, err := ParseUDH(segs[0].ShortMessage)
		require.NoError(t, err)
		first := payload
		if packed {
			first = Unpack(nil, payload, (7-(len(segs[0].ShortMessage)-len(payload))*8%7)%7)
		}
		assert.Len(t, first, 148)
		assert.NotEqual(t, byte(gsmEscape), first[len(first)-1])
		got, _, _ := receive(t, dc, segs, packed)
		assert.Equal(t, text, got)
	}
}

func TestSplitLanguagesMethods(t *testing.T) {
	text := strings.Repeat("Não há ações às três. ", 12)
	// SAR: the elements in a header of every part, numbered by TLVs.
	dc, segs, err := Split(text, SplitOptions{Method: SAR, Ref: 0x4242, Languages: []Language{Portuguese}})
	require.NoError(t, err)
	require.Equal(t, GSM7, dc)
	require.Len(t, segs, 2)
	for i, s := range segs {
		assert.True(t, s.UDHI)
		ies := mustIEs(t, s.ShortMessage)
		_, isConcat := ConcatFromUDH(ies)
		assert.False(t, isConcat, "no concatenation element with SAR")
		lock, _ := LanguagesFromUDH(ies)
		assert.Equal(t, Portuguese, lock)
		c, ok := ConcatFromTLVs(s.TLVs)
		assert.True(t, ok)
		assert.Equal(t, Concat{Ref: 0x4242, Total: 2, Seq: uint8(i + 1)}, c)
	}
	got, lock, _ := receive(t, dc, segs, false)
	assert.Equal(t, text, got)
	assert.Equal(t, Portuguese, lock)

	// Payload has no header: no tables, UCS-2 as without Languages.
	dc, segs, err = Split(text, SplitOptions{Method: Payload, Languages: []Language{Portuguese}})
	require.NoError(t, err)
	assert.Equal(t, UCS2, dc)
	require.Len(t, segs, 1)
	assert.False(t, segs[0].UDHI)

	// A fixed GSM 7-bit coding uses the tables rather than refusing the text.
	dc, segs, err = Split("ação", SplitOptions{Fixed: true, Coding: GSM7, Languages: []Language{Portuguese}})
	require.NoError(t, err)
	assert.Equal(t, GSM7, dc)
	got, _, _ = receive(t, dc, segs, false)
	assert.Equal(t, "ação", got)
	// ... or replaces what no table carries, as without Languages.
	_, segs, err = Split("ação ж", SplitOptions{Fixed: true, Coding: GSM7, Replace: '?', Languages: []Language{Portuguese}})
	require.NoError(t, err)
	assert.Equal(t, "a??o ?", string(segs[0].ShortMessage))
	_, _, err = Split("ação ж", SplitOptions{Fixed: true, Coding: GSM7, Languages: []Language{Portuguese}})
	var ue *UnrepresentableError
	assert.ErrorAs(t, err, &ue)
}
