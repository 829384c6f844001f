package modem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/coding"
)

// Init prepares the modem: no echo, numeric errors, the PIN if the SIM
// asks for it, PDU mode, new messages stored on the SIM and announced
// (+CMTI), status reports sent directly (+CDS); then it asks for the
// messages already stored to be handed over (see Config.OnMessage and
// Relist).
func (m *Modem) Init(ctx context.Context) error {
	if _, err := m.exec(ctx, "ATE0", "", 0); err != nil {
		return err
	}
	if _, err := m.exec(ctx, "AT+CMEE=1", "", 0); err != nil {
		m.logf("modem: AT+CMEE=1 refused: errors will be bare", "err", err)
	}
	if err := m.enterPIN(ctx); err != nil {
		return err
	}
	for _, cmd := range []string{"AT+CMGF=0", "AT+CNMI=2,1,0,1,0"} {
		if _, err := m.exec(ctx, cmd, "", 0); err != nil {
			return err
		}
	}
	m.Relist()
	return nil
}

// Relist asks for every message stored on the SIM to be handed over
// again (AT+CMGL), on the goroutine that hands over the announced ones,
// after those already announced: a message whose handover failed
// (Config.OnMessage refused it) or whose announcement was lost is
// offered again, marked Listed. Call it now and then; it does not wait.
func (m *Modem) Relist() {
	m.mu.Lock()
	m.enqueueLocked(urc{line: relistURC})
	m.mu.Unlock()
}

// relistURC is the queue's item for Relist (no modem sends it: lines
// have no NUL).
const relistURC = "\x00relist"

// enterPIN enters Config.PIN if the SIM waits for it, once: after a
// refusal (or no answer) it is not entered again on this Modem, whatever
// restarts the modem goes through.
func (m *Modem) enterPIN(ctx context.Context) error {
	m.mu.Lock()
	pinErr := m.pinErr
	m.mu.Unlock()
	if pinErr != nil {
		return pinErr
	}
	lines, err := m.exec(ctx, "AT+CPIN?", "+CPIN:", 0)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return errors.New("modem: AT+CPIN? gave no state")
	}
	state := strings.TrimSpace(strings.TrimPrefix(lines[0], "+CPIN:"))
	switch state {
	case "READY":
		return nil
	case "SIM PIN":
		if m.cfg.PIN == "" {
			return fmt.Errorf("%w: it wants a PIN and none is configured", ErrSIM)
		}
		if strings.Trim(m.cfg.PIN, "0123456789") != "" {
			return fmt.Errorf("%w: the PIN is not digits", ErrSIM)
		}
		if _, err := m.exec(ctx, `AT+CPIN="`+m.cfg.PIN+`"`, "", 20*time.Second); err != nil {
			err = fmt.Errorf("%w: the PIN was refused or not answered (the SIM locks after three wrong ones): %w", ErrSIM, err)
			m.mu.Lock()
			m.pinErr = err
			m.mu.Unlock()
			return err
		}
		return nil
	}
	if strings.Contains(state, "PUK") || strings.Contains(state, "PIN") {
		// SIM PUK, PH-SIM PIN, SIM PIN2 ...: locked, or wanting what
		// only a person can give.
		return fmt.Errorf("%w: it wants %s", ErrSIM, state)
	}
	// NOT READY (still starting), and states not known here: try later.
	return fmt.Errorf("modem: the SIM is not ready: %s", state)
}

// Sent is one part of a message the modem handed to the network: its
// message reference, which its status report will carry.
type Sent struct {
	Ref  byte
	Part int // 1-based
}

// Send sends text to a number (international, without +, unless
// Config.Submit.National), split into parts as needed (UDH with an 8-bit
// reference ref). It returns the parts sent; on an error the parts
// before it were sent, and the failed part is uncertain when
// Uncertain(err) (it may have gone out). Send is Encode and SendPDU for
// each part; use those to decide part by part.
func (m *Modem) Send(ctx context.Context, to, text string, ref uint16) ([]Sent, error) {
	subs, err := m.Encode(to, text, coding.SplitOptions{Ref: ref})
	if err != nil {
		return nil, err
	}
	out := make([]Sent, 0, len(subs))
	for i, s := range subs {
		r, err := m.SendPDU(ctx, s)
		if err != nil {
			return out, fmt.Errorf("part %d of %d: %w", i+1, len(subs), err)
		}
		out = append(out, Sent{Ref: r, Part: i + 1})
	}
	return out, nil
}

// Encode builds the SMS-SUBMITs of text to a number with the modem's
// SubmitOptions, split as o says (coding.Split; UDH methods only).
func (m *Modem) Encode(to, text string, o coding.SplitOptions) ([]Submit, error) {
	dc, segs, err := coding.Split(text, o)
	if err != nil {
		return nil, err
	}
	return EncodeSubmit(to, dc, segs, m.cfg.Submit)
}

// SendPDU sends one SMS-SUBMIT (AT+CMGS) and returns its message
// reference, which its status report will carry. A modem that lost its
// settings (it restarted: text mode, no PIN) is set up again and the part
// sent once more, since the refusal means it did not go out. An error
// for which Uncertain is true leaves the part uncertain; any other means
// it did not go out (a *Error says why the modem refused it).
func (m *Modem) SendPDU(ctx context.Context, s Submit) (byte, error) {
	r, err := m.submit(ctx, s)
	var e *Error
	if errors.As(err, &e) && e.resetLike() {
		m.logf("modem: the modem lost its settings; setting it up again", "err", err)
		if ierr := m.Init(ctx); ierr != nil {
			return 0, fmt.Errorf("%w (setting the modem up again: %v)", err, ierr)
		}
		r, err = m.submit(ctx, s)
	}
	return r, err
}

// submit sends one SMS-SUBMIT and returns its message reference.
func (m *Modem) submit(ctx context.Context, s Submit) (byte, error) {
	m.cmdMu.Lock()
	defer m.cmdMu.Unlock()
	if err := m.resync(ctx); err != nil {
		return 0, err
	}
	lines, err := m.execLocked(ctx, "AT+CMGS="+strconv.Itoa(s.Length), "+CMGS:", cmp.Or(m.cfg.SendTimeout, 60*time.Second), s.Hex)
	if err == nil && len(lines) == 0 {
		err = &uncertainError{errors.New("modem: AT+CMGS: OK without +CMGS: the message reference is unknown")}
	}
	var n int
	if err == nil {
		v := strings.TrimSpace(strings.TrimPrefix(lines[0], "+CMGS:"))
		if i := strings.IndexByte(v, ','); i >= 0 {
			v = v[:i]
		}
		var aerr error
		if n, aerr = strconv.Atoi(v); aerr != nil || n < 0 || n > 255 {
			err = &uncertainError{fmt.Errorf("modem: AT+CMGS answered %q: no message reference", lines[0])}
		}
	}
	switch {
	case Uncertain(err):
		m.count(func(st *Stats) { st.Uncertain++ })
		return 0, err
	case err != nil:
		m.count(func(st *Stats) { st.SendErrors++ })
		return 0, err
	}
	m.count(func(st *Stats) { st.Sent++ })
	return byte(n), nil
}

// work handles the queued unsolicited codes, one at a time.
func (m *Modem) work() {
	defer close(m.worker)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-m.done; cancel() }()
	for {
		m.mu.Lock()
		for len(m.queue) == 0 && m.err == nil {
			m.mu.Unlock()
			select {
			case <-m.wake:
			case <-m.done:
			}
			m.mu.Lock()
		}
		if len(m.queue) == 0 {
			m.mu.Unlock()
			return
		}
		u := m.queue[0]
		m.queue = m.queue[1:]
		m.mu.Unlock()
		m.handle(ctx, u)
	}
}

func (m *Modem) handle(ctx context.Context, u urc) {
	switch {
	case u.line == "RDY":
		if err := m.Init(ctx); err != nil && ctx.Err() == nil {
			m.logf("modem: setting the modem up again after its restart", "err", err)
		}
	case strings.HasPrefix(u.line, "+CDS:"):
		n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(u.line, "+CDS:")))
		m.report(u.pdu, n)
	case u.line == relistURC:
		if err := m.listStored(ctx); err != nil && ctx.Err() == nil {
			m.logf("modem: listing the stored messages", "err", err)
		}
		m.handOverIncomplete(ctx)
	case strings.HasPrefix(u.line, "+CMT:"):
		// Delivered straight, not stored: hand it over; it cannot be
		// deleted nor offered again.
		d, ok := m.deliver(u.pdu, lengthOf(u.line))
		if ok {
			m.take(ctx, d, nil, false)
		}
	case strings.HasPrefix(u.line, "+CMTI:"), strings.HasPrefix(u.line, "+CDSI:"):
		idx, ok := storedIndex(u.line)
		if !ok {
			m.count(func(s *Stats) { s.BadLines++ })
			return
		}
		if err := m.readStored(ctx, idx); err != nil && ctx.Err() == nil {
			m.logf("modem: reading a stored message", "index", idx, "err", err)
		}
	}
}

// lengthOf reads the <length> at the end of +CMT: [<alpha>],<length> or
// +CMGR: <stat>,[<alpha>],<length>.
func lengthOf(line string) int {
	i := strings.LastIndexByte(line, ',')
	if i < 0 {
		i = strings.IndexByte(line, ':')
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[i+1:]))
	return n
}

// storedIndex reads the index of +CMTI: "SM",3.
func storedIndex(line string) (int, bool) {
	i := strings.LastIndexByte(line, ',')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[i+1:]))
	return n, err == nil && n >= 0
}

func (m *Modem) report(hexPDU string, n int) {
	b, err := DecodeHex(hexPDU)
	var s StatusReport
	if err == nil {
		s, err = ParseStatusReport(b, n)
	}
	if err != nil {
		m.count(func(st *Stats) { st.BadLines++ })
		m.logf("modem: unreadable status report", "pdu", hexPDU, "err", err)
		return
	}
	m.count(func(st *Stats) { st.Reports++ })
	if m.cfg.OnReport != nil {
		m.cfg.OnReport(s)
	}
}

func (m *Modem) deliver(hexPDU string, n int) (Deliver, bool) {
	b, err := DecodeHex(hexPDU)
	var d Deliver
	if err == nil {
		d, err = ParseDeliver(b, n)
	}
	if err != nil {
		m.count(func(st *Stats) { st.BadLines++ })
		m.logf("modem: unreadable message", "pdu", hexPDU, "err", err)
		return d, false
	}
	return d, true
}

// readStored reads the message (or status report) at a SIM index and
// hands it over.
func (m *Modem) readStored(ctx context.Context, idx int) error {
	lines, err := m.exec(ctx, "AT+CMGR="+strconv.Itoa(idx), "", 0)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "+CMGR:") {
			m.stored(ctx, idx, lines[i], lines[i+1], false)
			return nil
		}
	}
	return nil // empty index: taken meanwhile
}

// listStored hands over every message stored on the SIM (AT+CMGL=4:
// all), e.g. those that came while nothing listened.
func (m *Modem) listStored(ctx context.Context) error {
	lines, err := m.exec(ctx, "AT+CMGL=4", "", 30*time.Second)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "+CMGL:") {
			continue
		}
		fields := strings.SplitN(strings.TrimPrefix(lines[i], "+CMGL:"), ",", 2)
		idx, err := strconv.Atoi(strings.TrimSpace(fields[0]))
		if err != nil {
			continue
		}
		m.stored(ctx, idx, lines[i], lines[i+1], true)
		i++
	}
	return nil
}

// stored handles a message read from SIM index idx: header is its
// +CMGR:/+CMGL: line. Status reports stored (+CDSI) are read the same.
func (m *Modem) stored(ctx context.Context, idx int, header, hexPDU string, listed bool) {
	n := lengthOf(header)
	if b, err := DecodeHex(hexPDU); err == nil {
		if mti, err := messageType(b, n); err == nil && mti == 0x02 {
			m.report(hexPDU, n)
			m.delete(ctx, idx)
			return
		}
	}
	d, ok := m.deliver(hexPDU, n)
	if !ok {
		return // unreadable: left on the SIM (logged and counted), never lost
	}
	m.take(ctx, d, []int{idx}, listed)
}

func (m *Modem) delete(ctx context.Context, idxs ...int) {
	for _, idx := range idxs {
		if _, err := m.exec(ctx, "AT+CMGD="+strconv.Itoa(idx), "", 0); err != nil {
			m.logf("modem: deleting a message", "index", idx, "err", err)
		}
	}
}

// partsOf is a long message being received: its parts so far, and their
// SIM indexes (deleted once the whole was handed over).
type partsOf struct {
	parts   map[uint8]Deliver
	indexes []int
	first   time.Time
	listed  bool // a part came from a listing of the SIM
}

// take hands over a received message (or collects a part until the
// message is whole) and deletes what it came from once taken.
func (m *Modem) take(ctx context.Context, d Deliver, idxs []int, listed bool) {
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	msg := Message{From: d.From, Text: d.Text, SCTS: d.SCTS, Parts: 1, Received: time.Now(), Listed: listed}
	if d.Concat.Total > 1 {
		key := d.From + "\x00" + strconv.Itoa(int(d.Concat.Ref)) + "\x00" + strconv.Itoa(int(d.Concat.Total))
		p := m.parts[key]
		if p == nil {
			if len(m.parts) >= 1000 { // bounded: forget the oldest
				m.forgetOldest()
			}
			p = &partsOf{parts: map[uint8]Deliver{}, first: time.Now()}
			m.parts[key] = p
		}
		p.listed = p.listed || listed
		for _, i := range idxs { // the same part stored twice (or listed again): deleted with the rest
			if !slices.Contains(p.indexes, i) {
				p.indexes = append(p.indexes, i)
			}
		}
		if _, dup := p.parts[d.Concat.Seq]; dup {
			return
		}
		p.parts[d.Concat.Seq] = d
		if len(p.parts) < int(d.Concat.Total) {
			return
		}
		delete(m.parts, key)
		msg = p.message()
		idxs = p.indexes
	}
	m.handOver(ctx, msg, idxs)
}

// message is the whole of a long message, or what came of it.
func (p *partsOf) message() Message {
	seqs := make([]int, 0, len(p.parts))
	for s := range p.parts {
		seqs = append(seqs, int(s))
	}
	slices.Sort(seqs)
	ordered := make([]Deliver, 0, len(seqs))
	for _, s := range seqs {
		ordered = append(ordered, p.parts[uint8(s)])
	}
	first := ordered[0]
	return Message{From: first.From, Text: joinParts(ordered), SCTS: first.SCTS, Parts: len(seqs), Received: time.Now(),
		Listed: p.listed, Slots: slices.Clone(p.indexes)}
}

// incompleteAfter is how long the parts of a long message wait for the
// others: then what came is handed over as it is (a part the network
// lost would otherwise hold the others on the SIM for good).
const incompleteAfter = time.Hour

// handOverIncomplete hands over, as they are, the long messages whose
// parts have waited longer than incompleteAfter.
func (m *Modem) handOverIncomplete(ctx context.Context) {
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	for key, p := range m.parts {
		if time.Since(p.first) < incompleteAfter {
			continue
		}
		delete(m.parts, key)
		msg := p.message()
		m.logf("modem: a long message came incomplete; handed over as it is", "from", msg.From, "parts", msg.Parts)
		m.handOver(ctx, msg, p.indexes)
	}
}

// handOver gives msg to Config.OnMessage and deletes its SIM slots once
// it was taken (under recvMu).
func (m *Modem) handOver(ctx context.Context, msg Message, idxs []int) {
	msg.Slots = slices.Clone(idxs)
	if m.cfg.OnMessage != nil {
		if err := m.cfg.OnMessage(ctx, msg); err != nil {
			m.logf("modem: a received message was not taken; it stays on the SIM", "from", msg.From, "err", err)
			return
		}
	}
	m.count(func(s *Stats) { s.Received++ })
	m.delete(ctx, idxs...)
}

func (m *Modem) forgetOldest() {
	var oldest string
	var t time.Time
	for k, p := range m.parts {
		if oldest == "" || p.first.Before(t) {
			oldest, t = k, p.first
		}
	}
	delete(m.parts, oldest)
}

// joinParts is the text of a long message's parts, in order: their
// payloads joined then decoded (a UTF-16 surrogate pair or a GSM escape
// split across two parts comes out whole), or, when the parts differ in
// coding, their texts joined.
func joinParts(parts []Deliver) string {
	dc := alphabet(parts[0].DCS)
	var data []byte
	for _, p := range parts {
		if alphabet(p.DCS) != dc {
			data = nil
			break
		}
		data = append(data, p.Data...)
	}
	if data != nil {
		var text string
		var err error
		if dc.Alphabet() == coding.GSM7 {
			text, err = coding.DecodeGSM7Lang(data, parts[0].Languages[0], parts[0].Languages[1])
		} else {
			text, err = coding.Decode(data, dc)
		}
		if err == nil {
			return text
		}
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}
