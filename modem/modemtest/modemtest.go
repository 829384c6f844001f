// Package modemtest is a simulated GSM modem for tests and demos: it
// answers the AT commands package modem uses (27.005/27.007, PDU mode)
// over an in-memory connection (Conn) or a pty (see ServePTY), takes
// messages with a network delay, sends status reports with outcomes
// drawn in given shares, stores incoming messages on its SIM, and
// misbehaves on request: +CMS ERROR faults, unsolicited codes in the
// middle of responses, silence, a reset.
package modemtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/modem"
)

// Outcomes are the shares of status report outcomes (all zero: every
// message delivered).
type Outcomes struct {
	Delivered, Undeliverable, Expired int
}

// Config configures a simulated modem.
type Config struct {
	// Delay is how long the network takes to accept a message (AT+CMGS
	// answers after it).
	Delay time.Duration
	// ReportDelay is how long after acceptance the status report comes.
	ReportDelay time.Duration
	Outcomes    Outcomes
	// PIN, when set, is asked for (AT+CPIN?) until entered.
	PIN string
	// Slots is the SIM's message storage (default 30).
	Slots int
	// ReportWithoutSMSC writes +CDS PDUs without the SMSC address, as
	// some modems do.
	ReportWithoutSMSC bool
	Seed              uint64
}

// Submission is a message part the simulator took.
type Submission struct {
	To           string
	Text         string // this part's
	Ref          byte   // the message reference it answered
	Concat       [3]int // reference, total, sequence (zeros: not a part)
	StatusReport bool
	Outcome      byte // the status its report carries
	At           time.Time
}

// Modem is a simulated modem. Its methods are safe for concurrent use.
type Modem struct {
	cfg Config

	mu        sync.Mutex
	rng       *rand.Rand
	conn      net.Conn // the simulator's end of the live connection
	echo      bool
	pdu       bool
	cnmi      bool
	pinOK     bool
	wrongPINs int // wrong PINs entered; three lock the SIM (it wants its PUK)
	mr        byte
	sim       map[int]stored // SIM storage by index
	subs      []Submission
	failNext  []int // +CMS ERROR codes for the next submits
	mute      int   // the next submits taken without an answer
	unplug    int   // the next deletes end the connection instead
	interlace bool
	hung      bool
	closed    bool
	wg        sync.WaitGroup
}

type stored struct {
	hex    string
	length int
	read   bool
}

// New makes a simulated modem.
func New(cfg *Config) *Modem {
	m := &Modem{echo: true, sim: map[int]stored{}}
	if cfg != nil {
		m.cfg = *cfg
	}
	if m.cfg.Slots <= 0 {
		m.cfg.Slots = 30
	}
	m.rng = rand.New(rand.NewPCG(m.cfg.Seed, 7))
	m.pinOK = m.cfg.PIN == ""
	return m
}

// Conn returns a new connection to the modem (the end a driver uses);
// an earlier one is closed, as when a serial port is opened again.
func (m *Modem) Conn() net.Conn {
	a, b := net.Pipe()
	m.mu.Lock()
	if m.conn != nil {
		m.conn.Close()
	}
	m.conn = b
	m.mu.Unlock()
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.serve(b) }()
	return a
}

// Serve answers on rw (a pty's end, say) until it fails or Close.
func (m *Modem) Serve(rw io.ReadWriter) {
	m.serve(rw)
}

// Close ends the connections and waits for the simulator's goroutines.
func (m *Modem) Close() {
	m.mu.Lock()
	m.closed = true
	if m.conn != nil {
		m.conn.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// Submitted returns the parts taken so far.
func (m *Modem) Submitted() []Submission {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.subs)
}

// FailNext makes the next submits fail with these +CMS ERROR codes, one
// each.
func (m *Modem) FailNext(codes ...int) {
	m.mu.Lock()
	m.failNext = append(m.failNext, codes...)
	m.mu.Unlock()
}

// TakeSilently makes the next n submits go out without an answer, as
// from a modem that restarts or loses its line right after sending: the
// driver cannot know they went (they are uncertain to it).
func (m *Modem) TakeSilently(n int) {
	m.mu.Lock()
	m.mute += n
	m.mu.Unlock()
}

// UnplugOnDelete makes the next n deletes (AT+CMGD) end the connection
// instead, the message left on the SIM, as when a stick is unplugged
// right after a message was read: the driver offers it again once the
// modem is opened again.
func (m *Modem) UnplugOnDelete(n int) {
	m.mu.Lock()
	m.unplug += n
	m.mu.Unlock()
}

// Interleave puts unsolicited codes (a +CREG and a ring) between the
// lines of every answer from now on (false stops it).
func (m *Modem) Interleave(on bool) {
	m.mu.Lock()
	m.interlace = on
	m.mu.Unlock()
}

// Hang makes the modem stop answering (it still reads); Hang(false)
// wakes it.
func (m *Modem) Hang(on bool) {
	m.mu.Lock()
	m.hung = on
	m.mu.Unlock()
}

// Reset reboots the modem: echo on, text mode, no indications, the PIN
// asked again; it says RDY. The SIM keeps its messages.
func (m *Modem) Reset() {
	m.mu.Lock()
	m.echo, m.pdu, m.cnmi, m.pinOK = true, false, false, m.cfg.PIN == ""
	c := m.conn
	m.mu.Unlock()
	if c != nil {
		c.Write([]byte("\r\nRDY\r\n"))
	}
}

// Receive delivers an incoming message from a number: it is stored on
// the SIM (in parts when long) and announced with +CMTI when the driver
// asked for indications. It fails when the SIM is full.
func (m *Modem) Receive(from, text string) error {
	m.mu.Lock()
	ref := uint16(m.rng.IntN(256))
	m.mu.Unlock()
	parts, err := modem.EncodeDeliver(from, "584140000001", text, time.Now(), ref)
	if err != nil {
		return err
	}
	for _, p := range parts {
		m.mu.Lock()
		idx := -1
		for i := range m.cfg.Slots {
			if _, used := m.sim[i]; !used {
				idx = i
				break
			}
		}
		if idx < 0 {
			m.mu.Unlock()
			return fmt.Errorf("modemtest: SIM full")
		}
		m.sim[idx] = stored{hex: p.Hex, length: p.Length}
		announce, c := m.cnmi, m.conn
		m.mu.Unlock()
		if announce && c != nil {
			c.Write([]byte("\r\n+CMTI: \"SM\"," + strconv.Itoa(idx) + "\r\n"))
		}
	}
	return nil
}

// WrongPINs counts the wrong PINs entered; after three the SIM is
// locked (it asks for its PUK, which the simulator never takes).
func (m *Modem) WrongPINs() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wrongPINs
}

// Stored counts the messages on the SIM.
func (m *Modem) Stored() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sim)
}

// serve reads commands (CR-ended; a PDU after "> " is Ctrl-Z-ended) and
// answers them.
func (m *Modem) serve(rw io.ReadWriter) {
	br := bufio.NewReader(rw)
	var wmu sync.Mutex
	write := func(s string) {
		wmu.Lock()
		defer wmu.Unlock()
		rw.Write([]byte(s))
	}
	for {
		line, err := br.ReadString('\r')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(strings.TrimLeft(line, "\n"))
		if cmd == "" {
			continue
		}
		m.mu.Lock()
		hung, echo := m.hung, m.echo
		m.mu.Unlock()
		if hung {
			continue
		}
		if echo {
			write(cmd + "\r")
		}
		if strings.HasPrefix(strings.ToUpper(cmd), "AT+CMGS=") {
			n, _ := strconv.Atoi(cmd[len("AT+CMGS="):])
			write("\r\n> ")
			data, abandoned, err := readPDU(br)
			if err != nil {
				return
			}
			if abandoned {
				write("\r\nOK\r\n") // ESC: the send was abandoned
				continue
			}
			m.submit(write, data, n)
			continue
		}
		m.answer(write, cmd)
	}
}

// readPDU reads what follows the "> " prompt: a PDU ended by Ctrl-Z, or
// ESC, which abandons the send at once (as modems do).
func readPDU(br *bufio.Reader) (data string, abandoned bool, err error) {
	var b strings.Builder
	for {
		c, err := br.ReadByte()
		switch {
		case err != nil:
			return "", false, err
		case c == 0x1B:
			return "", true, nil
		case c == 0x1A:
			return strings.TrimSpace(b.String()), false, nil
		case b.Len() < 4096:
			b.WriteByte(c)
		}
	}
}

// reply writes an answer's lines and final code, with unsolicited codes
// between them when interleaving.
func (m *Modem) reply(write func(string), lines []string, final string) {
	m.mu.Lock()
	mix := m.interlace
	m.mu.Unlock()
	for _, l := range lines {
		write("\r\n" + l + "\r\n")
		if mix {
			write("\r\n+CREG: 1\r\n\r\nRING\r\n")
		}
	}
	write("\r\n" + final + "\r\n")
}

func (m *Modem) answer(write func(string), cmd string) {
	up := strings.ToUpper(cmd)
	m.mu.Lock()
	pinOK := m.pinOK
	m.mu.Unlock()
	needsPIN := func() bool {
		if !pinOK {
			m.reply(write, nil, "+CME ERROR: 11")
		}
		return !pinOK
	}
	switch {
	case up == "AT":
		m.reply(write, nil, "OK")
	case up == "ATE0" || up == "ATE1":
		m.mu.Lock()
		m.echo = up == "ATE1"
		m.mu.Unlock()
		m.reply(write, nil, "OK")
	case up == "AT+CMEE=1":
		m.reply(write, nil, "OK")
	case up == "AT+CPIN?":
		switch {
		case pinOK:
			m.reply(write, []string{"+CPIN: READY"}, "OK")
		case m.WrongPINs() >= 3:
			m.reply(write, []string{"+CPIN: SIM PUK"}, "OK")
		default:
			m.reply(write, []string{"+CPIN: SIM PIN"}, "OK")
		}
	case strings.HasPrefix(up, "AT+CPIN="):
		if m.WrongPINs() >= 3 {
			m.reply(write, nil, "+CME ERROR: 12") // SIM PUK required
			return
		}
		if strings.Trim(cmd[len("AT+CPIN="):], `"`) == m.cfg.PIN {
			m.mu.Lock()
			m.pinOK = true
			m.mu.Unlock()
			m.reply(write, nil, "OK")
		} else {
			m.mu.Lock()
			m.wrongPINs++
			m.mu.Unlock()
			m.reply(write, nil, "+CME ERROR: 16")
		}
	case up == "AT+CMGF=0" || up == "AT+CMGF=1":
		if needsPIN() {
			return
		}
		m.mu.Lock()
		m.pdu = up == "AT+CMGF=0"
		m.mu.Unlock()
		m.reply(write, nil, "OK")
	case strings.HasPrefix(up, "AT+CNMI="):
		m.mu.Lock()
		m.cnmi = true
		m.mu.Unlock()
		m.reply(write, nil, "OK")
	case up == "AT+CREG?":
		m.reply(write, []string{"+CREG: 0,1"}, "OK")
	case up == "AT+CSQ":
		m.reply(write, []string{"+CSQ: 20,0"}, "OK")
	case up == "AT+COPS?":
		m.reply(write, []string{`+COPS: 0,0,"Simulated GSM",7`}, "OK")
	case strings.HasPrefix(up, "AT+CMGR="):
		idx, _ := strconv.Atoi(cmd[len("AT+CMGR="):])
		m.mu.Lock()
		s, ok := m.sim[idx]
		if ok {
			s.read = true
			m.sim[idx] = s
		}
		m.mu.Unlock()
		if !ok {
			m.reply(write, nil, "OK")
			return
		}
		m.reply(write, []string{"+CMGR: 0,," + strconv.Itoa(s.length), s.hex}, "OK")
	case up == "AT+CMGL=4":
		m.mu.Lock()
		var lines []string
		idxs := make([]int, 0, len(m.sim))
		for i := range m.sim {
			idxs = append(idxs, i)
		}
		slices.Sort(idxs)
		for _, i := range idxs {
			s := m.sim[i]
			lines = append(lines, "+CMGL: "+strconv.Itoa(i)+",0,,"+strconv.Itoa(s.length), s.hex)
		}
		m.mu.Unlock()
		m.reply(write, lines, "OK")
	case strings.HasPrefix(up, "AT+CMGD="):
		idx, _ := strconv.Atoi(strings.SplitN(cmd[len("AT+CMGD="):], ",", 2)[0])
		m.mu.Lock()
		if m.unplug > 0 {
			m.unplug--
			c := m.conn
			m.mu.Unlock()
			if c != nil {
				c.Close()
			}
			return
		}
		delete(m.sim, idx)
		m.mu.Unlock()
		m.reply(write, nil, "OK")
	default:
		m.reply(write, nil, "ERROR")
	}
}

// submit takes a PDU given after "> ".
func (m *Modem) submit(write func(string), data string, n int) {
	m.mu.Lock()
	pduMode, pinOK := m.pdu, m.pinOK
	fail := -1
	if len(m.failNext) > 0 {
		fail, m.failNext = m.failNext[0], m.failNext[1:]
	}
	m.mu.Unlock()
	b, err := modem.DecodeHex(data)
	var s modem.Submitted
	if err == nil {
		s, err = modem.ParseSubmit(b, n)
	}
	switch {
	case !pinOK:
		m.reply(write, nil, "+CMS ERROR: 311")
		return
	case !pduMode || err != nil:
		m.reply(write, nil, "+CMS ERROR: 304") // a modem reset into text mode reads no PDU
		return
	case fail >= 0:
		time.Sleep(m.cfg.Delay)
		m.reply(write, nil, "+CMS ERROR: "+strconv.Itoa(fail))
		return
	}
	time.Sleep(m.cfg.Delay)
	m.mu.Lock()
	m.mr++
	ref := m.mr
	sub := Submission{To: s.To, Text: s.Text, Ref: ref, StatusReport: s.StatusReport, Outcome: m.drawLocked(), At: time.Now()}
	if s.Concat.Total > 0 {
		sub.Concat = [3]int{int(s.Concat.Ref), int(s.Concat.Total), int(s.Concat.Seq)}
	}
	m.subs = append(m.subs, sub)
	cnmi, mute := m.cnmi, m.mute > 0
	if mute {
		m.mute--
	}
	m.mu.Unlock()
	if !mute {
		m.reply(write, []string{"+CMGS: " + strconv.Itoa(int(ref))}, "OK")
	}
	if sub.StatusReport && cnmi {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			time.Sleep(m.cfg.ReportDelay)
			rep, err := modem.EncodeStatusReport(modem.StatusReport{Ref: ref, Recipient: sub.To, SCTS: sub.At, Done: time.Now(),
				Status: sub.Outcome}, "584140000001", !m.cfg.ReportWithoutSMSC)
			if err != nil {
				return
			}
			m.mu.Lock()
			closed, hung := m.closed, m.hung
			m.mu.Unlock()
			if !closed && !hung {
				write("\r\n+CDS: " + strconv.Itoa(rep.Length) + "\r\n" + rep.Hex + "\r\n")
			}
		}()
	}
}

// drawLocked draws a status report's status by Config.Outcomes.
func (m *Modem) drawLocked() byte {
	o := m.cfg.Outcomes
	total := o.Delivered + o.Undeliverable + o.Expired
	if total == 0 {
		return 0x00
	}
	switch n := m.rng.IntN(total); {
	case n < o.Delivered:
		return 0x00
	case n < o.Delivered+o.Undeliverable:
		return 0x41 // incompatible destination
	}
	return 0x46 // validity period expired
}
