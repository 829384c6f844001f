package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of a Modem.
var (
	// ErrClosed: the modem was closed, or its connection ended.
	ErrClosed = errors.New("modem: closed")
	// ErrTimeout: the modem did not answer a command in time. A message
	// whose PDU was written before it may have gone out (see Uncertain).
	ErrTimeout = errors.New("modem: no answer in time")
	// ErrLineTooLong: the modem sent a line over MaxLine bytes (it was
	// dropped).
	ErrLineTooLong = errors.New("modem: line too long")
	// ErrSIM: the SIM needs a person: it refused the PIN (or did not
	// answer it: it may have counted the try), wants a PIN and none is
	// configured, or wants its PUK. Do not retry on your own: a SIM locks
	// after three wrong PINs.
	ErrSIM = errors.New("modem: the SIM needs attention")
)

// Uncertain reports whether a send's error leaves its part uncertain: the
// PDU was written to the modem and no answer said whether the network
// took it (no answer in time, the connection lost, an answer without a
// message reference). Sending it again may repeat it. Any other error of
// a send means the part did not go out.
func Uncertain(err error) bool {
	var u *uncertainError
	return errors.As(err, &u)
}

// uncertainError marks the error of a part that may have gone out.
type uncertainError struct{ err error }

func (u *uncertainError) Error() string { return u.err.Error() + " (it may have gone out)" }
func (u *uncertainError) Unwrap() error { return u.err }

// Error is a modem's refusal of a command: ERROR, +CMS ERROR (SMS,
// 3GPP TS 27.005) or +CME ERROR (equipment, 27.007), with its code when
// the modem gives one (AT+CMEE=1 asks for numbers).
type Error struct {
	Command string
	Kind    string // "CMS", "CME" or "" (a bare ERROR)
	Code    int    // -1 when the modem gave text or nothing
	Text    string // the modem's words, when it gave text (AT+CMEE=2)
}

func (e *Error) Error() string {
	switch {
	case e.Kind == "":
		return fmt.Sprintf("modem: %s: ERROR", e.Command)
	case e.Code < 0:
		return fmt.Sprintf("modem: %s: +%s ERROR: %s", e.Command, e.Kind, e.Text)
	}
	return fmt.Sprintf("modem: %s: +%s ERROR %d (%s)", e.Command, e.Kind, e.Code, e.Meaning())
}

// parseError reads a final error line, or returns nil for another line.
func parseError(cmd, line string) *Error {
	if line == "ERROR" {
		return &Error{Command: cmd, Code: -1}
	}
	for _, kind := range []string{"CMS", "CME"} {
		prefix := "+" + kind + " ERROR:"
		if strings.HasPrefix(line, prefix) {
			v := strings.TrimSpace(line[len(prefix):])
			if n, err := strconv.Atoi(v); err == nil {
				return &Error{Command: cmd, Kind: kind, Code: n}
			}
			return &Error{Command: cmd, Kind: kind, Code: -1, Text: v}
		}
	}
	return nil
}

// Temporary reports whether trying again later may succeed: network
// congestion, no service, a busy SIM or service centre, a timeout; and a
// bare ERROR or an unknown code, which say nothing (as Kannel and Gammu
// do, they are retried a bounded number of times). A refused number, a
// barred destination or a malformed message are permanent.
func (e *Error) Temporary() bool {
	if e.Code < 0 {
		return true
	}
	if e.Kind == "CME" {
		switch e.Code {
		case 10, 11, 12, 13, 16, 17, 18, 262, 263: // SIM missing, PIN/PUK needed, SIM failure, wrong password
			return false
		}
		return true
	}
	_, temporary, ok := cmsMeaning(e.Code)
	return !ok || temporary
}

// Meaning is what the code stands for, in words.
func (e *Error) Meaning() string {
	if e.Kind == "CMS" {
		if m, _, ok := cmsMeaning(e.Code); ok {
			return m
		}
	}
	if e.Kind == "CME" {
		if m, ok := cmeMeanings[e.Code]; ok {
			return m
		}
	}
	return "unknown code"
}

// cmsMeaning describes a +CMS ERROR code: below 128 the network's cause
// (3GPP TS 24.011 E.2), 128-255 the service centre's TP-FCS (23.040
// 9.2.3.22), 300 and up the modem's own (27.005 3.2.5).
func cmsMeaning(code int) (meaning string, temporary, ok bool) {
	c, ok := cmsCodes[code]
	switch {
	case ok:
		return c.meaning, c.temporary, true
	case code >= 128 && code < 256:
		return "service centre failure", code&0xF0 == 0xC0 || code&0xF0 == 0xD0, true
	}
	return "", false, false
}

type cmsCode struct {
	meaning   string
	temporary bool
}

var cmsCodes = map[int]cmsCode{
	1: {"unassigned (unallocated) number", false}, 8: {"operator determined barring", false},
	10: {"call barred", false}, 21: {"short message transfer rejected", false},
	27: {"destination out of service", true}, 28: {"unidentified subscriber", false},
	29: {"facility rejected", false}, 30: {"unknown subscriber", false},
	38: {"network out of order", true}, 41: {"temporary failure", true}, 42: {"congestion", true},
	47: {"resources unavailable", true}, 50: {"requested facility not subscribed", false},
	69: {"requested facility not implemented", false}, 81: {"invalid short message transfer reference", true},
	95: {"invalid message", false}, 96: {"invalid mandatory information", false},
	97: {"message type non-existent", false}, 98: {"message not compatible with protocol state", true},
	99: {"information element non-existent", false}, 111: {"protocol error", true}, 127: {"interworking", true},
	0xC0: {"service centre busy", true}, 0xC1: {"no service centre subscription", false},
	0xC2: {"service centre system failure", true}, 0xC3: {"invalid destination address", false},
	0xC4: {"destination barred", false}, 0xC5: {"rejected: duplicate message", false},
	0xD0: {"SIM SMS storage full", true}, 0xD3: {"memory capacity exceeded", true},
	300: {"ME failure", true}, 301: {"SMS service of ME reserved", true}, 302: {"operation not allowed", false},
	303: {"operation not supported", false}, 304: {"invalid PDU mode parameter", false},
	305: {"invalid text mode parameter", false}, 310: {"SIM not inserted", false}, 311: {"SIM PIN required", false},
	312: {"PH-SIM PIN required", false}, 313: {"SIM failure", false}, 314: {"SIM busy", true},
	315: {"SIM wrong", false}, 316: {"SIM PUK required", false}, 317: {"SIM PIN2 required", false},
	318: {"SIM PUK2 required", false}, 320: {"memory failure", true}, 321: {"invalid memory index", false},
	322: {"memory full", true}, 330: {"SMSC address unknown", false}, 331: {"no network service", true},
	332: {"network timeout", true}, 340: {"no +CNMA acknowledgement expected", false}, 500: {"unknown error", true},
}

var cmeMeanings = map[int]string{
	0: "phone failure", 3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
	11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy", 15: "SIM wrong",
	16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required", 20: "memory full",
	21: "invalid index", 30: "no network service", 31: "network timeout", 100: "unknown",
	262: "SIM blocked", 263: "invalid parameter",
}

// resetLike reports whether the refusal says the modem lost the settings
// Init made (PDU mode, the PIN): it restarted.
func (e *Error) resetLike() bool {
	switch {
	case e.Kind == "CMS":
		return e.Code == 302 || e.Code == 304 || e.Code == 311
	case e.Kind == "CME":
		return e.Code == 11
	}
	return false
}
