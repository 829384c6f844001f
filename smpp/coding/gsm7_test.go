package coding

import (
	"strings"

	"bytes"
	"encoding/hex"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spec0338 is the GSM 03.38 default alphabet and extension table as
// Unicode's GSM0338.TXT lists them ("code unicode"), typed independently
// of gsm7.go's tables. 0x1B is the escape; 0x09 is the capital C cedilla of
// 3GPP TS 23.038.
const spec0338 = `
00 0040 01 00A3 02 0024 03 00A5 04 00E8 05 00E9 06 00F9 07 00EC 08 00F2 09 00C7 0A 000A 0B 00D8 0C 00F8 0D 000D 0E 00C5 0F 00E5
10 0394 11 005F 12 03A6 13 0393 14 039B 15 03A9 16 03A0 17 03A8 18 03A3 19 0398 1A 039E 1C 00C6 1D 00E6 1E 00DF 1F 00C9
20 0020 21 0021 22 0022 23 0023 24 00A4 25 0025 26 0026 27 0027 28 0028 29 0029 2A 002A 2B 002B 2C 002C 2D 002D 2E 002E 2F 002F
30 0030 31 0031 32 0032 33 0033 34 0034 35 0035 36 0036 37 0037 38 0038 39 0039 3A 003A 3B 003B 3C 003C 3D 003D 3E 003E 3F 003F
40 00A1 41 0041 42 0042 43 0043 44 0044 45 0045 46 0046 47 0047 48 0048 49 0049 4A 004A 4B 004B 4C 004C 4D 004D 4E 004E 4F 004F
50 0050 51 0051 52 0052 53 0053 54 0054 55 0055 56 0056 57 0057 58 0058 59 0059 5A 005A 5B 00C4 5C 00D6 5D 00D1 5E 00DC 5F 00A7
60 00BF 61 0061 62 0062 63 0063 64 0064 65 0065 66 0066 67 0067 68 0068 69 0069 6A 006A 6B 006B 6C 006C 6D 006D 6E 006E 6F 006F
70 0070 71 0071 72 0072 73 0073 74 0074 75 0075 76 0076 77 0077 78 0078 79 0079 7A 007A 7B 00E4 7C 00F6 7D 00F1 7E 00FC 7F 00E0
1B0A 000C 1B14 005E 1B28 007B 1B29 007D 1B2F 005C 1B3C 005B 1B3D 007E 1B3E 005D 1B40 007C 1B65 20AC`

func TestGSMTablesAgainstSpec(t *testing.T) {
	f := strings.Fields(spec0338)
	if len(f)%2 != 0 {
		t.Fatal("bad fixture")
	}
	seen := 0
	for i := 0; i < len(f); i += 2 {
		code, err := hex.DecodeString(f[i])
		if err != nil {
			t.Fatal(err)
		}
		u, err := hex.DecodeString(f[i+1])
		if err != nil {
			t.Fatal(err)
		}
		r := rune(u[0])<<8 | rune(u[1])
		enc, err := AppendGSM7(nil, string(r), -1)
		if err != nil || !bytes.Equal(enc, code) {
			t.Errorf("U+%04X encodes to %X, %v; spec %X", r, enc, err, code)
		}
		dec, err := DecodeGSM7(code)
		if err != nil || dec != string(r) {
			t.Errorf("%X decodes to %q, %v; spec U+%04X", code, dec, err, r)
		}
		seen++
	}
	if seen != 127+10 {
		t.Fatalf("fixture has %d entries, want 137", seen)
	}
	if len(gsmToCode) != 127 || len(gsmToExt) != 10 {
		t.Fatalf("tables have %d + %d characters, want 127 + 10", len(gsmToCode), len(gsmToExt))
	}
}

func TestSeptetsAndChoose(t *testing.T) {
	cases := []struct {
		text  string
		dc    DataCoding
		units int
	}{
		{"hello", GSM7, 5},
		{"{€}", GSM7, 6},       // extension characters count 2
		{"Año ñandù", GSM7, 9}, // ñ and ù are in the default alphabet
		{"Año ñandú", UCS2, 9}, // ú is not
		{"Camión", UCS2, 6},    // ó is not in the GSM alphabet
		{"ok 😀", UCS2, 5},      // outside the BMP: a surrogate pair
		{"", GSM7, 0},
	}
	for _, c := range cases {
		dc, units := Choose(c.text)
		if dc != c.dc || units != c.units {
			t.Errorf("Choose(%q) = %s %d, want %s %d", c.text, dc, units, c.dc, c.units)
		}
	}
}

func TestPackVectors(t *testing.T) {
	cases := []struct {
		text, hex string
	}{
		{"hellohello", "e8329bfd4697d9ec37"},
		{"12345678", "31d98c56b3dd70"},    // 8 septets: exactly 7 octets
		{"1234567", "31d98c56b3dd1a"},     // 7 septets: 7 spare bits filled with CR
		{"1234567\r", "31d98c56b3dd1a"},   // ends with CR on an octet boundary: no octet more (SMS, not USSD)
		{"12345678@", "31d98c56b3dd7000"}, // a real trailing '@' survives
		{"", ""},
	}
	for _, c := range cases {
		sept, err := AppendGSM7(nil, c.text, -1)
		if err != nil {
			t.Fatal(err)
		}
		packed := Pack(nil, sept, 0)
		if got := hex.EncodeToString(packed); got != c.hex {
			t.Errorf("Pack(%q) = %s, want %s", c.text, got, c.hex)
		}
		back, err := DecodeGSM7(Unpack(nil, packed, 0))
		want := c.text
		if c.text == "1234567\r" {
			want = "1234567" // a CR filling the last seven bits reads as padding
		}
		if err != nil || back != want {
			t.Errorf("Unpack(Pack(%q)) = %q, %v", c.text, back, err)
		}
	}
}

func TestPackWithFill(t *testing.T) {
	// After a 6-octet UDH (48 bits) septets start at bit 49: 1 fill bit.
	text := strings.Repeat("abcdefghij", 15) + "abc" // 153 septets: a full concatenated segment
	sept, _ := AppendGSM7(nil, text, -1)
	packed := Pack(nil, sept, 1)
	if len(packed) != 134 {
		t.Fatalf("153 septets after 1 fill bit take %d octets, want 134", len(packed))
	}
	if got, _ := DecodeGSM7(Unpack(nil, packed, 1)); got != text {
		t.Fatalf("round trip with fill bits: %q", got)
	}
	for fill := 0; fill < 7; fill++ {
		for n := 0; n < 20; n++ {
			s := bytes.Repeat([]byte{'a'}, n)
			got := Unpack(nil, Pack(nil, s, fill), fill)
			if !bytes.Equal(got, s) {
				t.Fatalf("fill %d, %d septets: %q", fill, n, got)
			}
		}
	}
}

func TestUnrepresentable(t *testing.T) {
	_, err := Encode(nil, "Camión", GSM7, -1)
	ue, ok := err.(*UnrepresentableError)
	if !ok || ue.Rune != 'ó' || ue.Offset != 4 {
		t.Fatalf("err = %v", err)
	}
	b, err := Encode(nil, "Camión", GSM7, '?')
	if err != nil || string(b) != "Cami?n" {
		t.Fatalf("replaced: %q %v", b, err)
	}
	if _, err := Encode(nil, "€", Latin1, -1); err == nil {
		t.Fatal("€ accepted in Latin-1")
	}
	if _, err := Encode(nil, "é", IA5, -1); err == nil {
		t.Fatal("é accepted in IA5")
	}
	if _, err := Encode(nil, "x", GSM7, 'ó'); err != nil {
		t.Fatal("representable text failed with an unrepresentable replacement")
	}
	if _, err := Encode(nil, "ó", GSM7, 'ó'); err == nil {
		t.Fatal("unrepresentable replacement accepted")
	}
}

func TestCodings(t *testing.T) {
	cases := []struct {
		dc   DataCoding
		text string
		hex  string
	}{
		{Latin1, "Camión ñ", "43616d69f36e20f1"},
		{IA5, "Hi!", "486921"},
		{UCS2, "Añ😀", "004100f1d83dde00"},
		{Binary, "\x00\xff", "00ff"},
		{0xF0, "@", "00"}, // DCS message class group, default alphabet
	}
	for _, c := range cases {
		b, err := Encode(nil, c.text, c.dc, -1)
		if err != nil || hex.EncodeToString(b) != c.hex {
			t.Errorf("Encode(%q, %s) = %x, %v; want %s", c.text, c.dc, b, err, c.hex)
		}
		back, err := Decode(b, c.dc)
		if err != nil || back != c.text {
			t.Errorf("Decode(%x, %s) = %q, %v", b, c.dc, back, err)
		}
	}
	if s, _ := Decode([]byte{0xd8, 0x3d}, UCS2); s != string(utf8.RuneError) {
		t.Errorf("lone surrogate = %q", s)
	}
	if _, err := Decode([]byte{1}, UCS2); err == nil {
		t.Error("odd UCS-2 length accepted")
	}
	if _, err := Decode([]byte{0x80}, GSM7); err == nil {
		t.Error("octet above 0x7F accepted as a septet")
	}
	if s, _ := DecodeGSM7([]byte{0x1B, 0x41}); s != "A" {
		t.Errorf("unknown extension code falls back to the default alphabet: %q", s)
	}
}

// A full message, and a full part of a long one, fit their octets even
// when they end in CR (the doubled CR of the USSD rule made 160 septets
// take 141 octets, and a 153-septet part overflow with its UDH).
func TestPackedMessagesEndingInCRFit(t *testing.T) {
	full := strings.Repeat("a", 159) + "\r"
	sept, err := AppendGSM7(nil, full, -1)
	require.NoError(t, err)
	assert.Len(t, Pack(nil, sept, 0), 140)
	part := strings.Repeat("a", 152) + "\r"
	sept, err = AppendGSM7(nil, part, -1)
	require.NoError(t, err)
	// A 6-octet UDH takes 48 bits: one fill bit aligns the septets.
	assert.LessOrEqual(t, 6+len(Pack(nil, sept, 1)), 140)
	back, err := DecodeGSM7(Unpack(nil, Pack(nil, sept, 1), 1))
	require.NoError(t, err)
	assert.Equal(t, part[:len(part)-1], back, "a final CR on the octet boundary reads as padding")
}
