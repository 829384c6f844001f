package mailticket

import (
	"encoding/base64"
	"os"
	"path/filepath"
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
	// What has no header at all is read as the text of a mail from
	// nobody; what is not even text is not a mail.
	m, err := Parse([]byte("From nobody\r\n   \r\njust text\r\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, "just text", m.Text)
	assert.Empty(t, m.From.Addr)
	assert.Contains(t, strings.Join(m.Warnings, "; "), "no header")
	_, err = Parse([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), nil)
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

// TestParseTNEF: Outlook's winmail.dat gives up its files and body; a
// broken one stays an attachment, with a warning.
func TestParseTNEF(t *testing.T) {
	winmail := func(file string) string {
		b, err := os.ReadFile(filepath.Join("internal", "tnef", "testdata", file))
		require.NoError(t, err)
		enc := base64.StdEncoding.EncodeToString(b)
		var lines []string
		for len(enc) > 76 {
			lines, enc = append(lines, enc[:76]), enc[76:]
		}
		return strings.Join(append(lines, enc), "\r\n")
	}
	mk := func(text, data string) []byte {
		body := ""
		if text != "" {
			body = "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
		}
		body += "--b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n" +
			"Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n" + data + "\r\n--b--\r\n"
		return []byte(mailText(body, "From: Ana <ana@cliente.example>", "To: soporte@example.net", "Subject: adjuntos",
			"Message-ID: <tnef@cliente.example>", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`))
	}
	m, err := Parse(mk("", winmail("missing-filenames.tnef")), nil)
	require.NoError(t, err)
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"generpts.src", "TechlibDEC99.doc", "TechlibDEC99-JAN00.doc", "TechlibNOV99.doc"}, names)
	assert.Equal(t, "application/msword", m.Attachments[1].MediaType)
	assert.Contains(t, m.Text, "Sue has encountered a Date problem", "the RTF body is the text")

	m, err = Parse(mk("Texto del cliente.", winmail("umlaut.tnef")), nil)
	require.NoError(t, err)
	assert.Equal(t, "Texto del cliente.", m.Text, "the mail's own text wins over the winmail.dat body")
	assert.Len(t, m.Attachments, 3)
	assert.Equal(t, "UmlautAnhang-äüö.txt", m.Attachments[2].Name)

	m, err = Parse(mk("Cita.", winmail("multi-name-property.tnef")), nil)
	require.NoError(t, err)
	require.Len(t, m.Attachments, 1, "a meeting request's winmail.dat holds nothing to open: kept")
	assert.Equal(t, "winmail.dat", m.Attachments[0].Name)

	m, err = Parse(mk("Roto.", base64.StdEncoding.EncodeToString([]byte("no es tnef"))), nil)
	require.NoError(t, err)
	require.Len(t, m.Attachments, 1)
	assert.Equal(t, "winmail.dat", m.Attachments[0].Name)
	assert.NotEmpty(t, m.Warnings)
}
