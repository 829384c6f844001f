package mailticket

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Parameters as mail programs write them, not as RFC 2045 wants them:
// an unquoted boundary with '=' (Outlook Express), an unquoted file name
// with spaces, a raw 8-bit file name. The attachments are kept.
func TestParseLenientParameters(t *testing.T) {
	mail := func(boundary, header string) string {
		return "From: ana@cliente.example\r\nTo: soporte@example.net\r\nSubject: adjunto\r\nMessage-ID: <p@x.example>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + boundary + "\r\n\r\n" +
			"--" + strings.Trim(boundary, `"`) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVer adjunto.\r\n" +
			"--" + strings.Trim(boundary, `"`) + "\r\n" + header + "\r\n\r\nfile body\r\n" +
			"--" + strings.Trim(boundary, `"`) + "--\r\n"
	}
	for _, c := range []struct {
		name, raw, file string
	}{
		{"boundary with =", mail("----=_NextPart_000_0001_01C9", "Content-Type: text/plain; name=\"nota.txt\"\r\nContent-Disposition: attachment; filename=\"nota.txt\""), "nota.txt"},
		{"unquoted name with spaces", mail("b1", "Content-Type: text/plain; name=This is a test.txt\r\nContent-Disposition: attachment; filename=This is a test.txt"), "This is a test.txt"},
		{"raw 8-bit name", mail("b2", "Content-Type: application/octet-stream; name=ci\xeble.txt\r\nContent-Disposition: attachment; filename=ci\xeble.txt"), "ciële.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.raw), nil)
			require.NoError(t, err)
			assert.Equal(t, "Ver adjunto.", strings.TrimSpace(m.Text))
			require.Len(t, m.Attachments, 1, "%v", m.Warnings)
			assert.Equal(t, c.file, m.Attachments[0].Name)
			assert.Equal(t, "file body", strings.TrimSpace(string(m.Attachments[0].Data)))
		})
	}
}

// TestParseContentTypeCommentsAndNestedBoundaries: a Content-Type with
// comments, and an inner multipart whose boundary only a lenient reading
// understands, keep their parts.
func TestParseContentTypeCommentsAndNestedBoundaries(t *testing.T) {
	raw := "From: a@x.example\r\nSubject: anidado\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: (from a old gateway) multipart/mixed (mixed); boundary=\"outer\"\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=----=_NextPart_001_0007_01D0\r\n\r\n" +
		"------=_NextPart_001_0007_01D0\r\nContent-Type: text/plain (plain text); charset=iso-8859-1\r\n\r\nSe\xf1or, el texto.\r\n" +
		"------=_NextPart_001_0007_01D0\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<p>Se\xf1or, el texto.</p>\r\n" +
		"------=_NextPart_001_0007_01D0--\r\n" +
		"--outer\r\nContent-Type: application/pdf; name=factura.pdf\r\nContent-Disposition: attachment\r\n\r\n%PDF-1.4\r\n" +
		"--outer--\r\n"
	m, err := Parse([]byte(raw), nil)
	require.NoError(t, err)
	assert.Equal(t, "Señor, el texto.", m.Text)
	assert.Contains(t, m.HTML, "<p>Señor")
	require.Len(t, m.Attachments, 1)
	assert.Equal(t, "factura.pdf", m.Attachments[0].Name)
}
