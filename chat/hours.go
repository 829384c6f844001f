package chat

import (
	"fmt"
	"strings"
	"time"
)

// BusinessHours are when operators work, in a time zone, with holidays.
// Outside them a customer is told the hours and may leave a message
// (see Server.OnLeftMessage). The zero value is never open; a nil
// *BusinessHours is always open.
type BusinessHours struct {
	// Location is the time zone of the hours (nil: UTC).
	Location *time.Location
	// Week holds, by time.Weekday, the spans of the day when the desk is
	// open, as offsets from midnight (e.g. 9h to 18h).
	Week [7][]Span
	// Holidays are dates (YYYY-MM-DD, in Location) when it is closed.
	Holidays []string
	// Text describes the hours to customers, e.g. "Monday to Friday,
	// 9:00 to 18:00 (Madrid)"; empty: one is written from Week.
	Text string
}

// Span is an open period of a day: From and To are offsets from
// midnight, From < To <= 24h.
type Span struct{ From, To time.Duration }

func (h *BusinessHours) loc() *time.Location {
	if h.Location == nil {
		return time.UTC
	}
	return h.Location
}

// Open reports whether the desk is open at t.
func (h *BusinessHours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	t = t.In(h.loc())
	for _, d := range h.Holidays {
		if d == t.Format(time.DateOnly) {
			return false
		}
	}
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	since := t.Sub(midnight)
	for _, s := range h.Week[t.Weekday()] {
		if since >= s.From && since < s.To {
			return true
		}
	}
	return false
}

// NextOpen returns when the desk opens next after t (t itself if it is
// open), looking up to two weeks ahead; zero if it never opens.
func (h *BusinessHours) NextOpen(t time.Time) time.Time {
	if h == nil || h.Open(t) {
		return t
	}
	t = t.In(h.loc())
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	for i := 0; i < 15; i++ {
		d := day.AddDate(0, 0, i)
		for _, s := range h.Week[d.Weekday()] {
			// Add the offset as wall-clock time, so a day with a DST
			// change opens at the hour its sign says.
			open := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, d.Location()).Add(s.From)
			if open.After(t) && h.Open(open) {
				return open
			}
		}
	}
	return time.Time{}
}

// Describe is Text, or the hours written out from Week.
func (h *BusinessHours) Describe() string {
	if h == nil {
		return "always"
	}
	if h.Text != "" {
		return h.Text
	}
	var parts []string
	for i := 1; i <= 7; i++ {
		wd := time.Weekday(i % 7)
		var spans []string
		for _, s := range h.Week[wd] {
			spans = append(spans, fmt.Sprintf("%s-%s", clock(s.From), clock(s.To)))
		}
		if len(spans) > 0 {
			parts = append(parts, wd.String()[:3]+" "+strings.Join(spans, ", "))
		}
	}
	return strings.Join(parts, "; ") + " (" + h.loc().String() + ")"
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%d:%02d", int(d.Hours()), int(d.Minutes())%60)
}
