package mailticket

import (
	"regexp"
	"strings"
)

// deliveryReport says whether m reports on the delivery of an earlier
// mail: a delivery status notification (RFC 3464), or one of the plain
// text bounces that MTAs still send (a mailer daemon's "Undelivered
// Mail Returned to Sender", an Exchange "Undeliverable:", qmail's
// "failure notice").
func deliveryReport(m *Mail) bool {
	// (A delivery report inside a mail, a bounce a customer forwards,
	// sets only ReportType: the customer's mail is not a bounce.)
	if m.Bounce != nil || m.Header.Has("X-Failed-Recipients") {
		return true
	}
	local := localPart(m.From.Addr)
	name := strings.ToLower(strings.TrimSpace(m.From.Name))
	if local == "mailer-daemon" || local == "mailer_daemon" || local == "mailerdaemon" ||
		(m.From.Addr == "" && strings.Contains(strings.ToLower(m.Header.Get("From")), "mailer-daemon")) {
		return true // a mailer daemon writes nothing else
	}
	// What only MTAs do: an empty Return-Path, the names their bounces
	// carry.
	if (nullSender(m) || name == "mail delivery system" || name == "mail delivery subsystem") &&
		(m.Subject == "" || bounceSubject(m.Subject)) {
		return true
	}
	// A postmaster is often a person (writing about an undelivered
	// parcel): only with a machine's mark as well.
	postmaster := local == "postmaster" || local == "post_master" || local == "mail-daemon" || name == "mail administrator"
	robot := autoSubmitted(m) || strings.Contains(strings.ReplaceAll(local, "-", ""), "noreply")
	return bounceSubject(m.Subject) && (robot || postmaster && returnsMessage(m))
}

// nullSender says whether the mail came with the empty envelope sender
// of bounces and auto-replies: an empty Return-Path (or X-Envelope-From),
// or a mailer daemon's.
func nullSender(m *Mail) bool {
	if m.NullReturnPath || strings.TrimSpace(m.Header.Get("X-Envelope-From")) == "<>" {
		return true
	}
	l := localPart(m.ReturnPath)
	return l == "mailer-daemon" || l == "mailer_daemon"
}

// autoSubmitted says whether the mail's Auto-Submitted says anything but
// "no" (RFC 3834; comments and parameters aside).
func autoSubmitted(m *Mail) bool {
	v := strings.ToLower(strings.TrimSpace(m.Header.Get("Auto-Submitted")))
	if v == "" {
		return false
	}
	token, _, _ := strings.Cut(v, ";")
	return strings.TrimSpace(stripComments(token)) != "no"
}

// returnsMessage says whether the mail carries a message back, whole or
// its header, attached or quoted in its text, or an SMTP server's reply
// code, as bounces do.
func returnsMessage(m *Mail) bool {
	for _, a := range m.Attachments {
		switch strings.ToLower(a.MediaType) {
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			return true
		}
	}
	text := strings.ToLower(m.Text[:min(len(m.Text), maxReportScan)])
	for _, h := range []string{"\nreceived: ", "\nmessage-id: ", "\nreturn-path: ", "\nx-failed-recipients: "} {
		if strings.Contains(text, h) {
			return true
		}
	}
	return smtpReplyCode.MatchString(text)
}

// smtpReplyCode is an SMTP server's permanent or temporary refusal as
// bounces quote it: "550 5.1.1", "554-", "status: 5.0.0", "#5.1.1".
var smtpReplyCode = regexp.MustCompile(`(?m)(^|[\s(#])([45][0-9]{2}[ -][45]\.[0-9]{1,3}\.[0-9]{1,3}|[45]\.[0-9]\.[0-9]{1,3}\b|[45]5[0-9][ -])`)

func localPart(addr string) string {
	local := strings.ToLower(addr)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	return local
}

// bounceSubjects are found in the subjects of plain text bounces
// (compared without case).
var bounceSubjects = []string{"undeliverable", "undelivered", "undeliverd", "returned mail", "returned to sender",
	"delivery status", "delivery failure", "delivery failed", "mail delivery failed", "failure notice",
	"delivery has failed", "could not be delivered", "non-delivery", "nondeliverable", "not delivered",
	"delivery notification", "delivery problem", "delayed", "delivery delay", "bounce notification", "mail system error",
	"unzustellbar", "nicht zustellbar", "non remis", "non distribuable", "no se puede entregar", "no entregado",
	"não entregue", "non recapitabile", "onbestelbaar",
	"配信できません", "配信不能", "不達", "未送達", "メールエラー", "エラー通知"}

func bounceSubject(subject string) bool {
	s := strings.ToLower(subject)
	for _, b := range bounceSubjects {
		if strings.Contains(s, b) {
			return true
		}
	}
	return false
}

// maxReportScan bounds how much of a report is searched for the
// Message-IDs of the mail it returns, and maxReportIDs how many are
// tried.
const (
	maxReportScan = 256 << 10
	maxReportIDs  = 16
)

// reportedIDs returns the Message-IDs a delivery report names as the
// mail it reports on: the DSN's returned message or headers first, then
// any of our own Message-IDs quoted in its text or in a returned message
// attached to it (plain text bounces quote the mail they return).
func (p *Processor) reportedIDs(m *Mail) []string {
	var ids []string
	if m.Bounce != nil && m.Bounce.OriginalMessageID != "" {
		ids = append(ids, m.Bounce.OriginalMessageID)
	}
	suffix := "@" + strings.ToLower(p.Domain)
	scan := func(s string) {
		s = s[:min(len(s), maxReportScan)]
		for len(ids) < maxReportIDs {
			i := indexFoldString(s, "tk.")
			if i < 0 {
				return
			}
			s = s[i:]
			// An id is short: look for its end within maxIDLen bytes
			// only (the whole rest each time made this quadratic).
			w := s[:min(len(s), maxIDLen)]
			end := strings.IndexAny(w, "<>\"' \t\r\n()[],;&?=")
			if end < 0 {
				end = len(w)
			}
			if id := strings.ToLower(w[:end]); strings.HasSuffix(id, suffix) {
				ids = append(ids, id) // our ids are lower case; a quoting program may not keep that
			}
			s = s[3:]
		}
	}
	scan(m.Text)
	for _, a := range m.Attachments {
		switch strings.ToLower(a.MediaType) {
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			scan(string(a.Data))
		}
	}
	return ids
}

// indexFoldString is strings.Index of an ASCII needle, without case.
func indexFoldString(s, needle string) int {
	first := needle[0]
	upper := strings.ToUpper(needle[:1])[0]
	for i := 0; i+len(needle) <= len(s); i++ {
		j := strings.IndexAny(s[i:], string([]byte{first, upper}))
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) <= len(s) && strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
