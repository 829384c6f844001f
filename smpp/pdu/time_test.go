package pdu

import (
	"testing"
	"time"
)

func TestTimes(t *testing.T) {
	caracas := time.FixedZone("VET", -4*3600)
	at := time.Date(2026, 11, 22, 10, 30, 15, 700_000_000, caracas)
	s := AbsoluteTime(at)
	if s != "261122103015716-" {
		t.Fatalf("AbsoluteTime = %q", s)
	}
	back, err := ParseTime(s, time.Time{})
	if err != nil || !back.Equal(at) {
		t.Fatalf("ParseTime(%q) = %v, %v", s, back, err)
	}
	if r := RelativeTime(26*time.Hour + 30*time.Second); r != "000001020030000R" {
		t.Fatalf("RelativeTime = %q", r)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := ParseTime("000001020030000R", now)
	if err != nil || !got.Equal(now.Add(26*time.Hour+30*time.Second)) {
		t.Fatalf("relative = %v, %v", got, err)
	}
	if z, err := ParseTime("", now); err != nil || !z.IsZero() {
		t.Fatal("empty time")
	}
	for _, bad := range []string{"2611221030157160", "26112210301571+", "261322103015716+", "261122103015749+", "26112210301571X+"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}
