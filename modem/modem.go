package modem

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// MaxLine is the longest line a modem may send (a PDU of 176 octets is
// 352 hexadecimal digits; +CMGL lines are short). Longer ones are
// dropped.
const MaxLine = 4096

// maxQueue bounds the unsolicited codes waiting for the worker; beyond
// it new ones are dropped and counted (messages stored on the SIM are
// found again by the next listing).
const maxQueue = 4096

// Config configures a Modem. The zero value works with a modem that
// needs no PIN and whose SIM knows its service centre.
type Config struct {
	// PIN is entered when the SIM asks for one.
	PIN string
	// Submit says how messages are sent (service centre, status
	// reports, validity, number format).
	Submit SubmitOptions
	// CommandTimeout bounds a command's answer (default 10 s); SendTimeout
	// bounds a message's (default 60 s: the modem answers once the
	// network took it).
	CommandTimeout, SendTimeout time.Duration
	// OnReport receives status reports (+CDS, or +CDSI then read), on the
	// modem's worker goroutine, one at a time.
	OnReport func(StatusReport)
	// OnMessage receives each received SMS, whole (a long one once all its
	// parts came), on the worker goroutine. The message is deleted from
	// the SIM only when OnMessage returns nil: store it first. An error
	// leaves it there, to be offered again at the next listing.
	OnMessage func(ctx context.Context, m Message) error
	// OnURC receives the unsolicited lines the package does not handle
	// itself (RING, +CREG: n, ^RSSI ...), on the reader goroutine: it
	// must not block.
	OnURC func(line string)
	// Logger receives what the modem did wrong (nil: none).
	Logger *slog.Logger
}

// Message is a received SMS.
type Message struct {
	From     string
	Text     string
	SCTS     time.Time // when the service centre got it
	Parts    int
	Received time.Time
	// Listed is true for a message found by listing the SIM (Init,
	// Relist) rather than announced: it may be one handed over before
	// whose deletion failed (the modem lost right after), offered again.
	Listed bool
	// Slots are the SIM storage indexes it came from (none for one
	// delivered straight, +CMT).
	Slots []int
}

// Stats counts what a Modem saw.
type Stats struct {
	Sent, SendErrors, Uncertain int64 // parts sent, refused, timed out (may have gone)
	Reports, Received           int64 // status reports, messages handed over
	DroppedURCs, BadLines       int64 // unsolicited codes beyond the queue; lines too long or unreadable PDUs
}

// Modem is one GSM modem. Its methods are safe for concurrent use;
// commands run one at a time.
type Modem struct {
	cfg Config
	rw  io.ReadWriteCloser

	cmdMu  sync.Mutex // one command at a time
	recvMu sync.Mutex // guards parts

	mu      sync.Mutex
	cur     *command
	closed  bool
	err     error // why the reader stopped
	stale   bool  // a command timed out: resynchronize before the next
	pinErr  error // the PIN was refused: never entered again
	queue   []urc
	wake    chan struct{}
	pending string // the first line of a two-line URC (+CDS: n, +CMT: ...), waiting for its PDU
	stats   Stats

	parts map[string]*partsOf // long messages being received, by sender and reference (recvMu)

	done   chan struct{} // closed when the reader stops
	worker chan struct{} // closed when the worker stops
}

// command is the command in progress.
type command struct {
	text        string // what was written, without CR
	prefix      string // the information lines it expects, e.g. "+CSQ:"
	prompt      chan struct{}
	lines       []string
	final       chan error // nil error: OK
	waitsPrompt bool
}

// urc is an unsolicited result code: one line, or two (+CDS, +CMT).
type urc struct {
	line, pdu string
}

// New starts driving the modem on rw: a goroutine reads it until Close
// or until rw fails; another handles what the modem reports unsolicited.
// Call Init before sending.
func New(rw io.ReadWriteCloser, cfg Config) *Modem {
	m := &Modem{cfg: cfg, rw: rw, wake: make(chan struct{}, 1), done: make(chan struct{}), worker: make(chan struct{}),
		parts: map[string]*partsOf{}}
	go m.read()
	go m.work()
	return m
}

// Done is closed when the connection to the modem ended (Close, or a
// read error: see Err).
func (m *Modem) Done() <-chan struct{} { return m.done }

// Err is why the connection ended (nil while it runs, ErrClosed after
// Close).
func (m *Modem) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Stats returns the counters so far.
func (m *Modem) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Close closes the connection and waits for the goroutines.
func (m *Modem) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.done
		<-m.worker
		return nil
	}
	m.closed = true
	if m.err == nil {
		m.err = ErrClosed
	}
	m.mu.Unlock()
	err := m.rw.Close()
	<-m.done
	<-m.worker
	return err
}

func (m *Modem) logf(msg string, args ...any) {
	if m.cfg.Logger != nil {
		m.cfg.Logger.Warn(msg, args...)
	}
}

// read splits what the modem sends into lines (CR or LF ended; the "> "
// prompt, which ends with no newline, is seen when a command waits for
// it) and dispatches them.
func (m *Modem) read() {
	defer close(m.done)
	br := bufio.NewReaderSize(m.rw, 512)
	var line []byte
	overlong := false
	for {
		b, err := br.ReadByte()
		if err != nil {
			m.stop(err)
			return
		}
		switch {
		case b == '\r' || b == '\n':
			if overlong {
				overlong = false
				m.count(func(s *Stats) { s.BadLines++ })
				m.logf("modem: line too long dropped", "limit", MaxLine)
			} else if len(line) > 0 {
				m.dispatch(string(line))
			}
			line = line[:0]
		case overlong:
		case len(line) >= MaxLine:
			overlong = true
		default:
			line = append(line, b)
			if len(line) == 2 && line[0] == '>' && line[1] == ' ' && m.promptWanted() {
				line = line[:0]
			}
		}
	}
}

// stop ends the connection: the command in progress fails.
func (m *Modem) stop(err error) {
	m.mu.Lock()
	if m.err == nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("modem: connection ended: %w", ErrClosed)
		}
		m.err = err
	}
	if m.cur != nil {
		m.cur.final <- m.err
		m.cur = nil
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Modem) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

// promptWanted reports whether the command in progress waits for "> ";
// if so it is told.
func (m *Modem) promptWanted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil || !m.cur.waitsPrompt {
		return false
	}
	m.cur.waitsPrompt = false
	close(m.cur.prompt)
	return true
}

// unsolicited are the prefixes of unsolicited result codes. A line with
// one of them is the command's own when the command asked for it (AT+CREG?
// answers +CREG: like the unsolicited code does).
var unsolicited = []string{"+CMTI:", "+CDS:", "+CDSI:", "+CMT:", "+CBM:", "RING", "+CRING:", "+CREG:", "+CGREG:",
	"+CEREG:", "+CLIP:", "+CUSD:", "+CIEV:", "NO CARRIER", "^", "RDY", "+CFUN:", "+CPIN: NOT READY", "+QIND:", "+PBREADY"}

// dispatch sorts a line: the second line of a two-line code, the
// command's answer, or an unsolicited code.
func (m *Modem) dispatch(line string) {
	m.mu.Lock()
	if m.pending != "" { // the PDU of +CDS: / +CMT:
		u := urc{line: m.pending, pdu: line}
		m.pending = ""
		m.enqueueLocked(u)
		m.mu.Unlock()
		return
	}
	c := m.cur
	if c != nil && line == c.text {
		m.mu.Unlock()
		return // the echo of our command (before ATE0 took effect)
	}
	mine := c != nil && c.prefix != "" && strings.HasPrefix(line, c.prefix)
	if !mine {
		for _, p := range unsolicited {
			if strings.HasPrefix(line, p) {
				if p == "+CDS:" || p == "+CMT:" {
					m.pending = line
				} else if p == "+CMTI:" || p == "+CDSI:" || p == "RDY" && line == "RDY" {
					m.enqueueLocked(urc{line: line})
				} else if m.cfg.OnURC != nil {
					m.mu.Unlock()
					m.cfg.OnURC(line)
					return
				}
				m.mu.Unlock()
				return
			}
		}
	}
	if c == nil {
		m.mu.Unlock()
		if m.cfg.OnURC != nil {
			m.cfg.OnURC(line) // a late answer of a command given up, or noise
		}
		return
	}
	if line == "OK" {
		m.cur = nil
		c.final <- nil
		m.mu.Unlock()
		return
	}
	if e := parseError(c.text, line); e != nil {
		m.cur = nil
		c.final <- e
		m.mu.Unlock()
		return
	}
	c.lines = append(c.lines, line)
	if len(c.lines) > 1000 { // +CMGL of a full SIM is a few hundred lines
		c.lines = c.lines[1:]
	}
	m.mu.Unlock()
}

func (m *Modem) enqueueLocked(u urc) {
	if len(m.queue) >= maxQueue {
		m.stats.DroppedURCs++
		return
	}
	m.queue = append(m.queue, u)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// exec runs a command (without AT's CR) and returns its information
// lines (those starting with prefix, or all when prefix is "").
func (m *Modem) exec(ctx context.Context, cmd, prefix string, timeout time.Duration) ([]string, error) {
	m.cmdMu.Lock()
	defer m.cmdMu.Unlock()
	if err := m.resync(ctx); err != nil {
		return nil, err
	}
	return m.execLocked(ctx, cmd, prefix, timeout, "")
}

// execLocked runs a command under cmdMu. With data, it waits for the
// "> " prompt, then writes data and Ctrl-Z (AT+CMGS).
func (m *Modem) execLocked(ctx context.Context, cmd, prefix string, timeout time.Duration, data string) ([]string, error) {
	c := &command{text: cmd, prefix: prefix, final: make(chan error, 1), prompt: make(chan struct{}), waitsPrompt: data != ""}
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return nil, err
	}
	m.cur = c
	m.mu.Unlock()
	timeout = cmp.Or(timeout, cmp.Or(m.cfg.CommandTimeout, 10*time.Second))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := m.write(ctx, cmd+"\r"); err != nil {
		m.abandon(c)
		return nil, fmt.Errorf("modem: writing %s: %w", cmd, err)
	}
	if data != "" {
		select {
		case <-c.prompt:
		case err := <-c.final:
			if err == nil {
				err = fmt.Errorf("modem: %s: OK without the > prompt", cmd)
			}
			return nil, err
		case <-ctx.Done():
			m.abandon(c)
			// ESC: leave the prompt without sending.
			ectx, cancel := context.WithTimeout(context.Background(), time.Second)
			m.write(ectx, "\x1B")
			cancel()
			return nil, fmt.Errorf("modem: %s: no > prompt: %w", cmd, ErrTimeout)
		}
		if err := m.write(ctx, data+"\x1A"); err != nil {
			m.abandon(c)
			return nil, &uncertainError{fmt.Errorf("modem: writing the PDU: %w", err)}
		}
	}
	select {
	case err := <-c.final:
		var refused *Error
		switch {
		case err == nil:
		case data != "" && !errors.As(err, &refused):
			return nil, &uncertainError{err} // the connection ended after the PDU
		default:
			return nil, err
		}
	case <-ctx.Done():
		m.abandon(c)
		err := fmt.Errorf("modem: %s: %w", cmd, ErrTimeout)
		if data != "" {
			return nil, &uncertainError{err}
		}
		return nil, err
	}
	m.mu.Lock()
	lines := c.lines
	m.mu.Unlock()
	if prefix == "" {
		return lines, nil
	}
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out, nil
}

// write writes s to the modem, bounded by ctx: a port that takes
// nothing until ctx ends (flow control held, a stalled bridge) is closed,
// which ends the connection (see Done and Err), since a write cannot be
// taken back.
func (m *Modem) write(ctx context.Context, s string) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(m.rw, s)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	m.stop(fmt.Errorf("modem: the port took nothing in time: %w", ErrTimeout))
	m.rw.Close()
	<-done
	return fmt.Errorf("the port took nothing in time: %w", ErrTimeout)
}

// abandon gives up a command: its late answer must not be taken for the
// next command's, so the next one first resynchronizes.
func (m *Modem) abandon(c *command) {
	m.mu.Lock()
	if m.cur == c {
		m.cur = nil
	}
	m.stale = true
	m.mu.Unlock()
}

// resync, after a command was given up, sends AT until one is answered
// OK (a late answer of the old command lands before it), at most three
// times.
func (m *Modem) resync(ctx context.Context) error {
	m.mu.Lock()
	stale := m.stale
	m.mu.Unlock()
	if !stale {
		return nil
	}
	var err error
	wait := min(cmp.Or(m.cfg.CommandTimeout, 10*time.Second), 2*time.Second)
	for range 3 {
		time.Sleep(wait / 20) // let a late answer arrive first
		if _, err = m.execLocked(ctx, "AT", "", wait, ""); err == nil {
			m.mu.Lock()
			m.stale = false
			m.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("modem: not answering: %w", err)
}
