package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadNumber is returned (wrapped) for a number that is not a valid
// international number after normalization.
var ErrBadNumber = errors.New("gateway: bad number")

// Numbering says how to turn the numbers clients write into E.164
// digits (without '+'), before routing.
type Numbering struct {
	// CountryCode is prepended to national numbers, e.g. "58".
	CountryCode string
	// NationalPrefix marks a national number, e.g. "0" ("04121234567"
	// becomes "584121234567"). Empty: no national numbers.
	NationalPrefix string
	// InternationalPrefix marks an international number besides '+'
	// (default "00").
	InternationalPrefix string
}

// Normalize returns number as E.164 digits without '+': spaces, dots,
// dashes and parentheses are dropped; "+", the international prefix or
// the national prefix are resolved. The result has 8 to 15 digits.
func (n Numbering) Normalize(number string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(number) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: %q has %q", ErrBadNumber, number, r)
		}
	}
	s := b.String()
	intl := n.InternationalPrefix
	if intl == "" {
		intl = "00"
	}
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, intl):
		s = s[len(intl):]
	case n.NationalPrefix != "" && strings.HasPrefix(s, n.NationalPrefix):
		if n.CountryCode == "" {
			return "", fmt.Errorf("%w: %q is national and no country code is configured", ErrBadNumber, number)
		}
		s = n.CountryCode + s[len(n.NationalPrefix):]
	}
	if len(s) < 8 || len(s) > 15 || s[0] == '0' {
		return "", fmt.Errorf("%w: %q is not an international number (8 to 15 digits)", ErrBadNumber, number)
	}
	return s, nil
}
