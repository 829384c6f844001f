package mailticket

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter is one postmaster rule. Its conditions (all those set must hold)
// look at the mail; its actions say where the ticket goes. Filters are
// evaluated in order; every matching filter applies its actions, a later
// one overriding an earlier one, until one with Stop matches.
//
// Sender-domain routing, the simplest rule that works, is
// Filter{SenderDomain: "example.com", Queue: "Example"}.
type Filter struct {
	Name string
	// SenderDomain matches the sender's domain or any subdomain of it.
	SenderDomain string
	// Header and Match: the regular expression must match one value of
	// the header (decoded). Header "" with Match set tests the subject.
	Header string
	Match  *regexp.Regexp
	// Not inverts the header condition.
	Not bool

	Queue    string // the queue of a new ticket
	Priority int    // 1..5
	Customer string // overrides the customer address (e.g. a shared mailbox's real owner)
	Company  string // overrides the company (the sender's domain by default)
	Ignore   bool   // drop the mail: no ticket, no reply (it is still marked processed)
	Stop     bool
}

// Decision is what the filters decided for one mail.
type Decision struct {
	Queue    string
	Priority int
	Customer string
	Company  string
	Ignore   bool
	Matched  []string // names of the filters that matched
}

func (f *Filter) check() error {
	if f.SenderDomain == "" && f.Match == nil {
		return fmt.Errorf("mailticket: filter %q has no condition", f.Name)
	}
	if f.Priority < 0 || f.Priority > 5 {
		return fmt.Errorf("mailticket: filter %q: priority %d (want 1..5)", f.Name, f.Priority)
	}
	return nil
}

func (f *Filter) matches(m *Mail) bool {
	if f.SenderDomain != "" {
		d, want := m.From.Domain(), strings.ToLower(strings.TrimPrefix(f.SenderDomain, "@"))
		if d != want && !strings.HasSuffix(d, "."+want) {
			return false
		}
	}
	if f.Match != nil {
		hit := false
		if f.Header == "" || strings.EqualFold(f.Header, "Subject") {
			hit = f.Match.MatchString(m.Subject)
		} else {
			for _, v := range m.Header.Values(f.Header) {
				if f.Match.MatchString(decodeText(v)) {
					hit = true
					break
				}
			}
		}
		if hit == f.Not {
			return false
		}
	}
	return true
}

// applyFilters runs the filters over m.
func applyFilters(filters []Filter, m *Mail) Decision {
	var d Decision
	for i := range filters {
		f := &filters[i]
		if !f.matches(m) {
			continue
		}
		d.Matched = append(d.Matched, f.Name)
		if f.Queue != "" {
			d.Queue = f.Queue
		}
		if f.Priority != 0 {
			d.Priority = f.Priority
		}
		if f.Customer != "" {
			d.Customer = strings.ToLower(f.Customer)
		}
		if f.Company != "" {
			d.Company = f.Company
		}
		d.Ignore = d.Ignore || f.Ignore
		if f.Stop {
			break
		}
	}
	return d
}
