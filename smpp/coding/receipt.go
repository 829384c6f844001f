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

type rkey struct {
	name  string // canonical
	words []string
}

var receiptKeys = []rkey{
	{"id", []string{"id"}}, {"sub", []string{"sub"}}, {"dlvrd", []string{"dlvrd"}},
	{"submit date", []string{"submit", "date"}}, {"done date", []string{"done", "date"}},
	{"stat", []string{"stat"}}, {"err", []string{"err"}}, {"text", []string{"text"}},
}

// matchKey reports whether a key starts at s[i:] (s lower-cased) and
// returns the index just after its colon.
func matchKey(s string, i int, k rkey) (int, bool) {
	j := i
	for w, word := range k.words {
		if w > 0 {
			start := j
			for j < len(s) && (s[j] == ' ' || s[j] == '_') {
				j++
			}
			if j == start {
				return 0, false
			}
		}
		if !strings.HasPrefix(s[j:], word) {
			return 0, false
		}
		j += len(word)
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j < len(s) && s[j] == ':' {
		return j + 1, true
	}
	return 0, false
}

// ParseReceipt reads the text of a delivery receipt. It is tolerant: keys
// in any case, in any order, extra spaces, missing fields (ok is false only
// when neither an id nor a stat was found). Dates with or without seconds
// are read in loc (nil means UTC: receipts do not say their zone). Text,
// when present, is the rest of the message and may contain anything.
func ParseReceipt(msg string, loc *time.Location) (r Receipt, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	r.Submitted, r.Delivered = -1, -1
	lower := asciiLower(msg) // byte offsets must match msg's
	type found struct {
		key        string
		start, val int
	}
	var fs []found
	for i := 0; i < len(lower); i++ {
		if i > 0 && lower[i-1] != ' ' && lower[i-1] != '\t' && lower[i-1] != '\n' && lower[i-1] != '\r' {
			continue
		}
		for _, k := range receiptKeys {
			if v, ok := matchKey(lower, i, k); ok {
				fs = append(fs, found{k.name, i, v})
				i = v - 1
				break
			}
		}
		if len(fs) > 0 && fs[len(fs)-1].key == "text" {
			break
		}
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
			r.Text = strings.TrimLeft(msg[f.val:], " ")
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
	for _, layout := range []string{"0601021504", "060102150405"} {
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
	if id == "" || (base == 10 && !isDigits(id)) {
		return id, false
	}
	n, ok := new(big.Int).SetString(id, base)
	if !ok || n.Sign() < 0 {
		return id, false
	}
	return n.Text(10), true
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
