package mailticket

import (
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Header text as real mail programs encode it ends up as the text meant:
// no raw encoded word, no mojibake, no C1 control.
func TestHeaderTextAsProgramsWriteIt(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=?utf-7?Q?Fr+APY-sche?=", "Frösche"},
		{"=?UTF-7?B?RnIrQVBZLXNjaGU=?=", "Frösche"},
		{"=?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=", "Die Hasen und die Frösche"},
		{"=?NONE?B?VEVTVA==?=", "TEST"},
		{"=?unknown-8bit?Q?caf=C3=A9?=", "café"},
		{"\x93Su pedido\x94 cuesta 10 \x80", "“Su pedido” cuesta 10 €"},
		{"Peña y \xff", "Peña y ÿ"}, // the valid UTF-8 stays as it is
		{"a+b-c", "a+b-c"},
	} {
		assert.Equal(t, c.want, decodeText(c.in), "%q", c.in)
	}
	assert.Equal(t, "a+b", decodeUTF7([]byte("a+-b")))
	assert.Equal(t, "x+", decodeUTF7([]byte("x+")))

	raw := "From: \"=?utf-8?Q?Ana_P=C3=A9rez?=\" <ana@cliente.example>\r\nTo: soporte@example.net\r\n" +
		"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=\r\nMessage-ID: <w@x.example>\r\n\r\nhola\r\n"
	m, err := Parse([]byte(raw), nil)
	require.NoError(t, err)
	assert.Equal(t, "Ana Pérez", m.From.Name)
	assert.Equal(t, "Die Hasen und die Frösche", m.Subject)
}

func FuzzDecodeUTF7(f *testing.F) {
	for _, s := range []string{"Fr+APY-sche", "+-", "+", "+AAA", "+2D3cAQ-", "a+ZeVnLIqe-"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = decodeUTF7(b) // never panics
	})
}

// TestRaw8bitHeaderInDeclaredCharset: a subject or name written in raw
// 8-bit (no encoded words) is read in the charset the mail declares for
// its text, top-level or in a part, not as Windows-1252.
func TestRaw8bitHeaderInDeclaredCharset(t *testing.T) {
	big5Subject := "\xb4\xfa\xb8\xd5" // 測試 in Big5
	koi8Name := "\xe9\xd7\xc1\xce"    // Иван in KOI8-R
	for _, c := range []struct {
		name, raw, subject, from string
	}{
		{"top-level big5", "From: a@x.example\r\nSubject: " + big5Subject + "\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=big5\r\n\r\nhola\r\n", "測試", ""},
		{"koi8-r in a part", "From: " + koi8Name + " <ivan@x.example>\r\nSubject: \xf4\xc5\xd3\xd4\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=\"KOI8-R\"\r\n\r\n" +
			"\xf4\xc5\xd3\xd4\r\n--b--\r\n", "Тест", "Иван"},
		{"nothing declared: Windows-1252", "From: a@x.example\r\nSubject: Caf\xe9 \x80\r\n\r\nhola\r\n", "Café €", ""},
		{"utf-8 declared, raw latin-1", "From: a@x.example\r\nSubject: Caf\xe9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhola\r\n", "Café", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.raw), nil)
			require.NoError(t, err)
			assert.Equal(t, c.subject, m.Subject)
			if c.from != "" {
				assert.Equal(t, c.from, m.From.Name)
			}
		})
	}
}

// UTF-16 without a byte order mark is read in the order its text makes
// sense in: by the zero bytes of ASCII, and for text without ASCII
// (Chinese, Japanese, Korean, Russian) by the scripts it reads as.
func TestUTF16WithoutByteOrderMark(t *testing.T) {
	encode := func(s string, big bool) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			if big {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return b
	}
	for _, text := range []string{
		"日本語のメールです。よろしくお願いします。",
		"您好，我的订单没有到。",
		"안녕하세요, 주문이 도착하지 않았습니다.",
		"Здравствуйте, заказ не пришёл.",
		"Hello, the order did not arrive.",
		"请回复 😀",
		"中",
	} {
		for _, big := range []bool{true, false} {
			assert.Equal(t, text, decodeUTF16(encode(text, big)), "big endian %v", big)
		}
		assert.Equal(t, text, decodeUTF16(append([]byte{0xFF, 0xFE}, encode(text, false)...)), "with a BOM")
	}
}
