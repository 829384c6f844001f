package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/store"
)

// modemCapacity is how many of a modem operator's transmissions are in
// flight at once: the one the modem sends, and the next, claimed and
// waiting for it, so that claiming never holds the modem up.
const modemCapacity = 2

// Pauses of a modem link: before it opens the device again after a
// failure (doubling up to the second), and between health checks
// (registration and signal).
const (
	modemRetryMin     = time.Second
	modemRetryMax     = 30 * time.Second
	modemHealthPeriod = 15 * time.Second
	modemInitTimeout  = time.Minute
	// modemTroublePause is how long a modem that refused to send for a
	// reason of its own rests before it is checked and tried again.
	modemTroublePause = 30 * time.Second
	// modemSendTimeout is the longest a modem may take to answer a part
	// (at most half of Config.SubmitTimeout): the network's acceptance.
	modemSendTimeout = time.Minute
)

// errModemDown is a send tried while the modem is not up; errModemBusy,
// one given up waiting for the modem. Nothing went out.
var (
	errModemDown = errors.New("gateway: the modem is not ready")
	errModemBusy = errors.New("gateway: the modem is busy")
)

// modemLink is a modem operator's link: one GSM modem (store.Operator.
// Modem), opened again whenever it is lost and kept ready while it is
// registered on the network. Status reports become receipts, matched by
// message id "destination/reference" (see modemMessageID); received SMS
// become replies, deleted from the SIM only once stored.
type modemLink struct {
	r           *runner
	sendTimeout time.Duration // the modem's answer to one part: the longest a part may take
	turn        chan struct{} // one part at a time through the modem
	trouble     chan error    // a send found the modem in trouble (see watch)

	mu      sync.Mutex
	cur     *modem.Modem  // open and set up; nil while down
	ready   bool          // cur is registered on the network
	changed chan struct{} // closed and replaced when cur or ready change

	stop context.CancelFunc
	done chan struct{} // closed when keep ends

	taken *recentSet // replies stored lately, by sender, centre time and text (kept across runners)
}

// recentSet remembers the last recentMOs keys it was given.
type recentSet struct {
	mu    sync.Mutex
	keys  map[string]bool
	order []string
}

// recentMOs bounds the replies a modem link remembers having stored.
const recentMOs = 4096

func (s *recentSet) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[key]
}

func (s *recentSet) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[key] {
		return
	}
	if len(s.order) >= recentMOs {
		delete(s.keys, s.order[0])
		s.order = s.order[1:]
	}
	s.keys[key] = true
	s.order = append(s.order, key)
}

func newModemLink(r *runner) *modemLink {
	return &modemLink{r: r, taken: r.g.takenOf(r.p.op.ID), sendTimeout: min(modemSendTimeout, r.g.cfg.SubmitTimeout/2), turn: make(chan struct{}, 1), trouble: make(chan error, 1),
		changed: make(chan struct{}), done: make(chan struct{})}
}

// start opens the modem, apart from the runner's context: the link stays
// up until close, after the runner's last send.
func (l *modemLink) start(ctx context.Context) {
	ctx, l.stop = context.WithCancel(context.WithoutCancel(ctx))
	go l.keep(ctx)
}

func (l *modemLink) sends() bool   { return true }
func (l *modemLink) capacity() int { return modemCapacity }

func (l *modemLink) up() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && l.ready {
		return 1
	}
	return 0
}

func (l *modemLink) close() {
	l.stop()
	<-l.done
}

// current returns the ready modem, or nil and a channel closed when that
// may have changed.
func (l *modemLink) current() (*modem.Modem, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && l.ready {
		return l.cur, nil
	}
	return nil, l.changed
}

func (l *modemLink) wait(ctx context.Context) error {
	for {
		m, changed := l.current()
		if m != nil {
			return nil
		}
		select {
		case <-changed:
		case <-l.done:
			return errLinkClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *modemLink) set(m *modem.Modem, ready bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == m && l.ready == ready {
		return
	}
	l.cur, l.ready = m, ready
	close(l.changed)
	l.changed = make(chan struct{})
}

// keep opens the modem and sets it up, watches it, and opens it again
// when it is lost, until ctx ends.
func (l *modemLink) keep(ctx context.Context) {
	defer close(l.done)
	r := l.r
	log := r.g.cfg.Logger.With("operator", r.p.op.Name, "device", r.p.op.Modem.Device)
	pause := modemRetryMin
	for ctx.Err() == nil {
		m, err := l.open(ctx)
		if errors.Is(err, modem.ErrSIM) {
			// Not tried again: a SIM locks after three wrong PINs. A
			// person fixes the operator (its PIN), and saving it starts
			// a new runner.
			r.failed(fmt.Errorf("%w; not tried again until the operator is changed", err))
			log.Error("modem: the SIM needs attention; not tried again until the operator is changed", "err", err)
			<-ctx.Done()
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.failed(err)
			log.Warn("modem", "err", err, "retry_in", pause)
			if !sleep(ctx, pause) {
				return
			}
			pause = min(2*pause, modemRetryMax)
			continue
		}
		pause = modemRetryMin
		log.Info("modem ready")
		l.watch(ctx, m, log)
		l.set(nil, false)
		if err := m.Err(); err != nil && ctx.Err() == nil {
			r.failed(err)
			log.Warn("modem lost", "err", err)
		}
		m.Close()
	}
}

// open opens the device, sets the modem up (PIN, PDU mode, indications)
// and hands over the messages stored on its SIM.
func (l *modemLink) open(ctx context.Context) (*modem.Modem, error) {
	r := l.r
	rw, err := openDevice(ctx, r.g.cfg.OpenModem, r.p.op.Modem)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", r.p.op.Modem.Device, err)
	}
	m := modem.New(rw, modem.Config{
		PIN:         r.p.op.Modem.PIN,
		Submit:      r.p.modemSubmit,
		SendTimeout: l.sendTimeout,
		OnReport:    l.report,
		OnMessage:   l.message,
		Logger:      r.g.cfg.Logger.With("operator", r.p.op.Name),
	})
	ictx, cancel := context.WithTimeout(ctx, modemInitTimeout)
	defer cancel()
	if err := m.Init(ictx); err != nil {
		m.Close()
		return nil, fmt.Errorf("setting up %s: %w", r.p.op.Modem.Device, err)
	}
	return m, nil
}

// openDevice calls open apart, so that an open that ignores ctx and
// blocks (a device that never answers its open) does not hold the link
// up past ctx: it is left to end, and what it opens then is closed.
func openDevice(ctx context.Context, open func(context.Context, store.ModemSettings) (io.ReadWriteCloser, error),
	s store.ModemSettings) (io.ReadWriteCloser, error) {
	type opened struct {
		rw  io.ReadWriteCloser
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		rw, err := open(ctx, s)
		ch <- opened{rw, err}
	}()
	select {
	case o := <-ch:
		return o.rw, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.err == nil {
				o.rw.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// watch keeps m ready while it answers and is registered on the network
// (checked every modemHealthPeriod, and at once when a send says the
// modem is in trouble) until its connection ends or ctx does. A modem
// that does not answer is given up (keep opens it again), one that
// refuses to send for its own reasons is paused for modemTroublePause:
// either way it counts as unbound, so its messages fail over.
func (l *modemLink) watch(ctx context.Context, m *modem.Modem, log interface{ Warn(string, ...any) }) {
	check := func() bool {
		hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		h, err := m.Health(hctx)
		cancel()
		var refused *modem.Error
		switch {
		case errors.As(err, &refused):
			// A modem that cannot tell (it does not know a command) is
			// taken as ready: a send will tell.
			l.set(m, true)
		case err != nil:
			if ctx.Err() == nil {
				l.r.failed(fmt.Errorf("the modem does not answer: %w", err))
				log.Warn("modem not answering; opening it again", "err", err)
			}
			return false
		case !h.Registration.Registered():
			l.r.failed(fmt.Errorf("modem not registered on the network: %s", h.Registration))
			l.set(m, false)
		default:
			l.set(m, true)
		}
		return true
	}
	if !check() {
		return
	}
	t := time.NewTicker(modemHealthPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.Done():
			return
		case err := <-l.trouble:
			l.set(m, false)
			l.r.failed(err)
			if !errors.Is(err, modem.ErrTimeout) {
				log.Warn("the modem refuses to send; paused", "err", err, "for", modemTroublePause)
				pause := time.NewTimer(modemTroublePause)
				select {
				case <-ctx.Done():
				case <-m.Done():
				case <-pause.C:
				}
				pause.Stop()
			}
		case <-t.C:
			m.Relist() // what a failed handover left on the SIM, or a lost announcement
		}
		if ctx.Err() != nil || !check() {
			return
		}
	}
}

// troubled tells watch that a send found the modem in trouble: not
// answering, or refusing for reasons of its own or its SIM's.
func (l *modemLink) troubled(err error) {
	select {
	case l.trouble <- err:
	default:
	}
}

// submit sends a transmission through the modem, part by part, each
// paced by the operator's TPS. A later part refused for a while (a
// temporary +CMS ERROR, the modem lost before it was written) is tried
// again, on the modem opened again if need be, rather than cutting the
// message in two.
func (l *modemLink) submit(ctx context.Context, t store.Transmission) ([]string, error) {
	r := l.r
	m, _ := l.current()
	if m == nil {
		if err := l.wait(ctx); err != nil {
			return nil, fmt.Errorf("%w: %w", errModemDown, err)
		}
		if m, _ = l.current(); m == nil {
			return nil, errModemDown
		}
	}
	o := r.p.split
	o.MaxParts = r.g.cfg.MaxParts
	o.Ref = uint16(rand.IntN(0xFFFF) + 1)
	subs, err := m.Encode(t.Destination, t.Text, o)
	if err != nil {
		return nil, permanent{fmt.Errorf("text cannot be encoded: %w", err)}
	}
	ids := make([]string, 0, len(subs))
	for i, s := range subs {
		ref, err := l.sendPart(ctx, m, s)
		if err != nil && i > 0 {
			ref, err = l.sendLaterPart(ctx, s, err)
		}
		if err != nil {
			if i > 0 {
				return ids, partial{i, len(subs), err}
			}
			return nil, err
		}
		ids = append(ids, modemMessageID(t.Destination, ref))
	}
	return ids, nil
}

// sendPart sends one part when the modem's turn comes, paced by the
// operator's TPS. A part is only begun with the modem's whole send
// timeout left under ctx: one cut short by ctx after its PDU was written
// would be uncertain for no fault of the modem's. Waiting longer for the
// turn (the modem busy with another message) fails it, certain that
// nothing went out.
func (l *modemLink) sendPart(ctx context.Context, m *modem.Modem, s modem.Submit) (byte, error) {
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, dl.Add(-l.sendTimeout))
		defer cancel()
	}
	if l.r.limiter != nil {
		if err := l.r.limiter.Wait(wctx); err != nil {
			return 0, fmt.Errorf("%w: no time left to send", errModemBusy)
		}
	}
	select {
	case l.turn <- struct{}{}:
		defer func() { <-l.turn }()
	case <-wctx.Done():
		return 0, fmt.Errorf("%w: no time left to send", errModemBusy)
	}
	ref, err := m.SendPDU(ctx, s)
	var me *modem.Error
	switch {
	case errors.Is(err, modem.ErrSIM):
		// The modem restarted and its SIM refused the PIN: close it, so
		// that the link stops (see keep) and its messages fail over.
		m.Close()
	case errors.Is(err, modem.ErrTimeout), errors.As(err, &me) && !refusesMessage(me) && !me.Temporary():
		// Not answering, or refusing every message for a reason of its
		// own (no service centre number, no SIM): not this message's
		// fault, and the next would fare the same.
		l.troubled(err)
	}
	return ref, err
}

// sendLaterPart tries a later part again while its failure says it did
// not go out and may pass later, until ctx could not see one more try
// through, or the runner stops.
func (l *modemLink) sendLaterPart(ctx context.Context, s modem.Submit, err error) (byte, error) {
	waitCtx, cancel := l.r.untilStopped(ctx)
	defer cancel()
	pause := 100 * time.Millisecond
	for tries := 0; retryableModemPart(err) && tries < 10; tries++ {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause+l.sendTimeout {
			return 0, err
		}
		if !sleep(waitCtx, pause) {
			return 0, err
		}
		pause = min(2*pause, laterPartPause)
		if werr := l.wait(waitCtx); werr != nil {
			return 0, err
		}
		m, _ := l.current()
		if m == nil {
			continue
		}
		l.r.stats.partRetries.Add(1)
		var ref byte
		if ref, err = l.sendPart(ctx, m, s); err == nil {
			return ref, nil
		}
	}
	return 0, err
}

// retryableModemPart: a later part's failure that says it did not go out
// and may pass later: a temporary refusal, or the modem lost before the
// part was written.
func retryableModemPart(err error) bool {
	if modem.Uncertain(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var me *modem.Error
	if errors.As(err, &me) {
		return me.Temporary()
	}
	return errors.Is(err, modem.ErrClosed) || errors.Is(err, modem.ErrTimeout) || errors.Is(err, errModemDown) ||
		errors.Is(err, errModemBusy)
}

// modemMessageID is the message id a modem's part is recorded with: the
// destination and the message reference the modem gave it (TP-MR), which
// its status report carries with the recipient. References repeat every
// 256 parts a modem sends; the store matches a receipt to the most recent
// submission of its id, and the report's service centre time picks among
// older ones.
func modemMessageID(destination string, ref byte) string {
	return strings.TrimPrefix(destination, "+") + "/" + strconv.Itoa(int(ref))
}

// report records a status report as a receipt (on the modem's worker
// goroutine). Reports are not acknowledged to the modem: one lost before
// it is stored leaves its message to be given up on (give_up_after).
func (l *modemLink) report(s modem.StatusReport) {
	r := l.r
	if !s.Final() {
		return // the service centre still tries
	}
	to := s.Recipient
	if n, err := r.g.cfg.Numbering.Normalize(to); err == nil {
		to = n
	}
	rc := store.DeliveryReceipt{OperatorID: r.p.op.ID, MessageID: modemMessageID(to, s.Ref), State: s.State(),
		ErrorCode: int(s.Status), DoneAt: s.Done, SubmittedAt: s.SCTS, DateTolerance: r.p.reportTolerance,
		Raw: fmt.Sprintf("status report ref:%d recipient:%s status:0x%02X scts:%s done:%s", s.Ref, s.Recipient, s.Status,
			s.SCTS.Format(time.RFC3339), s.Done.Format(time.RFC3339))}
	settleDates(&rc, time.Now())
	r.stats.receipts.Add(1)
	r.g.rec.add(receiptWrite(rc, r.logUnrecorded("status report", 0)))
}

// message stores a received SMS as a reply and returns once it is
// stored: the modem deletes it from the SIM only then.
func (l *modemLink) message(_ context.Context, msg modem.Message) error {
	r := l.r
	to := ""
	if len(r.p.op.Sources) > 0 {
		to = r.p.op.Sources[0]
	}
	// A reply stored whose deletion from the SIM failed (the modem lost
	// right after) is found again by a listing of the SIM: it is known by
	// its sender, service centre time, text and SIM slots, and deleted
	// without being stored twice. Announced replies are never taken for
	// repeats (two alike in one second are two).
	key := fmt.Sprint(msg.From, "\x00", msg.SCTS.UTC().Format(time.RFC3339), "\x00", msg.Text, "\x00", msg.Slots)
	if msg.Listed && l.taken.has(key) {
		return nil
	}
	// Waited for even while closing (the recorder writes everything
	// queued before it stops).
	stored := make(chan error, 1)
	r.storeMO(msg.From, to, msg.Text, func(err error) { stored <- err })
	err := <-stored
	if err == nil {
		l.taken.add(key)
	}
	return err
}

// takenOf returns the replies lately stored from a modem operator, made
// on first use and kept across its runners (a change restarts them).
func (g *Gateway) takenOf(id int64) *recentSet {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.taken[id]
	if s == nil {
		s = &recentSet{keys: map[string]bool{}}
		g.taken[id] = s
	}
	return s
}

// sleep waits d, or less if ctx ends first (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// OpenSerial opens a modem operator's device as a serial port: the
// default Config.OpenModem.
func OpenSerial(_ context.Context, s store.ModemSettings) (io.ReadWriteCloser, error) {
	return modem.OpenSerial(s.Device, s.Baud)
}
