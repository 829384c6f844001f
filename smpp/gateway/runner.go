package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// reasonMayHaveReached starts the Reason of a transmission put back in the
// queue after an attempt whose outcome is unknown: its next attempt may
// duplicate the message.
const reasonMayHaveReached = "may have reached the SMSC: "

// runner is one operator at work: its binds (each a Supervisor that
// keeps it bound), a TPS limit shared by them, and a dispatcher that
// claims the operator's queued transmissions while there is room in the
// binds' windows.
type runner struct {
	g       *Gateway
	p       *profile
	sups    []*smpp.Supervisor
	limiter *tokenBucket
	stats   *opStats

	slots   chan struct{} // transmissions in flight: the binds' windows
	wake    chan struct{}
	cancel  context.CancelFunc
	stopped <-chan struct{} // closed when the runner is told to stop
	done    chan struct{}   // closed when the dispatcher ends
	settled chan struct{}   // closed when the receipt follow-up ends
	sends   sync.WaitGroup
	next    uint64
	mu      sync.Mutex

	unboundSince atomic.Int64           // unix nanos since no bind is bound; 0 while one is (failoverLoop)
	lastErr      atomic.Pointer[string] // the last session error, for health reports
}

func newRunner(g *Gateway, p *profile) *runner {
	binds := max(p.op.Binds, 1)
	window := p.opts.WindowSize
	if window <= 0 {
		window = 100
	}
	r := &runner{g: g, p: p, stats: g.statsOf(p.op.ID), slots: make(chan struct{}, window*binds),
		wake: make(chan struct{}, 1), done: make(chan struct{}), settled: make(chan struct{})}
	if p.op.TPS > 0 {
		r.limiter = newTokenBucket(p.op.TPS)
	}
	return r
}

func (r *runner) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.stopped = ctx.Done()
	opts := r.p.opts
	opts.Handler = r
	if r.limiter != nil {
		opts.RateLimiter = r.limiter
	}
	log := r.g.cfg.Logger.With("operator", r.p.op.Name)
	for i := range max(r.p.op.Binds, 1) {
		so := &smpp.SupervisorOptions{OnState: func(s smpp.ConnState, err error) {
			if err != nil {
				msg := err.Error()
				r.lastErr.Store(&msg)
				log.Warn("session", "bind", i, "state", s, "err", err)
			} else {
				log.Info("session", "bind", i, "state", s)
			}
		}}
		r.sups = append(r.sups, smpp.Supervise(r.p.addr, &opts, so))
	}
	if r.p.opts.Mode == smpp.Receiver {
		close(r.done)
		close(r.settled)
		return
	}
	go r.dispatch(ctx)
	go r.settleLoop(ctx)
}

// stop stops claiming, waits for the submits in flight to be recorded,
// then unbinds.
func (r *runner) stop() {
	r.cancel()
	<-r.done
	<-r.settled
	var wg sync.WaitGroup
	for _, s := range r.sups {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close() }()
	}
	wg.Wait()
}

func (r *runner) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// bound returns a bound client that can submit, round robin, or nil.
func (r *runner) bound() *smpp.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range r.sups {
		r.next++
		if c := r.sups[r.next%uint64(len(r.sups))].Current(); c != nil {
			return c
		}
	}
	return nil
}

func (r *runner) boundCount() int {
	n := 0
	for _, s := range r.sups {
		if s.Current() != nil {
			n++
		}
	}
	return n
}

// dispatch claims and submits until ctx ends, then waits for the submits
// in flight.
func (r *runner) dispatch(ctx context.Context) {
	defer close(r.done)
	defer r.sends.Wait()
	poll := time.NewTimer(0)
	defer poll.Stop()
	idle := func(d time.Duration) bool {
		poll.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-r.wake:
		case <-poll.C:
		}
		return true
	}
	for ctx.Err() == nil {
		if r.bound() == nil {
			// Claim nothing while no session is bound: a claim held
			// during an outage would go stale and be requeued.
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := r.sups[0].Wait(wctx)
			cancel()
			if errors.Is(err, smpp.ErrClosed) {
				return
			}
			continue
		}
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	fill:
		for n < r.g.cfg.ClaimBatch {
			select {
			case r.slots <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		// A claim is bounded in time (twice StaleAfter): one that hung
		// would hold back the takeover of dead processes' claims for good
		// (see staleCutoff); a slow one must still get through.
		claimAt := r.g.claiming()
		cctx, cancel := context.WithTimeout(ctx, 2*r.g.cfg.StaleAfter)
		ts, err := r.g.st.ClaimTransmissions(cctx, r.p.op.ID, n, claimAt)
		cancel()
		r.g.claimed(claimAt, ts)
		for range n - len(ts) {
			<-r.slots
		}
		if err != nil {
			if ctx.Err() == nil {
				r.g.cfg.Logger.Error("claiming", "operator", r.p.op.Name, "err", err)
				idle(time.Second)
			}
			continue
		}
		if len(ts) == 0 {
			if !idle(250 * time.Millisecond) {
				return
			}
			continue
		}
		for _, t := range ts {
			r.sends.Add(1)
			go r.send(t)
		}
	}
}

// send submits one transmission and records the outcome; its slot is
// freed once the outcome is stored.
func (r *runner) send(t store.Transmission) {
	ctx, cancel := context.WithTimeout(context.Background(), r.g.cfg.SubmitTimeout)
	defer cancel()
	if t.Reason == store.ReasonStaleClaim || strings.HasPrefix(t.Reason, reasonMayHaveReached) {
		if r.p.atMostOnce {
			// Its last attempt may have reached the SMSC: not again.
			r.stats.unknown.Add(1)
			r.record(t, write{apply: endUnknown(t, 0, t.Reason+notAgain)})
			return
		}
		r.stats.possibleDuplicates.Add(1)
	}
	ids, err := r.submit(ctx, t)
	r.rec(t, ids, err)
}

// notAgain ends the reason of a message not sent again by policy.
const notAgain = " (not sent again: at-most-once)"

// endUnknown ends t as unknown: it may have reached the SMSC, and sending
// it again is not allowed (gateway.resend=at-most-once) or would surely
// duplicate parts the SMSC accepted.
func endUnknown(t store.Transmission, code int, reason string) func(ctx context.Context, tx store.Ops) error {
	now := time.Now()
	return func(ctx context.Context, tx store.Ops) error {
		return tx.EndTransmission(ctx, t.ID, store.TxUnknown, code, reason, now)
	}
}

// lateAnswer turns a submit that timed out into its late answer, waiting
// for it under ctx: a slow SMSC's message is not sent twice. Any other
// error, and a timeout still unanswered when ctx ends, come back as is.
func (r *runner) lateAnswer(ctx context.Context, err error) (string, error) {
	var te *smpp.TimeoutError
	if !errors.As(err, &te) {
		return "", err
	}
	resp, lerr := te.WaitLate(ctx)
	switch {
	case lerr == nil:
		r.stats.late.Add(1)
		if sr, ok := resp.(*pdu.SubmitSMResp); ok {
			return sr.MessageID, nil
		}
		return "", &smpp.ResponseError{Request: pdu.SubmitSMID, Got: resp.CommandID()}
	case ctx.Err() != nil && errors.Is(lerr, ctx.Err()):
		return "", fmt.Errorf("%w, nor before the submit timeout", err)
	}
	return "", lerr
}

func (r *runner) submit(ctx context.Context, t store.Transmission) ([]string, error) {
	o := r.p.split
	o.MaxParts = r.g.cfg.MaxParts
	o.Ref = uint16(rand.IntN(0xFFFF) + 1)
	dc, parts, err := coding.Split(t.Text, o)
	if err != nil {
		return nil, permanent{fmt.Errorf("text cannot be encoded: %w", err)}
	}
	c := r.bound()
	if c == nil {
		if c, err = r.sups[0].Wait(ctx); err != nil {
			return nil, err
		}
	}
	source := t.Source
	if source == "" && len(r.p.op.Sources) > 0 {
		source = r.p.op.Sources[0]
	}
	ids := make([]string, 0, len(parts))
	for i, part := range parts {
		sm := r.p.tmpl
		sm.SourceAddr, sm.DestinationAddr = source, t.Destination
		if source != "" && SourceTON(source) == 5 {
			sm.SourceAddrTON, sm.SourceAddrNPI = 5, 0
		}
		part.Apply(&sm, dc)
		// Temporary refusals (throttling, a full queue) are retried in
		// place by the client's policy, which also pauses the whole
		// client; what is still failing after that goes back to the
		// queue, or fails.
		id, err := c.Submit(ctx, &sm)
		if err != nil {
			id, err = r.lateAnswer(ctx, err)
		}
		if err != nil && i > 0 {
			// The first parts are at the SMSC: a part refused for a
			// while (throttling, a full queue) or not sent (the session
			// dropped) is tried again until the submit timeout, rather
			// than cutting the message in two.
			id, err = r.submitLaterPart(ctx, &sm, err)
		}
		if err != nil {
			if i > 0 {
				return ids, partial{i, len(parts), err}
			}
			return nil, err
		}
		ids = append(ids, r.p.submitID(id))
	}
	return ids, nil
}

// laterPartPause bounds the pause between tries of a later part.
const laterPartPause = 2 * time.Second

// submitLaterPart tries again a part after the first of a long message
// while the SMSC throttles (ESME_RTHROTTLED, ESME_RMSGQFUL: it refuses
// everything for a while, this message's other parts too) or the part
// surely did not reach it (its session ended before sending it), so that
// the message is not cut in two. It stops when a try could no longer be
// answered before ctx's deadline (so that a try never ends unanswered
// and uncertain for lack of time), when the runner stops (a reload, the
// operator disabled or deleted), or at any other failure, which comes
// back as is: a refusal of this one part for a reason of its own
// (ESME_RSYSERR, ...) fails the message as before, rather than holding a
// window slot for the whole submit timeout.
func (r *runner) submitLaterPart(ctx context.Context, sm *pdu.SubmitSM, err error) (string, error) {
	// Pauses and the wait for a session end when the runner stops; a try
	// under way is left to finish (it ends within the response timeout).
	waitCtx, cancel := r.untilStopped(ctx)
	defer cancel()
	pause := 100 * time.Millisecond
	for retryablePart(err) {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause+r.p.opts.ResponseTimeout {
			return "", err
		}
		t := time.NewTimer(pause)
		select {
		case <-waitCtx.Done():
			t.Stop()
			return "", err
		case <-t.C:
		}
		pause = min(2*pause, laterPartPause)
		c := r.bound()
		if c == nil {
			var werr error
			if c, werr = r.sups[0].Wait(waitCtx); werr != nil {
				return "", err
			}
		}
		r.stats.partRetries.Add(1)
		var id string
		id, err = c.Submit(ctx, sm)
		if err != nil {
			id, err = r.lateAnswer(ctx, err)
		}
		if err == nil {
			return id, nil
		}
	}
	return "", err
}

// untilStopped is ctx, also ended when the runner is told to stop.
func (r *runner) untilStopped(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-r.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// retryablePart: the failure of a later part that may be sent again
// without repeating it and is likely to pass later: the SMSC's
// throttling, or a request that never left.
func retryablePart(err error) bool {
	var st *smpp.StatusError
	if errors.As(err, &st) {
		return smpp.Throttling(err)
	}
	return !smpp.MayHaveReached(err) && !errors.As(err, new(permanent)) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// partial: some parts of a long message were accepted, then one failed.
type partial struct {
	accepted, total int
	err             error
}

func (p partial) Error() string {
	return fmt.Sprintf("part %d of %d not accepted (the first %d were): %v", p.accepted+1, p.total, p.accepted, p.err)
}
func (p partial) Unwrap() error { return p.err }

// rec records the outcome of one attempt.
func (r *runner) rec(t store.Transmission, ids []string, err error) {
	now := time.Now()
	var apply func(ctx context.Context, tx store.Ops) error
	var submit *store.Submitted // the accepted submission, recorded in a group
	var st *smpp.StatusError
	var pe partial
	switch {
	case err == nil:
		r.stats.accepted(now)
		submit = &store.Submitted{TransmissionID: t.ID, Result: store.SubmitResult{MessageIDs: ids, At: now}}
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.RecordSubmit(ctx, submit.TransmissionID, submit.Result)
		}
	case errors.As(err, &pe) && smpp.MayHaveReached(pe.err):
		// Parts were accepted and the next one may have been: sending the
		// message again would surely repeat the accepted parts.
		r.stats.uncertain.Add(1)
		r.stats.unknown.Add(1)
		apply = endUnknown(t, statusCode(err), fmt.Sprintf("%s%v; the accepted parts' message ids: %s (not sent again)",
			reasonMayHaveReached, pe, strings.Join(ids, ", ")))
	case errors.As(err, &pe):
		r.stats.failed.Add(1)
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.FailTransmission(ctx, t.ID, statusCode(err), pe.Error(), now)
		}
	case errors.As(err, &st) && !smpp.Temporary(err), errors.As(err, new(permanent)):
		r.stats.failed.Add(1)
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.FailTransmission(ctx, t.ID, statusCode(err), err.Error(), now)
		}
	default: // temporary: throttled, queue full, timeout, lost connection, shutting down
		reason := err.Error()
		if smpp.MayHaveReached(err) {
			reason = reasonMayHaveReached + reason
			r.stats.uncertain.Add(1)
			if r.p.atMostOnce {
				r.stats.unknown.Add(1)
				apply = endUnknown(t, statusCode(err), reason+notAgain)
				break
			}
		}
		if t.Attempts >= r.g.cfg.MaxAttempts {
			r.stats.failed.Add(1)
			apply = func(ctx context.Context, tx store.Ops) error {
				return tx.FailTransmission(ctx, t.ID, statusCode(err), fmt.Sprintf("gave up after %d attempts: %s", t.Attempts, reason), now)
			}
			break
		}
		r.stats.retried.Add(1)
		next := now.Add(r.backoff(t.Attempts))
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.RetryTransmission(ctx, t.ID, next, statusCode(err), reason)
		}
	}
	r.record(t, write{apply: apply, submit: submit})
}

// record stores an attempt's outcome and then frees its slot.
func (r *runner) record(t store.Transmission, w write) {
	w.done = func(err error) {
		r.g.released(t.ID)
		if err != nil {
			r.g.cfg.Logger.Warn("outcome not recorded", "transmission", t.ID, "err", err)
		}
		<-r.slots
		r.sends.Done()
	}
	r.g.rec.add(w)
}

func (r *runner) backoff(attempts int) time.Duration {
	d := r.g.cfg.RetryBackoff << max(attempts-1, 0)
	if d <= 0 || d > r.g.cfg.MaxRetryBackoff {
		d = r.g.cfg.MaxRetryBackoff
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

func statusCode(err error) int {
	var st *smpp.StatusError
	if errors.As(err, &st) {
		return int(st.Status)
	}
	return 0
}

// HandleMessage takes the operator's receipts and replies; each is
// acknowledged once stored (a failed store answers ESME_RX_T_APPN, so the
// SMSC delivers it again later).
func (r *runner) HandleMessage(ctx context.Context, m *smpp.Message) pdu.Status {
	switch m.Kind {
	case smpp.KindReceipt:
		rc := receiptFrom(r.p.op.ID, r.p.receiptMessageID(m.Receipt), m.Receipt)
		rc.Raw = m.Text
		if !rc.State.Final() {
			return pdu.StatusOK // ENROUTE, ACCEPTD: nothing to record
		}
		r.stats.receipts.Add(1)
		ack := m.Defer()
		r.g.rec.add(receiptWrite(rc, func(err error) { ack(ackStatus(err)) }))
	case smpp.KindMO:
		r.stats.mo.Add(1)
		from := m.Source
		if n, err := r.g.cfg.Numbering.Normalize(from); err == nil {
			from = n
		}
		mo := store.MO{OperatorID: r.p.op.ID, From: from, To: m.Destination, Text: m.Text, ReceivedAt: time.Now()}
		ack := m.Defer()
		r.g.rec.add(write{
			apply: func(ctx context.Context, tx store.Ops) error { return tx.InsertMO(ctx, &mo) },
			done: func(err error) {
				ack(ackStatus(err))
				if err == nil {
					r.g.cfg.Logger.Info("reply received", "operator", r.p.op.Name, "from", mo.From, "to", mo.To,
						"mo", mo.ID, "reply_to", mo.TransmissionID, "chars", utf8.RuneCountInString(mo.Text))
				}
			},
		})
	case smpp.KindAlert:
		r.g.cfg.Logger.Info("alert_notification", "operator", r.p.op.Name, "from", m.Source)
	}
	return pdu.StatusOK
}

func ackStatus(err error) pdu.Status {
	if err != nil && !businessError(err) {
		return pdu.StatusXTAppn
	}
	return pdu.StatusOK
}

// maxSubmitDateSkew is how far from its arrival a receipt's submit date
// may be and still be used to choose the submission it is for. A date
// further away is taken as one the SMSC writes in another layout (e.g.
// ddmmyy read as yymmdd) and ignored: the receipt then goes, as without
// a date, to the most recent submission of its id.
const maxSubmitDateSkew = 10 * 24 * time.Hour

// receiptFrom turns an SMSC receipt into the store's.
func receiptFrom(operatorID int64, messageID string, r *coding.Receipt) store.DeliveryReceipt {
	now := time.Now()
	dr := store.DeliveryReceipt{OperatorID: operatorID, MessageID: messageID, DoneAt: r.DoneDate, SubmittedAt: r.SubmitDate}
	if d := now.Sub(dr.SubmittedAt); d > maxSubmitDateSkew || d < -maxSubmitDateSkew {
		dr.SubmittedAt = time.Time{}
	}
	if dr.DoneAt.IsZero() {
		dr.DoneAt = now
	}
	dr.State = stateOf(r.State)
	if r.NetworkError != 0 {
		dr.ErrorCode = int(r.NetworkError)
	} else if n, err := parseCode(r.Err); err == nil {
		dr.ErrorCode = n
	}
	return dr
}

func parseCode(s string) (int, error) {
	var n int
	_, err := fmt.Sscan(s, &n)
	return n, err
}
