package store

import (
	"math"
	"slices"
	"time"
)

// Summarize computes [DurationStats] of ds (which it sorts in place).
func Summarize(ds []time.Duration) DurationStats {
	slices.Sort(ds)
	return DurationStats{Count: len(ds), Median: Percentile(ds, 0.5), P90: Percentile(ds, 0.9)}
}

// Percentile returns the p-th (0..1) percentile of sorted durations with
// linear interpolation between the nearest ranks, the definition of
// PostgreSQL's percentile_cont. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return sorted[lo]
	}
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo])))
}

// PeriodStart returns the start (UTC) of the period p containing t: the
// day, the week beginning on Monday, or the month.
func PeriodStart(t time.Time, p Period) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p {
	case Week:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		return d.AddDate(0, 0, -back)
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}
