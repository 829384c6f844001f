package mailticket

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a hostile reviewer broke in the lenient parser, each kept broken
// no more.
func TestParseHoldsAgainstHostileMail(t *testing.T) {
	t.Run("many unterminated encoded words cost linear time", func(t *testing.T) {
		subj := "\x80" + strings.Repeat("=?a?q?xxxx", 25000) // 250 KB
		start := time.Now()
		_, err := Parse([]byte("From: a@b.example\r\nSubject: "+subj+"\r\n\r\nbody\r\n"), &Limits{MaxHeaderBytes: 1 << 20})
		require.NoError(t, err)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("a part header after a boundary ending in --", func(t *testing.T) {
		raw := "From: a@b.example\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b--\"\r\n\r\n--b--\r\n" +
			strings.Repeat("a:b\n", 1<<18) + "\r\nx\r\n--b----\r\n"
		_, err := Parse([]byte(raw), nil)
		assert.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("warnings are bounded", func(t *testing.T) {
		m, err := Parse([]byte(strings.Repeat("\n", 1<<20)+"From: a@b.example\r\nSubject: s\r\n\r\nx\r\n"), nil)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(m.Warnings), maxWarnings+1)
	})
	t.Run("no blank line after the header: the body stays the body", func(t *testing.T) {
		m, err := Parse([]byte("From: ana@cliente.example\r\nSubject: Pedido 7\r\nMessage-ID: <nb@x>\r\nHola,\r\n"+
			"mi pedido no llegó.\r\nReply-To: evil@evil.example\r\nGracias\r\n"), nil)
		require.NoError(t, err)
		assert.Contains(t, m.Text, "mi pedido no llegó.")
		assert.Empty(t, m.ReplyTo.Addr, "a body line taken as a header")
		m, err = Parse([]byte("From: ana@cliente.example\r\nSubject: s\r\n \r\nIn-Reply-To: <x@y>\r\nhola\r\n"), nil)
		require.NoError(t, err)
		assert.Empty(t, m.InReplyTo)
		assert.Contains(t, m.Text, "In-Reply-To: <x@y>")
	})
	t.Run("obsolete field syntax", func(t *testing.T) {
		m, err := Parse([]byte("From : ana@cliente.example\r\nAuto-Submitted : auto-replied\r\nSubject: s\r\n\r\nx\r\n"), nil)
		require.NoError(t, err)
		assert.Equal(t, "auto-replied", m.Header.Get("Auto-Submitted"))
		assert.Equal(t, "ana@cliente.example", m.From.Addr)
	})
	t.Run("mixed line ends at the end of the header", func(t *testing.T) {
		a, err := Parse([]byte("From: ana@cliente.example\nSubject: s\nMessage-ID: <o@x>\n\r\nFirst paragraph: refund order 7.\n\nSecond.\n"), nil)
		require.NoError(t, err)
		b, err := Parse([]byte("From: ana@cliente.example\nSubject: s\nMessage-ID: <o@x>\n\r\nFirst paragraph: refund order 9.\n\nSecond.\n"), nil)
		require.NoError(t, err)
		assert.Contains(t, a.Text, "refund order 7")
		assert.NotEqual(t, a.ContentKey(), b.ContentKey())
	})
	t.Run("Latin-1 labels are read as Windows-1252", func(t *testing.T) {
		assert.Equal(t, "“Su pedido” cuesta 10 €", decodeText("=?iso-8859-1?Q?=93Su_pedido=94_cuesta_10_=80?="))
	})
	t.Run("HTML within MaxTextSize", func(t *testing.T) {
		raw := "From: a@b.example\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n" + strings.Repeat("\x80", 1000) + "\r\n"
		m, err := Parse([]byte(raw), &Limits{MaxTextSize: 1000})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(m.HTML), 1000)
		assert.LessOrEqual(t, len(m.Text), 1000)
	})
}

// Authentication-Results read so that a forged sender cannot pass.
func TestAuthFailedDoesNotFailOpen(t *testing.T) {
	for _, c := range []struct {
		header string
		failed bool
	}{
		{"mx.example.net; spf=fail smtp.mailfrom=cliente.example; dkim=pass header.d=evil.example", true},
		{"mx.example.net; spf=fail; dkim=none; dmarc=none", true},
		{"mx.example.net; dmarc=fail(p=reject) header.from=cliente.example", true},
		{"mx.example.net; dmarc = fail header.from=cliente.example", true},
		{`mx.example.net; spf=fail smtp.mailfrom="x;dmarc=pass"@evil.example`, true},
		{"mx.example.net; spf=fail (p=reject; dmarc=pass) smtp.mailfrom=evil.example", true},
		{"mx.example.net; spf=fail; dkim=pass header.d=cliente.example", false},
		{"mx.example.net; spf=fail; dkim=pass header.d=example", false}, // a parent domain signed
		{"mx.example.net; dmarc=pass", false},
	} {
		m, err := Parse([]byte("From: ana@cliente.example\r\nAuthentication-Results: "+c.header+"\r\nSubject: s\r\n\r\nx\r\n"), nil)
		require.NoError(t, err)
		assert.Equal(t, c.failed, authFailed(m, "mx.example.net"), c.header)
	}
	// Two headers of our MTA (milters): a failure in either counts.
	m, err := Parse([]byte("From: ana@cliente.example\r\nAuthentication-Results: mx.example.net; dkim=none\r\n"+
		"Authentication-Results: mx.example.net; dmarc=fail\r\nSubject: s\r\n\r\nx\r\n"), nil)
	require.NoError(t, err)
	assert.True(t, authFailed(m, "mx.example.net"))
}

// More robots recognized, and people writing about auto-replies not
// taken for robots.
func TestRobotsAndPeople(t *testing.T) {
	for _, c := range []struct {
		from, subject string
		extra         []string
		robot         bool
	}{
		{"noreply-alerts@shop.example", "Alerta", nil, true},
		{"no.reply@shop.example", "Alerta", nil, true},
		{"bounce-123-ana=x.example@lists.example", "Aviso", nil, true},
		{"ana@cliente.example", "Hola", []string{"Content-Type: multipart/mixed; boundary=z"}, false},
		{"ana@cliente.example", "Abwesenheitsnotiz funktioniert nicht", nil, false},
		{"ana@cliente.example", "Fuori sede la prossima settimana", nil, false},
		{"ana@cliente.example", "Respuesta automática no se desactiva", nil, false},
	} {
		e := newEnv(t)
		r := e.process("k", simple(c.from, c.subject, "r@x.example", c.extra...))
		assert.Equal(t, c.robot, r.AutoResponse == "", "%s %q: %s", c.from, c.subject, r.Reason)
	}
	// A read receipt (MDN) inside a multipart/mixed is a machine's report.
	e := newEnv(t)
	mdn := mailText("--o\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=i\r\n\r\n"+
		"--i\r\nContent-Type: text/plain\r\n\r\nSu mensaje fue leído.\r\n--i--\r\n--o--\r\n",
		"From: ana@cliente.example", "To: support@example.net", "Subject: Leído: pedido", "Message-ID: <mdn@x.example>",
		"Content-Type: multipart/mixed; boundary=o")
	r := e.process("mdn", mdn)
	assert.Equal(t, Event(""), r.AutoResponse, r.Reason)
}
