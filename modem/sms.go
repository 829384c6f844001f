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
// (+CMTI), status reports sent directly (+CDS); then it hands over the
// messages already stored (see Config.OnMessage).
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
	return m.listStored(ctx)
}

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
	switch state := strings.TrimSpace(strings.TrimPrefix(lines[0], "+CPIN:")); state {
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
	default: // SIM PUK, PH-SIM PIN, SIM PIN2 ...
		return fmt.Errorf("%w: it is not ready: %s", ErrSIM, state)
	}
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
	case strings.HasPrefix(u.line, "+CMT:"):
		// Delivered straight, not stored: hand it over; it cannot be
		// deleted nor offered again.
		d, ok := m.deliver(u.pdu, lengthOf(u.line))
		if ok {
			m.take(ctx, d, nil)
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
			m.stored(ctx, idx, lines[i], lines[i+1])
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
		m.stored(ctx, idx, lines[i], lines[i+1])
		i++
	}
	return nil
}

// stored handles a message read from SIM index idx: header is its
// +CMGR:/+CMGL: line. Status reports stored (+CDSI) are read the same.
func (m *Modem) stored(ctx context.Context, idx int, header, hexPDU string) {
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
	m.take(ctx, d, []int{idx})
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
}

// take hands over a received message (or collects a part until the
// message is whole) and deletes what it came from once taken.
func (m *Modem) take(ctx context.Context, d Deliver, idxs []int) {
	m.recvMu.Lock() // Init's listing and the worker both hand messages over
	defer m.recvMu.Unlock()
	msg := Message{From: d.From, Text: d.Text, SCTS: d.SCTS, Parts: 1, Received: time.Now()}
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
		if _, dup := p.parts[d.Concat.Seq]; dup {
			p.indexes = append(p.indexes, idxs...) // the same part stored twice: delete it with the rest
			return
		}
		p.parts[d.Concat.Seq] = d
		p.indexes = append(p.indexes, idxs...)
		if len(p.parts) < int(d.Concat.Total) {
			return
		}
		delete(m.parts, key)
		seqs := make([]int, 0, len(p.parts))
		for s := range p.parts {
			seqs = append(seqs, int(s))
		}
		slices.Sort(seqs)
		ordered := make([]Deliver, 0, len(seqs))
		for _, s := range seqs {
			ordered = append(ordered, p.parts[uint8(s)])
		}
		msg.Text, msg.Parts, msg.SCTS = joinParts(ordered), len(seqs), p.parts[1].SCTS
		idxs = p.indexes
	}
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
