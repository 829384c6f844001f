package smpp

import (
	"context"
	"errors"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// TimeoutError is the error of a request whose response did not come
// within the response timeout; errors.Is(err, ErrTimeout) holds. The
// request may have reached the peer, and the peer may still answer it:
// WaitLate waits for that answer, which is how a sender that pays per
// message avoids sending again what was only slow.
type TimeoutError struct {
	call *Call
}

func (e *TimeoutError) Error() string { return ErrTimeout.Error() }

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// ErrLateForgotten: the session stopped waiting for a late response
// because more than its limit of timed-out requests were waiting (see
// WaitLate). The request may have reached the peer.
var ErrLateForgotten = errors.New("smpp: too many requests past their timeout: no longer waiting for this one's response")

// WaitLate waits for the response of the timed-out request after all.
// It returns the response (a non-zero status as a *StatusError, a
// response of the wrong type as a *ResponseError, as Call.Wait does), or,
// when no answer can come any more, a *SendError with MayHaveReached set:
// the session ended, or it forgot the request (ErrLateForgotten: a
// session keeps at most four windows of timed-out submit_sm, data_sm and
// submit_multi, and one window of timed-out query_sm, oldest forgotten
// first; other requests are not kept). It returns ctx.Err() when ctx ends first. A late
// response does not feed the throttle and is also counted in
// Stats.LateResponses. Safe for concurrent use; it may be called again.
func (e *TimeoutError) WaitLate(ctx context.Context) (pdu.PDU, error) {
	c := e.call
	if c == nil || c.late == nil {
		return nil, &SendError{Err: ErrTimeout, MayHaveReached: true}
	}
	select {
	case <-c.late:
		return c.lateResp, c.lateErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lateTable keeps a session's timed-out requests, by sequence number,
// for the answer that may still come; at most max of them, the oldest
// forgotten first. Not safe for concurrent use: the session locks it.
type lateTable struct {
	calls map[uint32]*Call
	order []uint32 // sequence numbers in expiry order; may hold answered ones
	max   int
}

// put keeps c and returns a call it forgot to make room, or nil: the
// oldest one still waiting, when more than max wait.
func (t *lateTable) put(c *Call) *Call {
	if t.calls == nil {
		t.calls = map[uint32]*Call{}
	}
	t.calls[c.seq] = c
	t.order = append(t.order, c.seq)
	var forgot *Call
	for len(t.calls) > t.max {
		seq := t.order[0]
		t.order = t.order[1:]
		if old, ok := t.calls[seq]; ok && old != c {
			delete(t.calls, seq)
			forgot = old
		}
	}
	if len(t.order) > 2*t.max+8 { // mostly answered ones: compact
		live := t.order[:0:0]
		for _, seq := range t.order {
			if _, ok := t.calls[seq]; ok {
				live = append(live, seq)
			}
		}
		t.order = live
	}
	return forgot
}

func (t *lateTable) take(seq uint32) *Call {
	c, ok := t.calls[seq]
	if ok {
		delete(t.calls, seq)
		if len(t.calls) == 0 {
			t.order = t.order[:0]
		}
	}
	return c
}

// drain removes and returns every kept call.
func (t *lateTable) drain() []*Call {
	out := make([]*Call, 0, len(t.calls))
	for _, seq := range t.order {
		if c, ok := t.calls[seq]; ok {
			out = append(out, c)
			delete(t.calls, seq)
		}
	}
	t.order = nil
	return out
}

// endLate gives a kept call its late outcome.
func (c *Call) endLate(resp pdu.PDU, err error) {
	c.lateResp, c.lateErr = resp, err
	close(c.late)
}
