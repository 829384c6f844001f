package store

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	m := time.Minute
	cases := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{m}, 0.9, m},
		{[]time.Duration{10 * m, 20 * m, 30 * m, 40 * m}, 0.5, 25 * m},
		{[]time.Duration{10 * m, 20 * m, 30 * m, 40 * m}, 0.9, 37 * m},
		{[]time.Duration{10 * m, 20 * m, 30 * m, 40 * m}, 1, 40 * m},
		{[]time.Duration{10 * m, 20 * m, 30 * m, 40 * m}, 0, 10 * m},
	}
	for _, c := range cases {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
	s := Summarize([]time.Duration{3 * m, m, 2 * m})
	if s.Count != 3 || s.Median != 2*m || s.P90 != 2*m+48*time.Second {
		t.Fatalf("Summarize = %+v", s)
	}
}

func TestPeriodStart(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		in   string
		p    Period
		want string
	}{
		{"2026-03-01T23:59:59Z", Day, "2026-03-01T00:00:00Z"},
		{"2026-03-01T12:00:00Z", Week, "2026-02-23T00:00:00Z"}, // Sunday
		{"2026-03-02T00:00:00Z", Week, "2026-03-02T00:00:00Z"}, // Monday
		{"2026-03-31T23:00:00-02:00", Month, "2026-04-01T00:00:00Z"},
	}
	for _, c := range cases {
		if got := PeriodStart(at(c.in), c.p); !got.Equal(at(c.want)) {
			t.Errorf("PeriodStart(%s, %s) = %v, want %s", c.in, c.p, got, c.want)
		}
	}
}

func TestTransmissionStateFinal(t *testing.T) {
	for _, s := range []TransmissionState{TxQueued, TxSubmitting, TxSent} {
		if s.Final() {
			t.Errorf("%s final", s)
		}
	}
	for _, s := range []TransmissionState{TxDelivered, TxUndeliverable, TxExpired, TxRejected, TxUnknown, TxFailed} {
		if !s.Final() {
			t.Errorf("%s not final", s)
		}
	}
}
