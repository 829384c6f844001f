package modem

import (
	"context"
	"strconv"
	"strings"
)

// Registration is the network registration state (AT+CREG?).
type Registration int

// Registration states of 3GPP TS 27.007 7.2.
const (
	NotRegistered Registration = 0 // not searching
	Home          Registration = 1
	Searching     Registration = 2
	Denied        Registration = 3
	UnknownReg    Registration = 4
	Roaming       Registration = 5
)

func (r Registration) String() string {
	switch r {
	case NotRegistered:
		return "not registered"
	case Home:
		return "home network"
	case Searching:
		return "searching"
	case Denied:
		return "registration denied"
	case Roaming:
		return "roaming"
	}
	return "unknown"
}

// Registered reports whether the modem can send: home or roaming.
func (r Registration) Registered() bool { return r == Home || r == Roaming }

// Health is a snapshot of the modem's link.
type Health struct {
	Registration Registration
	// SignalDBm is the received signal strength (-113 to -51 dBm); 0 when
	// the modem does not know it.
	SignalDBm int
	// BitErrorRate is RXQUAL 0 (best) to 7; -1 when unknown.
	BitErrorRate int
	Operator     string // the network's name (AT+COPS?), when the modem says
}

// Health asks the modem for registration, signal quality and operator.
func (m *Modem) Health(ctx context.Context) (Health, error) {
	h := Health{Registration: UnknownReg, BitErrorRate: -1}
	lines, err := m.exec(ctx, "AT+CREG?", "+CREG:", 0)
	if err != nil {
		return h, err
	}
	if len(lines) > 0 {
		f := fields(lines[0], "+CREG:")
		if len(f) >= 2 {
			if n, err := strconv.Atoi(f[1]); err == nil {
				h.Registration = Registration(n)
			}
		}
	}
	lines, err = m.exec(ctx, "AT+CSQ", "+CSQ:", 0)
	if err != nil {
		return h, err
	}
	if len(lines) > 0 {
		f := fields(lines[0], "+CSQ:")
		if len(f) >= 2 {
			if rssi, err := strconv.Atoi(f[0]); err == nil && rssi >= 0 && rssi <= 31 {
				h.SignalDBm = -113 + 2*rssi
			}
			if ber, err := strconv.Atoi(f[1]); err == nil && ber >= 0 && ber <= 7 {
				h.BitErrorRate = ber
			}
		}
	}
	if lines, err := m.exec(ctx, "AT+COPS?", "+COPS:", 0); err == nil && len(lines) > 0 {
		f := fields(lines[0], "+COPS:")
		if len(f) >= 3 {
			h.Operator = strings.Trim(f[2], `"`)
		}
	}
	return h, nil
}

// fields splits an information line's values at commas.
func fields(line, prefix string) []string {
	f := strings.Split(strings.TrimPrefix(line, prefix), ",")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return f
}
