package store

import (
	"strconv"
	"time"
)

// Ticket numbers are date-based: the UTC date as YYYYMMDD, the day's
// counter zero-padded to at least six digits, and one check digit (Luhn,
// the same as payment cards), e.g. 20261122 000042 6 -> "202611220000426".
// The check digit lets a mail filter tell a real number in a subject tag
// from a random run of digits, and catches every single-digit typo.
const ticketCounterDigits = 6

// TicketNumber formats the number of the counter-th ticket of day (UTC).
// counter starts at 1.
func TicketNumber(day time.Time, counter int64) string {
	b := make([]byte, 0, 8+ticketCounterDigits+2)
	b = day.UTC().AppendFormat(b, "20060102")
	c := strconv.FormatInt(counter, 10)
	for i := len(c); i < ticketCounterDigits; i++ {
		b = append(b, '0')
	}
	b = append(b, c...)
	return string(append(b, luhnDigit(b)))
}

// ValidTicketNumber reports whether s is a ticket number as TicketNumber
// writes it: digits only, a date from the year 2000 on, a counter of at
// least six digits padded only to six, and the right check digit.
func ValidTicketNumber(s string) bool {
	if len(s) < 8+ticketCounterDigits+1 || len(s) > 8+18+1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if d, err := time.Parse("20060102", s[:8]); err != nil || d.Year() < 2000 {
		return false
	}
	if counter := s[8 : len(s)-1]; len(counter) > ticketCounterDigits && counter[0] == '0' {
		return false // not canonical: only the six-digit form is padded
	}
	return luhnDigit([]byte(s[:len(s)-1])) == s[len(s)-1]
}

// luhnDigit returns the Luhn check digit of the decimal digits in b.
func luhnDigit(b []byte) byte {
	sum := 0
	double := true // the rightmost payload digit is doubled
	for i := len(b) - 1; i >= 0; i-- {
		d := int(b[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}
