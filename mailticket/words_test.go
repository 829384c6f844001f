package mailticket

import (
	"testing"

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
