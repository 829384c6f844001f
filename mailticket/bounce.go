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
	local := localPart(m.From.Addr)
	name := strings.ToLower(strings.TrimSpace(m.From.Name))
	if local == "mailer-daemon" || local == "mailer_daemon" || local == "mailerdaemon" ||
		(m.From.Addr == "" && strings.Contains(strings.ToLower(m.Header.Get("From")), "mailer-daemon")) {
		return true // a mailer daemon writes nothing else
	}
	daemon := m.NullReturnPath || local == "postmaster" || local == "post_master" || local == "mail-daemon" ||
		name == "mail delivery system" || name == "mail delivery subsystem" || name == "mail administrator"
	if daemon && (m.Subject == "" || bounceSubject(m.Subject)) {
		return true
	}
	// A machine that is not named as a daemon (no-reply@, Auto-Submitted)
	// with a subject that says it all.
	robot := strings.Contains(strings.ReplaceAll(local, "-", ""), "noreply") ||
		(m.Header.Has("Auto-Submitted") && !strings.EqualFold(strings.TrimSpace(m.Header.Get("Auto-Submitted")), "no"))
	return robot && bounceSubject(m.Subject)
}

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
