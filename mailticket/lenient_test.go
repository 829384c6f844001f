package mailticket

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Mail as real programs write it: an mbox From line first (bounces and
// auto-replies kept in mbox files), a line of spaces before the header, a
// broken header line. Each is read, with a warning, not quarantined.
func TestParseReadsWhatMatureParsersRead(t *testing.T) {
	const rest = "From: Ana <ana@cliente.example>\r\nTo: soporte@example.net\r\nSubject: Pedido 7\r\n" +
		"Message-ID: <len@x.example>\r\n\r\nHola, mi pedido no llegó.\r\n"
	for _, c := range []struct {
		name, raw, warning string
	}{
		{"mbox From line", "From MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\n" + rest, "mbox From line"},
		{"line of spaces", "      \r\n" + rest, "blank line before the header"},
		{"broken header line", strings.Replace(rest, "To: ", "this is not a header\r\nTo: ", 1), "malformed header line dropped: this is not a header"},
		{"broken line with its continuation", strings.Replace(rest, "To: ", "X Bad Name: v\r\n  continued\r\nTo: ", 1), "malformed header line dropped: X Bad Name: v"},
		{"LF only, mbox and blank", "From ana@cliente.example Mon Dec  7 03:00:00 2026\n\n" + strings.ReplaceAll(rest, "\r\n", "\n"), "mbox From line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.raw), nil)
			require.NoError(t, err)
			assert.Equal(t, "Pedido 7", m.Subject)
			assert.Equal(t, "ana@cliente.example", m.From.Addr)
			assert.Equal(t, "len@x.example", m.MessageID)
			assert.Contains(t, m.Text, "mi pedido no llegó")
			assert.Contains(t, strings.Join(m.Warnings, "; "), c.warning)
			if strings.Contains(c.name, "continuation") {
				assert.False(t, m.Header.Has("X Bad Name"))
				assert.Len(t, m.To, 1)
			}
		})
	}
	// What has no header at all is still not a mail.
	_, err := Parse([]byte("From nobody\r\n   \r\njust text\r\n"), nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

// The limits hold inside parts: a header flood in one part is refused
// before the MIME reader takes it whole, and many text parts together are
// cut at MaxTextSize.
func TestPartLimits(t *testing.T) {
	head := "From: ana@cliente.example\r\nSubject: grande\r\nMessage-ID: <big@x.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	flood := head + "--b\r\n" + strings.Repeat("X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 20000) + "\r\nhola\r\n--b--\r\n"
	_, err := Parse([]byte(flood), nil)
	require.ErrorIs(t, err, ErrTooLarge)

	var b strings.Builder
	b.WriteString(head)
	for range 20 {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("texto ", 20000) + "\r\n")
	}
	b.WriteString("--b--\r\n")
	m, err := Parse([]byte(b.String()), &Limits{MaxTextSize: 300 << 10})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(m.Text), 300<<10)
	assert.Contains(t, strings.Join(m.Warnings, "; "), "text part left out")
}
