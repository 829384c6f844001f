package store

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTicketNumber(t *testing.T) {
	day := time.Date(2026, 11, 22, 23, 30, 0, 0, time.FixedZone("VET", -4*3600)) // 2026-11-23 UTC
	n := TicketNumber(day, 42)
	if !strings.HasPrefix(n, "20261123000042") || len(n) != 15 {
		t.Fatalf("TicketNumber = %q", n)
	}
	if !ValidTicketNumber(n) {
		t.Fatalf("%q not valid", n)
	}
	if got := TicketNumber(day, 12345678); got[8:16] != "12345678" || !ValidTicketNumber(got) {
		t.Fatalf("long counter: %q", got)
	}
	// Every single-digit change is caught by the check digit.
	for i := 0; i < len(n); i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == n[i] {
				continue
			}
			b := []byte(n)
			b[i] = d
			if ValidTicketNumber(string(b)) {
				t.Fatalf("typo %q accepted", b)
			}
		}
	}
	for _, bad := range []string{"", "2026112300004", "20261323000042" + "0", "000001100000427", "202611230000042" + "0", "2026112300004x7", "x" + n[1:]} {
		if ValidTicketNumber(bad) {
			t.Errorf("ValidTicketNumber(%q) = true", bad)
		}
	}
}

func FuzzValidTicketNumber(f *testing.F) {
	f.Add(TicketNumber(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 7))
	f.Add("99999999999999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidTicketNumber(s) {
			return
		}
		// Whatever passes is exactly what TicketNumber writes for its
		// date and counter.
		day, err := time.Parse("20060102", s[:8])
		if err != nil {
			t.Fatalf("valid number %q without date", s)
		}
		c, err := strconv.ParseInt(s[8:len(s)-1], 10, 64)
		if err != nil {
			t.Fatalf("valid number %q with counter %q: %v", s, s[8:len(s)-1], err)
		}
		if got := TicketNumber(day, c); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}
