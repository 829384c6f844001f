package mailticket

import (
	"strings"
)

// deliveryReport says whether m reports on the delivery of an earlier
// mail: a delivery status notification (RFC 3464), or one of the plain
// text bounces that MTAs still send (a mailer daemon's "Undelivered
// Mail Returned to Sender", an Exchange "Undeliverable:", qmail's
// "failure notice").
func deliveryReport(m *Mail) bool {
	if m.Bounce != nil || m.ReportType == "delivery-status" || m.Header.Has("X-Failed-Recipients") {
		return true
	}
	local := strings.ToLower(m.From.Addr)
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	daemon := m.NullReturnPath || local == "mailer-daemon" || local == "postmaster" ||
		local == "mail-daemon" || strings.EqualFold(m.From.Name, "Mail Delivery System") ||
		strings.EqualFold(m.From.Name, "Mail Delivery Subsystem")
	return daemon && bounceSubject(m.Subject)
}

// bounceSubjects are found in the subjects of plain text bounces
// (compared without case).
var bounceSubjects = []string{"undeliverable", "undelivered", "undeliverd", "returned mail", "returned to sender",
	"delivery status notification", "delivery failure", "delivery failed", "mail delivery failed", "failure notice",
	"delivery has failed", "could not be delivered", "non-delivery", "nondeliverable", "not delivered",
	"unzustellbar", "nicht zustellbar", "non remis", "non distribuable", "no se puede entregar", "no entregado",
	"não entregue", "non recapitabile", "onbestelbaar"}

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
			i := strings.Index(s, "tk.")
			if i < 0 {
				return
			}
			s = s[i:]
			end := strings.IndexAny(s, "<>\"' \t\r\n()[],;")
			if end < 0 {
				end = len(s)
			}
			if id := s[:end]; strings.HasSuffix(strings.ToLower(id), suffix) {
				ids = append(ids, id)
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
