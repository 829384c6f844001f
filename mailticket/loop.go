package mailticket

import (
	"context"

	"fmt"
	"github.com/switchboard-go/switchboard/store"
	"strings"
	"time"
)

// RateLimit bounds automatic replies to one address. Zero fields take
// the defaults (10 an hour, 40 a day); a negative field disables that bound.
// The count comes from the store, so it holds across restarts; processes
// sharing a database may together pass it by the replies they queue at
// the same moment.
type RateLimit struct {
	PerHour int
	PerDay  int
}

var noReplyLocalParts = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
	"mailer-daemon", "mailer_daemon", "postmaster", "bounce", "bounces", "daemon"}

// automated says why m must not get an automatic reply, or "" if it may:
// RFC 3834 Auto-Submitted, Precedence bulk/junk/list, mailing-list
// headers, Exchange's suppress header, auto-reply marks, our own X-Loop,
// an empty Return-Path, delivery reports, and senders that never read
// replies.
func (p *Processor) automated(m *Mail, to Address) string {
	h := &m.Header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return "Auto-Submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	for _, k := range []string{"List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond", "X-Auto-Reply"} {
		if h.Has(k) {
			return k + " header"
		}
	}
	if v := strings.ToLower(h.Get("X-Auto-Response-Suppress")); strings.Contains(v, "all") ||
		strings.Contains(v, "autoreply") || strings.Contains(v, "oof") {
		return "X-Auto-Response-Suppress: " + v
	}
	for _, v := range h.Values("X-Loop") {
		if strings.Contains(strings.ToLower(v), strings.ToLower(p.loopToken())) {
			return "our own X-Loop"
		}
	}
	if m.NullReturnPath {
		return "empty Return-Path"
	}
	if m.Bounce != nil {
		return "delivery report"
	}
	if h.Has("X-Failed-Recipients") {
		return "X-Failed-Recipients header"
	}
	if to.Addr == "" {
		return "no sender address"
	}
	local := to.Addr
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	for _, n := range noReplyLocalParts {
		if local == n || strings.HasPrefix(local, n+"+") {
			return "sender " + to.Addr + " does not read replies"
		}
	}
	if p.ours(to.Addr) {
		return "sender is one of our own addresses"
	}
	return ""
}

// ours reports whether addr is one of the processor's own addresses.
func (p *Processor) ours(addr string) bool {
	for _, a := range p.Addresses {
		if strings.EqualFold(strings.TrimSpace(a), addr) {
			return true
		}
	}
	return false
}

// loopToken is the X-Loop value of our outgoing mail.
func (p *Processor) loopToken() string { return "switchboard@" + p.Domain }

// overLimit says whether addr already got as many replies as allowed.
func (p *Processor) overLimit(ctx context.Context, st store.TicketStore, addr string, now time.Time) (string, error) {
	perHour, perDay := p.RateLimit.PerHour, p.RateLimit.PerDay
	if perHour == 0 {
		perHour = 10
	}
	if perDay == 0 {
		perDay = 40
	}
	if perHour < 0 && perDay < 0 {
		return "", nil
	}
	// One count over the day answers both bounds unless it reaches the
	// hourly one: only then is the last hour counted apart.
	day, err := st.CountAutoResponses(ctx, addr, now.Add(-24*time.Hour))
	if err != nil {
		return "", err
	}
	if perDay >= 0 && day >= perDay {
		return fmt.Sprintf("%d automatic replies to %s in the last day", day, addr), nil
	}
	if perHour < 0 || day < perHour {
		return "", nil
	}
	hour, err := st.CountAutoResponses(ctx, addr, now.Add(-time.Hour))
	if err != nil {
		return "", err
	}
	if hour >= perHour {
		return fmt.Sprintf("%d automatic replies to %s in the last hour", hour, addr), nil
	}
	return "", nil
}
