package coding

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Receipt is a delivery receipt: the SMSC's word on a submitted message,
// from the de-facto text format of SMPP 3.4 appendix B
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// and from the receipted_message_id, message_state and network_error_code
// TLVs, which take precedence when both are present.
type Receipt struct {
	ID         string // as the SMSC wrote it; see NormalizeID
	Submitted  int    // sub: messages submitted (-1 if absent)
	Delivered  int    // dlvrd: messages delivered (-1 if absent)
	SubmitDate time.Time
	DoneDate   time.Time
	Stat       string // DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE, SKIPPED
	Err        string // network-specific error code, as written
	Text       string // the start of the original message
	// From the TLVs, when present.
	State        uint8 // pdu.State*; derived from Stat when no TLV
	NetworkType  uint8
	NetworkError uint16
}

// Stat values and message states.
// StatState returns the message state (pdu.State*) a receipt's stat
// names, e.g. pdu.StateDelivered for "DELIVRD"; 0 (scheduled) when it
// names none.
func StatState(stat string) uint8 { return statStates[stat] }

var statStates = map[string]uint8{
	"ENROUTE": pdu.StateEnroute, "DELIVRD": pdu.StateDelivered, "EXPIRED": pdu.StateExpired,
	"DELETED": pdu.StateDeleted, "UNDELIV": pdu.StateUndeliverable, "ACCEPTD": pdu.StateAccepted,
	"UNKNOWN": pdu.StateUnknown, "REJECTD": pdu.StateRejected, "SKIPPED": pdu.StateSkipped,
	"SCHEDULED": pdu.StateScheduled,
}

// stateStats names message states as receipts write them.
var stateStats = map[uint8]string{
	pdu.StateScheduled: "SCHEDULED", pdu.StateEnroute: "ENROUTE", pdu.StateDelivered: "DELIVRD",
	pdu.StateExpired: "EXPIRED", pdu.StateDeleted: "DELETED", pdu.StateUndeliverable: "UNDELIV",
	pdu.StateAccepted: "ACCEPTD", pdu.StateUnknown: "UNKNOWN", pdu.StateRejected: "REJECTD",
	pdu.StateSkipped: "SKIPPED",
}

// Some SMSCs spell the states out.
var statAliases = map[string]string{
	"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "ACCEPTED": "ACCEPTD", "REJECTED": "REJECTD",
}

// Final reports whether the receipt's state is final (delivered, expired,
// deleted, undeliverable, rejected, unknown, skipped).
func (r Receipt) Final() bool {
	switch r.State {
	case pdu.StateEnroute, pdu.StateAccepted, pdu.StateScheduled:
		return false
	}
	return r.Stat != "" || r.State != 0
}

// receiptKeys are the keys of the de-facto receipt text, by the names
// SMSCs write them in (lower case, spaces and underscores removed), and
// the canonical one each stands for.
var receiptKeys = map[string]string{
	"id": "id", "msgid": "id", "messageid": "id",
	"sub": "sub", "dlvrd": "dlvrd", "submitdate": "submit date", "donedate": "done date",
	"stat": "stat", "state": "stat", "status": "stat",
	"err": "err", "error": "err", "errorcode": "err", "text": "text",
}

// twoWordKeys are the keys written as two words ("submit date").
var twoWordKeys = map[string]bool{"submitdate": true, "donedate": true, "messageid": true, "errorcode": true}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// keyAt reads a "key:" at s[i:] (s lower-cased): one word, or two for the
// known two-word keys, then optional spaces and a colon. It returns the
// key's canonical name ("" for a key the receipt format does not know)
// and the index just after the colon.
func keyAt(s string, i int) (name string, val int, ok bool) {
	word := func(j int) int {
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		return j
	}
	colon := func(j int) (int, bool) {
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == ':' {
			return j + 1, true
		}
		return 0, false
	}
	e1 := word(i)
	if e1 == i {
		return "", 0, false
	}
	w1 := strings.ReplaceAll(s[i:e1], "_", "")
	if v, ok := colon(e1); ok {
		return receiptKeys[w1], v, true
	}
	j := e1
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if e2 := word(j); e2 > j && twoWordKeys[w1+strings.ReplaceAll(s[j:e2], "_", "")] {
		if v, ok := colon(e2); ok {
			return receiptKeys[w1+strings.ReplaceAll(s[j:e2], "_", "")], v, true
		}
	}
	return "", 0, false
}

// ParseReceipt reads the text of a delivery receipt. It is tolerant, as
// SMSCs write receipts in many ways (see the table of real receipts in
// the tests): keys in any case and order, spelled out or with aliases
// (state, status, error, message_id), extra spaces, missing fields; a key
// it does not know ends the value before it without being taken for
// part of it. Text runs to the end, or to a field not seen yet (some
// SMSCs write text before stat). Dates are read with or without seconds
// and with a two- or four-digit year, in loc (nil means UTC: receipts do
// not say their zone). ok is false only when neither an id nor a stat
// was found.
func ParseReceipt(msg string, loc *time.Location) (r Receipt, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	r.Submitted, r.Delivered = -1, -1
	lower := asciiLower(msg) // byte offsets must match msg's
	type field struct {
		key        string // canonical; "" unknown
		start, val int
	}
	var fs []field
	seen := map[string]bool{}
	inText := false
	for i := 0; i < len(lower); i++ {
		if i > 0 && !isSpace(lower[i-1]) {
			continue
		}
		name, v, ok := keyAt(lower, i)
		if !ok || inText && (name == "" || seen[name]) {
			continue // inside the text only a field not seen yet ends it
		}
		fs = append(fs, field{name, i, v})
		seen[name] = true
		inText = name == "text"
		i = v - 1
	}
	for n, f := range fs {
		end := len(msg)
		if n+1 < len(fs) {
			end = fs[n+1].start
		}
		val := strings.TrimSpace(msg[f.val:end])
		switch f.key {
		case "id":
			r.ID = val
		case "sub":
			r.Submitted = atoiOr(val, -1)
		case "dlvrd":
			r.Delivered = atoiOr(val, -1)
		case "submit date":
			r.SubmitDate = receiptTime(val, loc)
		case "done date":
			r.DoneDate = receiptTime(val, loc)
		case "stat":
			st := strings.ToUpper(val)
			if a, ok := statAliases[st]; ok {
				st = a
			}
			r.Stat = st
			r.State = statStates[st]
		case "err":
			r.Err = val
		case "text":
			r.Text = strings.TrimLeft(strings.TrimRight(msg[f.val:end], " \t\r\n"), " ")
			if end == len(msg) {
				r.Text = strings.TrimLeft(msg[f.val:], " ") // the rest, as it is
			}
		}
	}
	return r, r.ID != "" || r.Stat != ""
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func receiptTime(s string, loc *time.Location) time.Time {
	// Twelve digits are yymmddhhmmss, else yyyymmddhhmm (a four-digit
	// year without seconds: years 2013 on cannot be read as months).
	for _, layout := range []string{"0601021504", "060102150405", "200601021504", "20060102150405"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// ReceiptFromDeliverSM extracts a receipt from a deliver_sm (or data_sm
// converted to one): the text of its short_message or message_payload,
// overridden by the receipt TLVs. ok is false when the PDU is not a
// receipt (esm_class has no receipt flag and no receipt TLV is present).
func ReceiptFromDeliverSM(p *pdu.DeliverSM, loc *time.Location) (Receipt, bool) {
	msg := p.ShortMessage
	if len(msg) == 0 {
		msg, _ = p.TLVs.MessagePayload()
	}
	r, ok := ParseReceipt(string(msg), loc)
	if id, has := p.TLVs.ReceiptedMessageID(); has {
		r.ID, ok = id, true
	}
	if st, has := p.TLVs.MessageState(); has {
		r.State, ok = st, true
		if r.Stat == "" {
			r.Stat = stateStats[st]
		}
	}
	if nt, code, has := p.TLVs.NetworkErrorCode(); has {
		r.NetworkType, r.NetworkError = nt, code
		if r.Err == "" {
			r.Err = strconv.Itoa(int(code))
		}
	}
	isReceipt := p.ESMClass&0x3C == 0x04 || p.ESMClass&0x3C == 0x08 || p.ESMClass&0x3C == 0x20
	return r, ok && (isReceipt || p.TLVs.Has(pdu.TagReceiptedMessageID))
}

// IDFormat is how an SMSC writes message ids: many write the id of a
// submit_sm_resp in one base and the same id in its receipts in another
// (hex in one, decimal in the other), with or without leading zeros.
type IDFormat int

// Message id formats.
const (
	IDText    IDFormat = iota // compared as written
	IDDecimal                 // a decimal number
	IDHex                     // a hexadecimal number, in either case
)

// NormalizeID returns id written in format f in one canonical form, so
// that an id from a submit_sm_resp and one from a receipt compare equal
// when they name the same message: for the number formats, the number in
// decimal without leading zeros (of any size, not only 64 bits); for
// IDText, id as it is. ok is false when id is not a number of format f
// (id is then returned as it is). Which format each side uses is the
// SMSC's choice: say it, never guess it (an id like "10" is a number in
// both bases).
func NormalizeID(id string, f IDFormat) (string, bool) {
	base := 10
	switch f {
	case IDText:
		return id, true
	case IDHex:
		base = 16
	}
	if id == "" || (base == 10 && !isDigits(id)) || (base == 16 && !isHex(id)) {
		return id, false
	}
	n, ok := new(big.Int).SetString(id, base)
	if !ok || n.Sign() < 0 {
		return id, false
	}
	return n.Text(10), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; (s[i] < '0' || s[i] > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the receipt in the de-facto text format (dates in their
// own zone, to the minute; text cut to 20 characters).
func (r Receipt) String() string {
	date := func(t time.Time) string {
		if t.IsZero() {
			return "0000000000"
		}
		return t.Format("0601021504")
	}
	sub, dlvrd := r.Submitted, r.Delivered
	if sub < 0 {
		sub = 1
	}
	if dlvrd < 0 {
		dlvrd = 0
		if r.State == pdu.StateDelivered {
			dlvrd = 1
		}
	}
	text := firstRunes(r.Text, 20)
	errCode := r.Err
	if errCode == "" {
		errCode = "000"
	}
	return fmt.Sprintf("id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%s text:%s",
		r.ID, sub, dlvrd, date(r.SubmitDate), date(r.DoneDate), r.Stat, errCode, text)
}

// DeliverSM builds the deliver_sm of a receipt from source (the original
// destination) to dest (the original source): the text format in
// short_message, esm_class "SMSC delivery receipt", and the
// receipted_message_id, message_state and (when set) network_error_code
// TLVs.
func (r Receipt) DeliverSM(source, dest string) *pdu.DeliverSM {
	d := &pdu.DeliverSM{SourceAddr: source, DestinationAddr: dest, ESMClass: 0x04, ShortMessage: []byte(r.String())}
	d.TLVs.SetReceiptedMessageID(r.ID)
	state := r.State
	if state == 0 {
		state = statStates[r.Stat]
	}
	d.TLVs.SetMessageState(state)
	if r.NetworkType != 0 || r.NetworkError != 0 {
		d.TLVs.SetNetworkErrorCode(r.NetworkType, r.NetworkError)
	}
	return d
}

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// asciiLower lower-cases the ASCII letters of s and nothing else, so that
// byte offsets in the result are offsets in s (strings.ToLower may change
// the length of non-ASCII text and of invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
