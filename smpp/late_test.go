package smpp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// holdingSMSC answers everything but submit_sm, whose requests it hands
// to the test to answer (late) or not at all.
func holdingSMSC(t *testing.T) (*fakeSMSC, chan pdu.PDU) {
	held := make(chan pdu.PDU, 64)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			held <- p
			return nil
		}
		return defaultAnswer(p)
	})
	return f, held
}

func timeoutOf(t *testing.T, err error) *TimeoutError {
	t.Helper()
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	require.ErrorIs(t, err, ErrTimeout)
	require.True(t, MayHaveReached(err))
	return te
}

// TestLateResponseReachesWaitLate: a response that comes after the
// timeout is not lost: WaitLate returns it, with the outcome rules of a
// timely one (a refusal is a *StatusError, a wrong type a *ResponseError).
func TestLateResponseReachesWaitLate(t *testing.T) {
	f, held := holdingSMSC(t)
	c := dial(t, f, &Options{ResponseTimeout: 50 * time.Millisecond, WindowSize: 4})

	_, err := c.Submit(ctx(t), hello())
	te := timeoutOf(t, err)
	req := <-held
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: req.Hdr().Sequence}, MessageID: "late-1"})
	resp, err := te.WaitLate(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, "late-1", resp.(*pdu.SubmitSMResp).MessageID)
	again, err := te.WaitLate(ctx(t)) // it may be asked again
	require.NoError(t, err)
	assert.Same(t, resp, again)

	_, err = c.Submit(ctx(t), hello())
	te = timeoutOf(t, err)
	req = <-held
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: req.Hdr().Sequence, Status: pdu.StatusThrottled}})
	_, err = te.WaitLate(ctx(t))
	var st *StatusError
	require.ErrorAs(t, err, &st)
	assert.Equal(t, pdu.StatusThrottled, st.Status)

	_, err = c.Submit(ctx(t), hello())
	te = timeoutOf(t, err)
	req = <-held
	f.push(&pdu.DeliverSMResp{Header: pdu.Header{Sequence: req.Hdr().Sequence}})
	_, err = te.WaitLate(ctx(t))
	var re *ResponseError
	require.ErrorAs(t, err, &re)

	// A late response that cannot be decoded fails the wait at once.
	_, err = c.Submit(ctx(t), hello())
	te = timeoutOf(t, err)
	req = <-held
	f.mu.Lock()
	for _, conn := range f.conns {
		// submit_sm_resp without the NUL of its message_id
		b := []byte{0, 0, 0, 19, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'}
		b[15] = byte(req.Hdr().Sequence)
		_, err := conn.Write(b)
		require.NoError(t, err)
	}
	f.mu.Unlock()
	_, err = te.WaitLate(ctx(t))
	require.ErrorAs(t, err, &re)

	st2 := c.Stats()
	assert.EqualValues(t, 4, st2.Timeouts)
	assert.EqualValues(t, 4, st2.LateResponses)
	assert.Zero(t, st2.InFlight)
}

// TestWaitLateEndsWithTheSession: when the session ends, a request still
// waiting for its late answer says it may have reached the SMSC; a
// context ends the wait, not the request.
func TestWaitLateEndsWithTheSession(t *testing.T) {
	f, held := holdingSMSC(t)
	c := dial(t, f, &Options{ResponseTimeout: 50 * time.Millisecond})
	_, err := c.Submit(ctx(t), hello())
	te := timeoutOf(t, err)
	<-held

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = te.WaitLate(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	f.dropAll()
	_, err = te.WaitLate(ctx(t))
	var se *SendError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.MayHaveReached)
	assert.False(t, SafeToRetry(err))
	assert.ErrorIs(t, err, ErrClosed)
}

// TestLateTableIsBounded: a session keeps at most four windows of
// timed-out requests; the oldest are forgotten, saying so, and the
// others still get their late answers.
func TestLateTableIsBounded(t *testing.T) {
	f, held := holdingSMSC(t)
	c := dial(t, f, &Options{ResponseTimeout: 30 * time.Millisecond, WindowSize: 1})
	var waits []*TimeoutError
	var reqs []pdu.PDU
	for range 6 {
		_, err := c.Submit(ctx(t), hello())
		waits = append(waits, timeoutOf(t, err))
		reqs = append(reqs, <-held)
	}
	for i := range 2 {
		_, err := waits[i].WaitLate(ctx(t))
		require.ErrorIs(t, err, ErrLateForgotten, "request %d", i)
		assert.True(t, MayHaveReached(err))
	}
	for i := 2; i < 6; i++ {
		f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: reqs[i].Hdr().Sequence}, MessageID: "x"})
		resp, err := waits[i].WaitLate(ctx(t))
		require.NoError(t, err, "request %d", i)
		assert.Equal(t, "x", resp.(*pdu.SubmitSMResp).MessageID)
	}
	// The forgotten ones' answers are counted late and dropped.
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: reqs[0].Hdr().Sequence}, MessageID: "y"})
	require.Eventually(t, func() bool { return c.Stats().LateResponses == 5 }, 5*time.Second, 5*time.Millisecond)
}

// TestLateTableKeepsNoEnquireLink: an enquire_link that times out is not
// kept for a late answer (it holds no slot and nobody waits for it).
func TestLateTableKeepsNoEnquireLink(t *testing.T) {
	var s session
	s.expired.max = 4
	c := &Call{seq: 1, slotless: true}
	s.pending = newPendingTable(1)
	s.pending.put(c)
	s.slots = newWindow(1)
	s.expire(1)
	_, err := c.Result()
	assert.True(t, errors.Is(err, ErrTimeout))
	var te *TimeoutError
	assert.False(t, errors.As(err, &te))
	assert.Empty(t, s.expired.calls)
}

// Answers that come out of order do not make the session forget a request
// still waiting while fewer than its limit wait: only requests still
// waiting count.
func TestLateTableCountsOnlyWaiting(t *testing.T) {
	f, held := holdingSMSC(t)
	c := dial(t, f, &Options{ResponseTimeout: 30 * time.Millisecond, WindowSize: 1}) // keeps 4
	var waits []*TimeoutError
	var reqs []pdu.PDU
	timeOut := func() {
		_, err := c.Submit(ctx(t), hello())
		waits = append(waits, timeoutOf(t, err))
		reqs = append(reqs, <-held)
	}
	for range 4 { // A B C D
		timeOut()
	}
	for i := 1; i < 4; i++ { // B C D answered late
		f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: reqs[i].Hdr().Sequence}, MessageID: "x"})
		_, err := waits[i].WaitLate(ctx(t))
		require.NoError(t, err)
	}
	for range 3 { // E F G: A and three more wait, the limit
		timeOut()
	}
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: reqs[0].Hdr().Sequence}, MessageID: "A"})
	resp, err := waits[0].WaitLate(ctx(t))
	require.NoError(t, err, "A forgotten although only 4 of 4 kept")
	assert.Equal(t, "A", resp.(*pdu.SubmitSMResp).MessageID)
}

// A peer that answers everything, enquire_link too, but later than the
// response timeout (by less than max(EnquireLink, ResponseTimeout)) is
// alive: the keepalive does not close the session, and the late answer
// comes.
func TestKeepaliveSparesASlowPeer(t *testing.T) {
	var f *fakeSMSC
	f = newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		switch p.(type) {
		case *pdu.SubmitSM, *pdu.EnquireLink:
			resp := defaultAnswer(p)
			time.AfterFunc(220*time.Millisecond, func() { f.push(resp) })
			return nil
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, &Options{ResponseTimeout: 100 * time.Millisecond, EnquireLink: 150 * time.Millisecond})
	for range 3 {
		_, err := c.Submit(ctx(t), hello())
		_, err = timeoutOf(t, err).WaitLate(ctx(t))
		require.NoError(t, err)
		time.Sleep(400 * time.Millisecond) // idle: enquire_links go out, answered late
	}
	assert.NoError(t, c.Err())
}

// Queries that time out never crowd a waiting submit out of the late
// table (they have a table of their own, see
// TestLateQueriesInATableOfTheirOwn).
func TestQueriesDoNotCrowdOutLateSubmits(t *testing.T) {
	held := make(chan pdu.PDU, 64)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		switch p.(type) {
		case *pdu.SubmitSM:
			held <- p
			return nil
		case *pdu.QuerySM:
			return nil // never answered
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, &Options{ResponseTimeout: 30 * time.Millisecond, WindowSize: 1}) // keeps 4
	_, err := c.Submit(ctx(t), hello())
	te := timeoutOf(t, err)
	req := <-held
	for range 10 {
		call, err := c.Send(ctx(t), &pdu.QuerySM{MessageID: "1"})
		require.NoError(t, err)
		_, err = call.Wait(ctx(t))
		require.ErrorIs(t, err, ErrTimeout)
	}
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: req.Hdr().Sequence}, MessageID: "late"})
	resp, err := te.WaitLate(ctx(t))
	require.NoError(t, err, "the submit was forgotten")
	assert.Equal(t, "late", resp.(*pdu.SubmitSMResp).MessageID)
}

// TestLateQueriesInATableOfTheirOwn: a query_sm that times out is kept
// for its late answer (a slow SMSC still tells a message's state), in a
// table of one window, so that queries never make the session forget a
// timed-out submit_sm.
func TestLateQueriesInATableOfTheirOwn(t *testing.T) {
	held := make(chan pdu.PDU, 64)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		switch p.(type) {
		case *pdu.SubmitSM, *pdu.QuerySM:
			held <- p
			return nil
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, &Options{ResponseTimeout: 30 * time.Millisecond, WindowSize: 1})
	_, err := c.Submit(ctx(t), hello())
	submit := timeoutOf(t, err)
	submitReq := <-held
	var queries []*TimeoutError
	var qreqs []pdu.PDU
	for range 6 { // more than both tables' limits together would take
		call, err := c.Send(ctx(t), &pdu.QuerySM{MessageID: "q"})
		require.NoError(t, err)
		_, err = call.Wait(ctx(t))
		queries = append(queries, timeoutOf(t, err))
		qreqs = append(qreqs, <-held)
	}
	// The submit is still waited for.
	f.push(&pdu.SubmitSMResp{Header: pdu.Header{Sequence: submitReq.Hdr().Sequence}, MessageID: "s"})
	resp, err := submit.WaitLate(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, "s", resp.(*pdu.SubmitSMResp).MessageID)
	// The last query gets its late answer; the older ones were forgotten
	// (one window of queries).
	last := len(qreqs) - 1
	f.push(&pdu.QuerySMResp{Header: pdu.Header{Sequence: qreqs[last].Hdr().Sequence}, MessageID: "q", MessageState: pdu.StateDelivered})
	resp, err = queries[last].WaitLate(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, pdu.StateDelivered, resp.(*pdu.QuerySMResp).MessageState)
	_, err = queries[0].WaitLate(ctx(t))
	require.ErrorIs(t, err, ErrLateForgotten)
}
