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

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

// reasonMayHaveReached starts the Reason of a transmission put back in the
// queue after an attempt whose outcome is unknown: its next attempt may
// duplicate the message.
const reasonMayHaveReached = "may have reached the SMSC: "

// runner is one operator at work: its link (SMPP binds, or a GSM
// modem), a TPS limit, and a dispatcher that claims the operator's
// queued transmissions while the link has room for them.
type runner struct {
	g       *Gateway
	p       *profile
	link    link
	limiter *tokenBucket
	stats   *opStats

	slots   chan struct{} // transmissions in flight: the binds' windows
	wake    chan struct{}
	cancel  context.CancelFunc
	stopped <-chan struct{} // closed when the runner is told to stop
	done    chan struct{}   // closed when the dispatcher ends
	settled chan struct{}   // closed when the receipt follow-up ends
	sends   sync.WaitGroup

	unboundSince atomic.Int64           // unix nanos since no bind is bound; 0 while one is (failoverLoop)
	lastErr      atomic.Pointer[string] // the last session error, for health reports
}

// link is how a runner reaches its operator: SMPP sessions (smppLink)
// or a GSM modem (modemLink).
type link interface {
	// start connects, and keeps connecting until close.
	start(ctx context.Context)
	// sends reports whether the link sends at all (an SMPP receiver
	// bind does not).
	sends() bool
	// up counts the sessions (or modems) able to send now.
	up() int
	// capacity is how many transmissions may be in flight at once.
	capacity() int
	// wait blocks until a session is up, or ctx ends (its error), or
	// the link is closed (errLinkClosed).
	wait(ctx context.Context) error
	// submit sends a transmission, all its parts, and returns their
	// message ids; for its errors see runner.rec.
	submit(ctx context.Context, t store.Transmission) ([]string, error)
	// close disconnects; it is called after the dispatcher ended.
	close()
}

// errLinkClosed is what link.wait returns once the link is closed.
var errLinkClosed = errors.New("gateway: operator stopped")

func newRunner(g *Gateway, p *profile) *runner {
	r := &runner{g: g, p: p, stats: g.statsOf(p.op.ID),
		wake: make(chan struct{}, 1), done: make(chan struct{}), settled: make(chan struct{})}
	if p.op.TPS > 0 {
		r.limiter = newTokenBucket(p.op.TPS)
	}
	if p.op.Kind == store.KindModem {
		r.link = newModemLink(r)
	} else {
		r.link = &smppLink{r: r}
	}
	r.slots = make(chan struct{}, r.link.capacity())
	return r
}

func (r *runner) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.stopped = ctx.Done()
	r.link.start(ctx)
	if !r.link.sends() {
		close(r.done)
		close(r.settled)
		return
	}
	go r.dispatch(ctx)
	go r.settleLoop(ctx)
}

// stop stops claiming, waits for the submits in flight to be recorded,
// then disconnects.
func (r *runner) stop() {
	r.cancel()
	<-r.done
	<-r.settled
	r.link.close()
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

// failed notes a link error for health reports.
func (r *runner) failed(err error) {
	msg := err.Error()
	r.lastErr.Store(&msg)
}

func (r *runner) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
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
		if r.link.up() == 0 {
			// Claim nothing while no session is bound: a claim held
			// during an outage would go stale and be requeued.
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			err := r.link.wait(wctx)
			cancel()
			if errors.Is(err, errLinkClosed) {
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
	ids, err := r.link.submit(ctx, t)
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
	var pe partial
	switch {
	case err == nil:
		r.stats.accepted(now)
		submit = &store.Submitted{TransmissionID: t.ID, Result: store.SubmitResult{MessageIDs: ids, At: now}}
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.RecordSubmit(ctx, submit.TransmissionID, submit.Result)
		}
	case errors.As(err, &pe) && mayHaveReached(pe.err):
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
	case refusedForGood(err):
		r.stats.failed.Add(1)
		apply = func(ctx context.Context, tx store.Ops) error {
			return tx.FailTransmission(ctx, t.ID, statusCode(err), err.Error(), now)
		}
	default: // temporary: throttled, queue full, timeout, lost connection, shutting down
		reason := err.Error()
		if mayHaveReached(err) {
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

// statusCode is the code recorded with an attempt's outcome: the SMPP
// command status, or the modem's +CMS/+CME ERROR code.
func statusCode(err error) int {
	var st *smpp.StatusError
	var me *modem.Error
	switch {
	case errors.As(err, &st):
		return int(st.Status)
	case errors.As(err, &me) && me.Code > 0:
		return me.Code
	}
	return 0
}

// mayHaveReached reports whether a failed attempt may have reached the
// SMSC (or gone out through the modem) all the same.
func mayHaveReached(err error) bool {
	return smpp.MayHaveReached(err) || modem.Uncertain(err)
}

// refusedForGood reports whether an attempt was refused for a reason that
// trying again will not change: a permanent SMPP status or +CMS ERROR, or
// a message that cannot be sent (permanent).
func refusedForGood(err error) bool {
	var st *smpp.StatusError
	var me *modem.Error
	return errors.As(err, &st) && !smpp.Temporary(err) || errors.As(err, &me) && refusesMessage(me) ||
		errors.As(err, new(permanent))
}

// refusesMessage reports whether a modem's refusal is about the message
// for good (the network's or the service centre's permanent causes,
// +CMS ERROR below 300), not about the modem or its SIM (the modem's own
// codes, +CME ERROR), which another attempt, or another operator after
// failover, may get past.
func refusesMessage(e *modem.Error) bool {
	return e.Kind == "CMS" && e.Code >= 0 && e.Code < 300 && !e.Temporary()
}

// storeMO stores a reply (MO) from a number, normalized, to one of the
// operator's numbers, and calls done once it is stored or not.
func (r *runner) storeMO(from, to, text string, done func(error)) {
	r.stats.mo.Add(1)
	if n, err := r.g.cfg.Numbering.Normalize(from); err == nil {
		from = n
	}
	mo := store.MO{OperatorID: r.p.op.ID, From: from, To: to, Text: text, ReceivedAt: time.Now()}
	r.g.rec.add(write{
		apply: func(ctx context.Context, tx store.Ops) error { return tx.InsertMO(ctx, &mo) },
		done: func(err error) {
			done(err)
			if err == nil {
				r.g.cfg.Logger.Info("reply received", "operator", r.p.op.Name, "from", mo.From, "to", mo.To,
					"mo", mo.ID, "reply_to", mo.TransmissionID, "chars", utf8.RuneCountInString(mo.Text))
			}
		},
	})
}

// maxSubmitDateSkew is how far from its arrival a receipt's submit date
// may be and still be used to choose the submission it is for. A date
// further away is taken as one the SMSC writes in another layout (e.g.
// ddmmyy read as yymmdd) and ignored: the receipt then goes, as without
// a date, to the most recent submission of its id.
const maxSubmitDateSkew = 10 * 24 * time.Hour

// receiptFrom turns an SMSC receipt into the store's.
func receiptFrom(operatorID int64, messageID string, r *coding.Receipt) store.DeliveryReceipt {
	dr := store.DeliveryReceipt{OperatorID: operatorID, MessageID: messageID, DoneAt: r.DoneDate, SubmittedAt: r.SubmitDate}
	settleDates(&dr, time.Now())
	dr.State = stateOf(r.State)
	if r.NetworkError != 0 {
		dr.ErrorCode = int(r.NetworkError)
	} else if n, err := parseCode(r.Err); err == nil {
		dr.ErrorCode = n
	}
	return dr
}

// settleDates drops a receipt's submit date too far from now to be read
// right (see maxSubmitDateSkew) and dates a receipt without its done
// time now.
func settleDates(rc *store.DeliveryReceipt, now time.Time) {
	if d := now.Sub(rc.SubmittedAt); d > maxSubmitDateSkew || d < -maxSubmitDateSkew {
		rc.SubmittedAt = time.Time{}
	}
	if rc.DoneAt.IsZero() {
		rc.DoneAt = now
	}
}

func parseCode(s string) (int, error) {
	var n int
	_, err := fmt.Sscan(s, &n)
	return n, err
}
