package pdu

import (
	"errors"
	"fmt"
	"time"
)

// SMPP times (schedule_delivery_time, validity_period, final_date) are 16
// characters, "YYMMDDhhmmsstnnp":
//
//   - absolute: p is '+' or '-', the offset of local time from UTC in
//     quarter hours nn (00-48), t tenths of a second;
//   - relative: "YYMMDDhhmmss000R", a period from the SMSC's current time.
//
// An empty string means "immediately" (schedule) or "SMSC default"
// (validity).

var errTimeFormat = errors.New(`time is not "YYMMDDhhmmsstnnp" (p one of + - R)`)

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func num(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// checkTime validates a non-empty SMPP time.
func checkTime(s string) error {
	if len(s) != 16 || !digits(s[:15]) {
		return errTimeFormat
	}
	switch s[15] {
	case 'R':
		return nil
	case '+', '-':
	default:
		return errTimeFormat
	}
	mo, d, h, mi, se, q := num(s[2:4]), num(s[4:6]), num(s[6:8]), num(s[8:10]), num(s[10:12]), num(s[13:15])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 || q > 48 {
		return fmt.Errorf("absolute time %q out of range", s)
	}
	return nil
}

// AbsoluteTime formats t as an absolute SMPP time in t's time zone, to the
// tenth of a second. Zones must be whole quarter hours from UTC.
func AbsoluteTime(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b := t.AppendFormat(make([]byte, 0, 16), "060102150405")
	b = append(b, byte('0'+t.Nanosecond()/100000000))
	q := off / 900
	b = append(b, byte('0'+q/10), byte('0'+q%10), sign)
	return string(b)
}

// RelativeTime formats d (at most 99 years) as a relative SMPP time. Days
// beyond 30 become months of 30 days and years of 365 days.
func RelativeTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days := s / 86400
	y := days / 365
	days %= 365
	mo := days / 30
	days %= 30
	if y > 99 {
		y = 99
	}
	return fmt.Sprintf("%02d%02d%02d%02d%02d%02d000R", y, mo, days, s%86400/3600, s%3600/60, s%60)
}

// ParseTime interprets an SMPP time: an absolute one as the instant it
// names, a relative one as that period after now. The zero time is
// returned for "".
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if err := checkTime(s); err != nil {
		return time.Time{}, err
	}
	if s[15] == 'R' {
		return now.AddDate(num(s[0:2]), num(s[2:4]), num(s[4:6])).
			Add(time.Duration(num(s[6:8]))*time.Hour + time.Duration(num(s[8:10]))*time.Minute +
				time.Duration(num(s[10:12]))*time.Second), nil
	}
	off := num(s[13:15]) * 900
	if s[15] == '-' {
		off = -off
	}
	loc := time.FixedZone("", off)
	return time.Date(2000+num(s[0:2]), time.Month(num(s[2:4])), num(s[4:6]), num(s[6:8]), num(s[8:10]),
		num(s[10:12]), num(s[12:13])*100000000, loc), nil
}
