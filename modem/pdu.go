package modem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

// ErrBadPDU is the error of a TPDU that cannot be read.
var ErrBadPDU = errors.New("modem: malformed PDU")

func badPDU(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadPDU, fmt.Sprintf(format, args...))
}

// Types of address (3GPP TS 23.040 9.1.2.5).
const (
	toaInternational = 0x91
	toaUnknown       = 0x81
	toaAlphanumeric  = 0xD0
)

// appendAddress appends a TP address: its length in digits, its type and
// its digits as swapped semi-octets. A number starting with + or made of
// 8 or more digits with a country code is international; the gateway
// gives numbers in international form without the +.
func appendAddress(dst []byte, number string, international bool) ([]byte, error) {
	number = strings.TrimPrefix(number, "+")
	if number == "" || len(number) > 20 || strings.Trim(number, "0123456789") != "" {
		return dst, fmt.Errorf("modem: %q is not a phone number", number)
	}
	toa := byte(toaUnknown)
	if international {
		toa = toaInternational
	}
	dst = append(dst, byte(len(number)), toa)
	return appendSemiOctets(dst, number), nil
}

// appendSemiOctets appends digits two to an octet, low nibble first, F-padded.
func appendSemiOctets(dst []byte, digits string) []byte {
	for i := 0; i < len(digits); i += 2 {
		lo := digits[i] - '0'
		hi := byte(0xF)
		if i+1 < len(digits) {
			hi = digits[i+1] - '0'
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst
}

// appendSCA appends the service centre address that precedes a TPDU sent
// with AT+CMGS: empty (00, the SIM's) or the number given.
func appendSCA(dst []byte, smsc string) ([]byte, error) {
	if smsc == "" {
		return append(dst, 0), nil
	}
	digits := strings.TrimPrefix(smsc, "+")
	if strings.Trim(digits, "0123456789") != "" || digits == "" || len(digits) > 20 {
		return dst, fmt.Errorf("modem: SMSC %q is not a phone number", smsc)
	}
	dst = append(dst, byte(1+(len(digits)+1)/2), toaInternational)
	return appendSemiOctets(dst, digits), nil
}

// reader reads a TPDU's fields.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = badPDU("ends before %s", what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = badPDU("ends within %s", what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// address reads a TP address; alphanumeric ones (a sender name) are
// decoded from packed GSM 7-bit.
func (r *reader) address(what string) string {
	digits := int(r.byte(what + " length"))
	toa := r.byte(what + " type")
	raw := r.bytes((digits+1)/2, what)
	if r.err != nil {
		return ""
	}
	if toa&0x70 == 0x50 { // alphanumeric: digits counts semi-octets of packed septets
		s, err := coding.DecodeGSM7(coding.Unpack(nil, raw, 0)[:digits*4/7])
		if err != nil {
			r.err = badPDU("%s: %v", what, err)
		}
		return s
	}
	var b strings.Builder
	if toa&0x70 == 0x10 {
		b.WriteByte('+')
	}
	for i := range digits {
		v := raw[i/2]
		if i%2 == 1 {
			v >>= 4
		}
		v &= 0xF
		switch {
		case v <= 9:
			b.WriteByte('0' + v)
		case v == 0xA:
			b.WriteByte('*')
		case v == 0xB:
			b.WriteByte('#')
		case v == 0xF:
		default:
			b.WriteByte("abc"[v-0xC])
		}
	}
	return b.String()
}

// timestamp reads a TP-SCTS or TP-DT: swapped semi-octets of year, month,
// day, hour, minute, second and the zone in quarter hours.
func (r *reader) timestamp(what string) time.Time {
	raw := r.bytes(7, what)
	if r.err != nil {
		return time.Time{}
	}
	n := func(b byte) int { return int(b&0xF)*10 + int(b>>4) }
	zone := int(raw[6]&0x7)*10 + int(raw[6]>>4)
	if raw[6]&0x8 != 0 {
		zone = -zone
	}
	year := 2000 + n(raw[0])
	if year >= 2090 { // two digits: the 1990s (GSM began in 1991)
		year -= 100
	}
	t := time.Date(year, time.Month(n(raw[1])), n(raw[2]), n(raw[3]), n(raw[4]), n(raw[5]), 0,
		time.FixedZone("", zone*15*60))
	if t.Month() != time.Month(n(raw[1])) || n(raw[1]) == 0 || n(raw[3]) > 23 || n(raw[4]) > 59 || n(raw[5]) > 59 {
		return time.Time{} // a modem's garbage clock: no time rather than a wrong one
	}
	return t
}

// skipSCA drops the service centre address in front of a received PDU
// whose TPDU has tpduLen octets (the <length> of +CMGR, +CMGL, +CMT and
// +CDS): modems put the address in front, or (some, in +CDS) not. A PDU
// of exactly tpduLen octets has none; otherwise the address is read by
// its own length octet, whatever tpduLen says (real modems give lengths
// two octets off; python-gsmmodem's and Gammu's readers ignore them too).
func (r *reader) skipSCA(tpduLen int) {
	if tpduLen > 0 && len(r.b) == tpduLen {
		return
	}
	n := int(r.byte("SMSC length"))
	if n > 11 {
		r.err = badPDU("an SMSC address of %d octets", n)
		return
	}
	r.bytes(n, "SMSC address")
}

// DecodeHex reads a PDU as modems write it: hexadecimal digits.
func DecodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, badPDU("not hexadecimal: %v", err)
	}
	return b, nil
}

// messageType is TP-MTI of a received PDU (0 SMS-DELIVER, 2
// SMS-STATUS-REPORT), its SMSC address skipped as the parsers skip it.
func messageType(pdu []byte, tpduLen int) (byte, error) {
	r := &reader{b: pdu}
	r.skipSCA(tpduLen)
	first := r.byte("first octet")
	return first & 0x03, r.err
}

// Deliver is a received SMS (SMS-DELIVER), or one part of a long one.
type Deliver struct {
	From      string // +international or national digits, or a sender name
	SCTS      time.Time
	DCS       byte
	UDH       []coding.IE
	Concat    coding.Concat // Total 0: not a part
	Text      string        // this PDU's text
	Data      []byte        // the payload in concatenable form (unpacked septets, UCS-2 or 8-bit octets)
	Languages [2]coding.Language
}

// ParseDeliver reads an SMS-DELIVER as +CMGR and +CMGL give it: with
// its SMSC address in front, the TPDU of tpduLen octets (see skipSCA).
func ParseDeliver(pdu []byte, tpduLen int) (Deliver, error) {
	r := &reader{b: pdu}
	r.skipSCA(tpduLen)
	first := r.byte("first octet")
	if r.err == nil && first&0x03 != 0 {
		return Deliver{}, badPDU("message type %d is not SMS-DELIVER", first&0x03)
	}
	var d Deliver
	d.From = r.address("originating address")
	r.byte("protocol identifier")
	d.DCS = r.byte("data coding scheme")
	d.SCTS = r.timestamp("service centre time stamp")
	udl := int(r.byte("user data length"))
	if r.err != nil {
		return Deliver{}, r.err
	}
	return d, d.userData(r.b, udl, first&0x40 != 0)
}

// alphabet of a TP-DCS (3GPP TS 23.038 4): GSM 7-bit, 8-bit data or UCS-2.
func alphabet(dcs byte) coding.DataCoding {
	switch {
	case dcs&0xC0 == 0x00, dcs&0xC0 == 0x40: // general data coding (compressed or not)
		switch dcs & 0x0C {
		case 0x04:
			return coding.DataCoding(0x04)
		case 0x08:
			return coding.DataCoding(0x08)
		}
		return coding.DataCoding(0x00)
	case dcs&0xF0 == 0xE0: // message waiting, UCS-2
		return coding.DataCoding(0x08)
	case dcs&0xF0 == 0xF0: // data coding / message class
		if dcs&0x04 != 0 {
			return coding.DataCoding(0x04)
		}
	}
	return coding.DataCoding(0x00)
}

// userData reads TP-UD of udl units (septets or octets).
func (d *Deliver) userData(ud []byte, udl int, udhi bool) error {
	dc := alphabet(d.DCS)
	gsm := dc.Alphabet() == coding.GSM7
	hdrOctets := 0
	if udhi {
		if len(ud) < 1 {
			return badPDU("user data header missing")
		}
		hdrOctets = 1 + int(ud[0])
		ies, _, err := coding.ParseUDH(ud)
		if err != nil {
			return badPDU("user data header: %v", err)
		}
		d.UDH = ies
		if c, ok := coding.ConcatFromUDH(ies); ok {
			d.Concat = c
		}
		d.Languages[0], d.Languages[1] = coding.LanguagesFromUDH(ies)
	}
	if gsm {
		if need := (udl*7 + 7) / 8; len(ud) < need || udl > 160 {
			return badPDU("%d septets announced, %d octets given", udl, len(ud))
		}
		fill := 0
		if hdrOctets > 0 {
			fill = (7 - hdrOctets*8%7) % 7
		}
		skip := (hdrOctets*8 + fill) / 7
		if skip > udl {
			return badPDU("user data header longer than the user data")
		}
		septets := coding.Unpack(nil, ud[hdrOctets:], fill)
		if n := udl - skip; len(septets) > n {
			septets = septets[:n]
		}
		d.Data = septets
		text, err := coding.DecodeGSM7Lang(septets, d.Languages[0], d.Languages[1])
		if err != nil {
			return badPDU("text: %v", err)
		}
		d.Text = text
		return nil
	}
	if udl > len(ud) || udl > 140 || hdrOctets > udl {
		return badPDU("%d octets announced, %d given", udl, len(ud))
	}
	d.Data = ud[hdrOctets:udl]
	text, err := coding.Decode(d.Data, dc)
	if err != nil {
		return badPDU("text: %v", err)
	}
	d.Text = text
	return nil
}

// StatusReport is an SMS-STATUS-REPORT: what became of a message sent
// with a status report requested, identified by its message reference.
type StatusReport struct {
	Ref       byte   // TP-MR of the SMS-SUBMIT it reports on
	Recipient string // TP-RA
	SCTS      time.Time
	Done      time.Time // TP-DT: when the status was reached
	Status    byte      // TP-ST
}

// ParseStatusReport reads an SMS-STATUS-REPORT as +CDS gives it, the
// TPDU of tpduLen octets with or without the SMSC address in front.
func ParseStatusReport(pdu []byte, tpduLen int) (StatusReport, error) {
	r := &reader{b: pdu}
	r.skipSCA(tpduLen)
	first := r.byte("first octet")
	if r.err == nil && first&0x03 != 0x02 {
		return StatusReport{}, badPDU("message type %d is not SMS-STATUS-REPORT", first&0x03)
	}
	var s StatusReport
	s.Ref = r.byte("message reference")
	s.Recipient = r.address("recipient address")
	s.SCTS = r.timestamp("service centre time stamp")
	s.Done = r.timestamp("discharge time")
	s.Status = r.byte("status")
	return s, r.err
}

// Final reports whether the status is an outcome: the service centre no
// longer tries (3GPP TS 23.040 9.2.3.15: 0x20-0x3F are temporary errors
// it still retries).
func (s StatusReport) Final() bool { return s.Status < 0x20 || s.Status >= 0x40 }

// State is the status as the receipt states of the SMPP path: delivered,
// expired (validity period), rejected, undeliverable (other permanent
// errors and temporary ones given up), or unknown.
func (s StatusReport) State() store.TransmissionState {
	switch st := s.Status; {
	case st <= 0x02:
		return store.TxDelivered
	case st < 0x20:
		return store.TxUnknown // reserved completed values
	case st < 0x40:
		return "" // still trying: not an outcome
	case st == 0x46:
		return store.TxExpired
	case st == 0x47 || st == 0x48 || st == 0x43:
		return store.TxRejected // deleted by the sender or the SC, or refused as a duplicate
	}
	return store.TxUndeliverable
}

// Submit is one SMS-SUBMIT ready for AT+CMGS: the PDU in hexadecimal and
// the TPDU's length in octets (without the SMSC address).
type Submit struct {
	Hex    string
	Length int
}

// SubmitOptions say how messages are sent.
type SubmitOptions struct {
	// SMSC is the service centre number; "" uses the SIM's.
	SMSC string
	// StatusReport asks for a status report per part (TP-SRR).
	StatusReport bool
	// Validity is the relative validity period (0: the service centre's
	// default); it is rounded to what TP-VP can say (5 min to 63 weeks).
	Validity time.Duration
	// National sends destinations as national numbers (type unknown)
	// rather than international.
	National bool
}

// submitDCS is the TP-DCS of an SMPP data coding (see EncodeSubmit).
func submitDCS(dc coding.DataCoding) (byte, error) {
	switch {
	case dc == 0x00, dc == 0x08, dc == 0x04, dc >= 0xF0 && dc <= 0xF3:
		return byte(dc), nil
	case dc == 0x02:
		return 0x04, nil // 8-bit data
	}
	return 0, fmt.Errorf("modem: data coding %#02x has no TP-DCS: send GSM 7-bit (0), UCS-2 (8) or 8-bit data (4)", byte(dc))
}

// EncodeSubmit builds the SMS-SUBMITs of a message split by coding.Split
// (UDH methods, unpacked GSM 7-bit): one per segment. The SMPP data
// coding is written as the TP-DCS that says the same (3GPP TS 23.038):
// GSM 7-bit (0x00, and the message class codings 0xF0-0xF3), UCS-2
// (0x08), 8-bit data (0x02 and 0x04). The SMPP codings that have no
// TP-DCS (IA5, Latin-1, JIS, Cyrillic ...) are refused.
func EncodeSubmit(to string, dc coding.DataCoding, segs []coding.Segment, o SubmitOptions) ([]Submit, error) {
	tpDCS, err := submitDCS(dc)
	if err != nil {
		return nil, err
	}
	out := make([]Submit, 0, len(segs))
	for _, seg := range segs {
		b, err := appendSCA(nil, o.SMSC)
		if err != nil {
			return nil, err
		}
		sca := len(b)
		first := byte(0x01) // SMS-SUBMIT
		if o.Validity > 0 {
			first |= 0x10 // relative validity period
		}
		if o.StatusReport {
			first |= 0x20
		}
		if seg.UDHI {
			first |= 0x40
		}
		b = append(b, first, 0x00) // TP-MR 0: the modem numbers it and answers +CMGS: <mr>
		if b, err = appendAddress(b, to, !o.National); err != nil {
			return nil, err
		}
		b = append(b, 0x00, tpDCS) // TP-PID, TP-DCS
		if o.Validity > 0 {
			b = append(b, relativeVP(o.Validity))
		}
		ud := seg.ShortMessage
		if dc.Alphabet() != coding.GSM7 {
			if len(ud) > 140 {
				return nil, fmt.Errorf("modem: a part of %d octets", len(ud))
			}
			b = append(b, byte(len(ud)))
			b = append(b, ud...)
		} else {
			hdr := 0
			if seg.UDHI && len(ud) > 0 {
				hdr = 1 + int(ud[0])
			}
			fill := 0
			if hdr > 0 {
				fill = (7 - hdr*8%7) % 7
			}
			septets := ud[hdr:]
			udl := (hdr*8+fill)/7 + len(septets)
			if udl > 160 {
				return nil, fmt.Errorf("modem: a part of %d septets", udl)
			}
			b = append(b, byte(udl))
			b = append(b, ud[:hdr]...)
			b = coding.Pack(b, septets, fill)
		}
		out = append(out, Submit{Hex: strings.ToUpper(hex.EncodeToString(b)), Length: len(b) - sca})
	}
	return out, nil
}

// relativeVP is TP-VP in relative format for d (3GPP TS 23.040 9.2.3.12.1).
func relativeVP(d time.Duration) byte {
	switch m := int(d / time.Minute); {
	case m <= 12*60:
		return byte(max(m/5, 1) - 1)
	case m <= 24*60:
		return byte(143 + (m-12*60)/30)
	case m <= 30*24*60:
		return byte(166 + m/(24*60))
	}
	w := int(d / (7 * 24 * time.Hour))
	return byte(min(192+w, 255))
}

// Submitted is an SMS-SUBMIT as a service centre reads it (the
// simulator of package modemtest does).
type Submitted struct {
	Ref          byte
	To           string
	StatusReport bool
	Deliver      // the user data, read as a deliver's: Text, Concat, UDH
}

// ParseSubmit reads an SMS-SUBMIT written for AT+CMGS: the SMSC address,
// then a TPDU of tpduLen octets.
func ParseSubmit(pdu []byte, tpduLen int) (Submitted, error) {
	r := &reader{b: pdu}
	r.skipSCA(tpduLen)
	first := r.byte("first octet")
	if r.err == nil && first&0x03 != 0x01 {
		return Submitted{}, badPDU("message type %d is not SMS-SUBMIT", first&0x03)
	}
	var s Submitted
	s.StatusReport = first&0x20 != 0
	s.Ref = r.byte("message reference")
	s.To = r.address("destination address")
	r.byte("protocol identifier")
	s.DCS = r.byte("data coding scheme")
	switch first & 0x18 {
	case 0x10:
		r.byte("validity period")
	case 0x08, 0x18:
		r.bytes(7, "validity period")
	}
	udl := int(r.byte("user data length"))
	if r.err != nil {
		return Submitted{}, r.err
	}
	return s, s.userData(r.b, udl, first&0x40 != 0)
}

// EncodeDeliver builds the SMS-DELIVERs of text from a number (as a
// service centre sends them; for simulators and tests), with the SMSC
// address smsc in front: hex and TPDU length per part.
func EncodeDeliver(from, smsc, text string, scts time.Time, ref uint16) ([]Submit, error) {
	dc, segs, err := coding.Split(text, coding.SplitOptions{Ref: ref})
	if err != nil {
		return nil, err
	}
	subs, err := EncodeSubmit(from, dc, segs, SubmitOptions{SMSC: smsc})
	if err != nil {
		return nil, err
	}
	for i, s := range subs {
		b, _ := DecodeHex(s.Hex)
		sca := len(b) - s.Length
		// SUBMIT: first, MR, DA, PID, DCS, UD. DELIVER: first, OA, PID, DCS, SCTS, UD.
		first := b[sca]&0x40 | 0x04 // UDHI kept; no more messages to send
		rest := b[sca+2:]           // from the address on
		alen := 2 + (int(rest[0])+1)/2
		out := append([]byte{}, b[:sca]...)
		out = append(out, first)
		out = append(out, rest[:alen+2]...) // address, PID, DCS
		out = appendSCTS(out, scts)
		out = append(out, rest[alen+2:]...)
		subs[i] = Submit{Hex: strings.ToUpper(hex.EncodeToString(out)), Length: len(out) - sca}
	}
	return subs, nil
}

// EncodeStatusReport builds an SMS-STATUS-REPORT (for simulators and
// tests) with the SMSC address smsc in front, or none when withSCA is
// false (as some modems give +CDS).
func EncodeStatusReport(s StatusReport, smsc string, withSCA bool) (Submit, error) {
	var b []byte
	var err error
	if withSCA {
		if b, err = appendSCA(b, smsc); err != nil {
			return Submit{}, err
		}
	}
	sca := len(b)
	b = append(b, 0x06, s.Ref) // SMS-STATUS-REPORT, no more messages
	if b, err = appendAddress(b, strings.TrimPrefix(s.Recipient, "+"), true); err != nil {
		return Submit{}, err
	}
	b = appendSCTS(b, s.SCTS)
	b = appendSCTS(b, s.Done)
	b = append(b, s.Status)
	return Submit{Hex: strings.ToUpper(hex.EncodeToString(b)), Length: len(b) - sca}, nil
}

// appendSCTS appends a time stamp in swapped semi-octets, zone in
// quarter hours.
func appendSCTS(dst []byte, t time.Time) []byte {
	sw := func(n int) byte { return byte(n%10)<<4 | byte(n/10%10) }
	_, off := t.Zone()
	q := off / (15 * 60)
	z := sw(abs(q))
	if q < 0 {
		z |= 0x08
	}
	return append(dst, sw(t.Year()%100), sw(int(t.Month())), sw(t.Day()), sw(t.Hour()), sw(t.Minute()), sw(t.Second()), z)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
