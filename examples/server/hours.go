package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseHours reads opening hours written as "Mon-Fri 09:00-14:00,15:00-18:00;
// Sat 10:00-13:00" in time zone tz, closed on the holidays (YYYY-MM-DD,
// comma-separated).
func parseHours(spec, tz, holidays string) (*chat.BusinessHours, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("-chat-tz: %w", err)
	}
	h := &chat.BusinessHours{Location: loc}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, spans, ok := strings.Cut(part, " ")
		if !ok {
			return nil, fmt.Errorf("-chat-hours %q: want DAYS HH:MM-HH:MM[,HH:MM-HH:MM]", part)
		}
		var ds []time.Weekday
		for _, d := range strings.Split(days, ",") {
			from, to, isRange := strings.Cut(strings.ToLower(d), "-")
			a, ok1 := weekdays[from]
			b, ok2 := weekdays[to]
			if !isRange {
				b, ok2 = a, ok1
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("-chat-hours: %q is not a day or range of days (Mon, Mon-Fri)", d)
			}
			for w := a; ; w = (w + 1) % 7 {
				ds = append(ds, w)
				if w == b {
					break
				}
			}
		}
		for _, s := range strings.Split(strings.TrimSpace(spans), ",") {
			from, to, ok := strings.Cut(s, "-")
			a, err1 := clockOffset(from)
			b, err2 := clockOffset(to)
			if !ok || err1 != nil || err2 != nil || a >= b {
				return nil, fmt.Errorf("-chat-hours: %q is not a span of the day (09:00-18:00)", s)
			}
			for _, w := range ds {
				h.Week[w] = append(h.Week[w], chat.Span{From: a, To: b})
			}
		}
	}
	for _, d := range strings.Split(holidays, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fmt.Errorf("-chat-holidays: %q is not a date (YYYY-MM-DD)", d)
		}
		h.Holidays = append(h.Holidays, d)
	}
	return h, nil
}

// clockOffset reads HH:MM (24:00 allowed) as an offset from midnight.
func clockOffset(s string) (time.Duration, error) {
	var hh, mm int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &hh, &mm); err != nil || hh < 0 || mm < 0 || mm > 59 ||
		hh > 24 || (hh == 24 && mm > 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}
