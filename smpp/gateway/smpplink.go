package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// smppLink is an SMPP operator's link: its binds, each a Supervisor
// that keeps it bound. It takes the operator's receipts and replies
// (HandleMessage).
type smppLink struct {
	r    *runner
	sups []*smpp.Supervisor
	mu   sync.Mutex
	next uint64
}

func (l *smppLink) start(context.Context) {
	r := l.r
	opts := r.p.opts
	opts.Handler = l
	if r.limiter != nil {
		opts.RateLimiter = r.limiter
	}
	log := r.g.cfg.Logger.With("operator", r.p.op.Name)
	for i := range max(r.p.op.Binds, 1) {
		so := &smpp.SupervisorOptions{OnState: func(s smpp.ConnState, err error) {
			if err != nil {
				l.r.failed(err)
				log.Warn("session", "bind", i, "state", s, "err", err)
			} else {
				log.Info("session", "bind", i, "state", s)
			}
		}}
		l.sups = append(l.sups, smpp.Supervise(r.p.addr, &opts, so))
	}
}

func (l *smppLink) sends() bool { return l.r.p.opts.Mode != smpp.Receiver }

// capacity is the binds' windows.
func (l *smppLink) capacity() int {
	window := l.r.p.opts.WindowSize
	if window <= 0 {
		window = 100
	}
	return window * max(l.r.p.op.Binds, 1)
}

func (l *smppLink) wait(ctx context.Context) error {
	_, err := l.sups[0].Wait(ctx)
	if errors.Is(err, smpp.ErrClosed) {
		return errLinkClosed
	}
	return err
}

// close unbinds every bind at once.
func (l *smppLink) close() {
	var wg sync.WaitGroup
	for _, s := range l.sups {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close() }()
	}
	wg.Wait()
}

// bound returns a bound client that can submit, round robin, or nil.
func (l *smppLink) bound() *smpp.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range l.sups {
		l.next++
		if c := l.sups[l.next%uint64(len(l.sups))].Current(); c != nil {
			return c
		}
	}
	return nil
}

func (l *smppLink) up() int {
	n := 0
	for _, s := range l.sups {
		if s.Current() != nil {
			n++
		}
	}
	return n
}

// lateAnswer turns a submit that timed out into its late answer, waiting
// for it under ctx: a slow SMSC's message is not sent twice. Any other
// error, and a timeout still unanswered when ctx ends, come back as is.
func (l *smppLink) lateAnswer(ctx context.Context, err error) (string, error) {
	r := l.r
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

func (l *smppLink) submit(ctx context.Context, t store.Transmission) ([]string, error) {
	r := l.r
	o := r.p.split
	o.MaxParts = r.g.cfg.MaxParts
	o.Ref = uint16(rand.IntN(0xFFFF) + 1)
	dc, parts, err := coding.Split(t.Text, o)
	if err != nil {
		return nil, permanent{fmt.Errorf("text cannot be encoded: %w", err)}
	}
	c := l.bound()
	if c == nil {
		if c, err = l.sups[0].Wait(ctx); err != nil {
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
			id, err = l.lateAnswer(ctx, err)
		}
		if err != nil && i > 0 {
			// The first parts are at the SMSC: a part refused for a
			// while (throttling, a full queue) or not sent (the session
			// dropped) is tried again until the submit timeout, rather
			// than cutting the message in two.
			id, err = l.submitLaterPart(ctx, &sm, err)
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
func (l *smppLink) submitLaterPart(ctx context.Context, sm *pdu.SubmitSM, err error) (string, error) {
	r := l.r
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
		c := l.bound()
		if c == nil {
			var werr error
			if c, werr = l.sups[0].Wait(waitCtx); werr != nil {
				return "", err
			}
		}
		r.stats.partRetries.Add(1)
		var id string
		id, err = c.Submit(ctx, sm)
		if err != nil {
			id, err = l.lateAnswer(ctx, err)
		}
		if err == nil {
			return id, nil
		}
	}
	return "", err
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

// HandleMessage takes the operator's receipts and replies; each is
// acknowledged once stored (a failed store answers ESME_RX_T_APPN, so the
// SMSC delivers it again later).
func (l *smppLink) HandleMessage(ctx context.Context, m *smpp.Message) pdu.Status {
	r := l.r
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
		ack := m.Defer()
		r.storeMO(m.Source, m.Destination, m.Text, func(err error) { ack(ackStatus(err)) })
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
