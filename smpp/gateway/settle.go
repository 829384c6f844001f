package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// Defaults of the operator parameters gateway.query_after and
// gateway.give_up_after.
const (
	// DefaultQueryAfter is how long after its submission a message
	// without a receipt is asked about with query_sm.
	DefaultQueryAfter = 10 * time.Minute
	// DefaultGiveUpAfter is how long after its submission a message whose
	// state could not be learned ends unknown, when the operator's
	// submit_sm.validity_period is not a duration (SMSCs keep messages
	// for one to three days by default).
	DefaultGiveUpAfter = 72 * time.Hour
)

// settleLoop follows up the operator's sent messages that have no
// receipt: it asks the SMSC about each (query_sm) once it has waited
// queryAfter, and again every queryAfter, and ends as unknown the ones
// whose state it could not learn within giveUpAfter (the validity
// period), so that every batch ends.
func (r *runner) settleLoop(ctx context.Context) {
	defer close(r.settled)
	every := min(max(r.p.queryAfter/4, 50*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	asked := map[segmentKey]time.Time{}
	ended := map[int64]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.settle(ctx, asked, ended)
	}
}

type segmentKey struct {
	tx  int64
	seg int
}

// settle makes one pass over the operator's unsettled segments. asked
// holds when each segment was last asked about; ended, the messages
// given up (their end is written by the recorder, after this pass: a pass
// that lists them again meanwhile leaves them).
func (r *runner) settle(ctx context.Context, asked map[segmentKey]time.Time, ended map[int64]time.Time) {
	now := time.Now()
	for k, at := range asked {
		if now.Sub(at) > 2*r.p.queryAfter {
			delete(asked, k)
		}
	}
	for id, at := range ended {
		if now.Sub(at) > max(2*r.p.queryAfter, time.Minute) {
			delete(ended, id)
		}
	}
	var after int64
	for ctx.Err() == nil {
		segs, err := r.g.st.UnsettledSegments(ctx, r.p.op.ID, now.Add(-r.p.queryAfter), after, 100)
		if err != nil {
			if ctx.Err() == nil {
				r.g.cfg.Logger.Warn("listing messages without receipt", "operator", r.p.op.Name, "err", err)
			}
			return
		}
		if len(segs) == 0 {
			return
		}
		var calls []query
		q, asks := r.link.(querier)
		for _, sg := range segs {
			after = sg.TransmissionID
			key := segmentKey{sg.TransmissionID, sg.Segment}
			switch {
			case now.Sub(sg.SubmittedAt) >= r.p.giveUpAfter:
				if _, done := ended[sg.TransmissionID]; !done {
					ended[sg.TransmissionID] = now
					r.giveUp(sg)
				}
			case asks && now.Sub(asked[key]) >= r.p.queryAfter:
				asked[key] = now
				if call, ok := q.ask(ctx, sg); ok {
					calls = append(calls, call)
				}
			}
		}
		for _, call := range calls {
			q.answered(ctx, call)
		}
		if len(segs) < 100 {
			return
		}
	}
}

// lateQueryWait bounds the wait for the late answer of a query_sm (the
// queries of a round are answered one after another, so their late
// answers mostly come while the first is waited for).
const lateQueryWait = 30 * time.Second

// query is a query_sm in flight.
type query struct {
	seg  store.SentSegment
	call *smpp.Call
}

// querier is a link that can ask the operator about a message's state.
type querier interface {
	// ask asks about sg without waiting for the answer.
	ask(ctx context.Context, sg store.SentSegment) (query, bool)
	// answered waits for the answer and records a final state in it.
	answered(ctx context.Context, q query)
}

// ask sends a query_sm for sg without waiting for its answer.
func (l *smppLink) ask(ctx context.Context, sg store.SentSegment) (query, bool) {
	r := l.r
	c := l.bound()
	if c == nil || c.Mode() == smpp.Receiver {
		return query{}, false
	}
	source := sg.Source
	if source == "" && len(r.p.op.Sources) > 0 {
		source = r.p.op.Sources[0]
	}
	q := &pdu.QuerySM{MessageID: r.p.queryID(sg.MessageID), SourceAddrTON: r.p.tmpl.SourceAddrTON,
		SourceAddrNPI: r.p.tmpl.SourceAddrNPI, SourceAddr: source}
	if source != "" && SourceTON(source) == 5 {
		q.SourceAddrTON, q.SourceAddrNPI = 5, 0
	}
	call, err := c.Send(ctx, q)
	if err != nil {
		return query{}, false
	}
	r.stats.queries.Add(1)
	return query{sg, call}, true
}

// answered applies a query_sm_resp that says the message is final, as a
// receipt would be.
func (l *smppLink) answered(ctx context.Context, q query) {
	r := l.r
	resp, err := q.call.Wait(ctx)
	var te *smpp.TimeoutError
	if errors.As(err, &te) {
		// An SMSC slower than the response timeout still answers: its
		// late answer counts (the session keeps a window of late queries).
		lctx, cancel := context.WithTimeout(ctx, lateQueryWait)
		resp, err = te.WaitLate(lctx)
		cancel()
	}
	if err != nil {
		return // asked again later, or given up on at the end of the validity period
	}
	qr, ok := resp.(*pdu.QuerySMResp)
	if !ok {
		return
	}
	state := stateOf(qr.MessageState)
	if !state.Final() {
		return
	}
	done, err := pdu.ParseTime(qr.FinalDate, time.Now())
	if err != nil || done.IsZero() {
		done = time.Now()
	}
	r.stats.queriedFinal.Add(1)
	rc := store.DeliveryReceipt{OperatorID: r.p.op.ID, MessageID: q.seg.MessageID, State: state,
		ErrorCode: int(qr.ErrorCode), DoneAt: done, Raw: fmt.Sprintf("query_sm_resp message_state:%d error_code:%d final_date:%s",
			qr.MessageState, qr.ErrorCode, qr.FinalDate)}
	r.g.rec.add(receiptWrite(rc, r.logUnrecorded("query result", q.seg.TransmissionID)))
}

// giveUp ends a message whose state could not be learned within the
// validity period as unknown. Counters.NoReceipt counts the messages it
// ended (not those a receipt or another process ended first).
func (r *runner) giveUp(sg store.SentSegment) {
	reason := fmt.Sprintf("no receipt, and query_sm did not tell its state, within %s of its submission", r.p.giveUpAfter)
	if _, asks := r.link.(querier); !asks {
		reason = fmt.Sprintf("no status report within %s of its submission", r.p.giveUpAfter)
	}
	logErr := r.logUnrecorded("end without receipt", sg.TransmissionID)
	r.g.rec.add(write{
		apply: func(ctx context.Context, tx store.Ops) error {
			return tx.EndTransmission(ctx, sg.TransmissionID, store.TxUnknown, 0, reason, time.Now())
		},
		done: func(err error) {
			if err == nil {
				r.stats.noReceipt.Add(1)
			}
			logErr(err)
		},
	})
}

func (r *runner) logUnrecorded(what string, txID int64) func(error) {
	return func(err error) {
		if err != nil && !businessError(err) {
			r.g.cfg.Logger.Warn(what+" not recorded", "operator", r.p.op.Name, "transmission", txID, "err", err)
		}
	}
}

// stateOf is the transmission state an SMPP message_state stands for.
func stateOf(s uint8) store.TransmissionState {
	switch s {
	case pdu.StateDelivered:
		return store.TxDelivered
	case pdu.StateExpired:
		return store.TxExpired
	case pdu.StateDeleted, pdu.StateUndeliverable, pdu.StateSkipped: // SKIPPED: final, not delivered (SMPP 5.0)
		return store.TxUndeliverable
	case pdu.StateRejected:
		return store.TxRejected
	case pdu.StateEnroute, pdu.StateAccepted, pdu.StateScheduled:
		return store.TxSent // not final yet
	}
	return store.TxUnknown // UNKNOWN, or a state this gateway does not know: final, outcome unknown
}

// queryID turns a recorded message id back into the form the SMSC gave
// in its submit_sm_resp (a hex-dec operator's ids are recorded in
// decimal).
func (p *profile) queryID(recorded string) string {
	if f, _ := p.idFormats(); f == coding.IDHex {
		if n, ok := new(big.Int).SetString(recorded, 10); ok {
			return n.Text(16)
		}
	}
	return recorded
}
