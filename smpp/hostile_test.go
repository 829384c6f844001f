package smpp_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

// submitAll submits n messages at once and returns each one's outcome,
// by message text.
func submitAll(ctx context.Context, c *smpp.Client, n int) (ids map[string]string, errs map[string]error) {
	ids, errs = map[string]string{}, map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		text := fmt.Sprint("message ", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584141234567", ShortMessage: []byte(text)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[text] = err
			} else {
				ids[text] = id
			}
		}()
	}
	wg.Wait()
	return ids, errs
}

// A client survives every way an SMSC can break the protocol: each
// request ends with a clear error or its answer, at once or within the
// response timeout, never a panic or a hang, and the client either goes
// on or ends with a reason. (The test binary checks for leaked
// goroutines at its end.)
func TestClientSurvivesAHostileSMSC(t *testing.T) {
	const n, timeout = 12, 500 * time.Millisecond
	for _, fault := range smpptest.Faults() {
		t.Run(fault.String(), func(t *testing.T) {
			sim := smpptest.NewServer(nil)
			defer sim.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sim.SetFault(fault) // binds are answered as usual
			c, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "esme", WindowSize: 4, ResponseTimeout: timeout,
				EnquireLink: 100 * time.Millisecond, Retry: smpp.RetryPolicy{Attempts: 1}})
			require.NoError(t, err)
			defer c.Close()
			start := time.Now()
			ids, errs := submitAll(ctx, c, n)
			took := time.Since(start)
			t.Logf("%d answered, %d failed in %v; first error: %v", len(ids), len(errs), took, firstErr(errs))
			var re *smpp.ResponseError
			switch fault {
			case smpptest.FaultWrongResponse, smpptest.FaultGenericNackOK, smpptest.FaultMalformedResponse:
				// Failed at once, as answers that reached the SMSC; the
				// session goes on.
				require.Len(t, errs, n)
				for text, err := range errs {
					require.ErrorAs(t, err, &re, "%s", text)
					assert.True(t, smpp.MayHaveReached(err))
					assert.False(t, smpp.SafeToRetry(err))
				}
				assert.Less(t, took, timeout, "the calls waited for the timeout")
				assert.Nil(t, c.Err(), "the session ended")
				if fault == smpptest.FaultMalformedResponse {
					var de *pdu.DecodeError
					assert.ErrorAs(t, firstErr(errs), &de)
				}
			case smpptest.FaultPartialThenStall:
				// The link is dead: the requests end within the timeout
				// and the keepalive ends the session.
				require.Len(t, errs, n)
				for _, err := range errs {
					assert.True(t, errors.Is(err, smpp.ErrTimeout) || errors.Is(err, smpp.ErrClosed), "%v", err)
				}
				select {
				case <-c.Done():
					require.Error(t, c.Err())
					t.Logf("session ended: %v", c.Err())
				case <-time.After(5 * timeout):
					t.Fatal("a stalled SMSC left the session open")
				}
			case smpptest.FaultReorder, smpptest.FaultSlowReads:
				// Answers out of order or slowly: each message gets its
				// own id, the session stays up.
				require.Empty(t, errs)
				subs := sim.Submitted()
				byText := map[string]string{}
				for _, s := range subs {
					byText[s.Text] = s.MessageID
				}
				for text, id := range ids {
					assert.Equal(t, byText[text], id, "%s got another message's id", text)
				}
				assert.Nil(t, c.Err())
			case smpptest.FaultDropAfterBind:
				// The connection goes: the session ends with a reason,
				// the requests in flight say whether they may have
				// reached the SMSC.
				select {
				case <-c.Done():
					require.Error(t, c.Err())
				case <-time.After(5 * time.Second):
					t.Fatal("the dropped session did not end")
				}
				for _, err := range errs {
					var se *smpp.SendError
					assert.True(t, errors.As(err, &se) || errors.Is(err, smpp.ErrTimeout), "%v", err)
				}
			}
		})
	}
}

func firstErr(errs map[string]error) error {
	for _, err := range errs {
		return err
	}
	return nil
}

// enquire_link does not starve behind a full window of slow submits, and
// a session receiving responses is never closed by the keepalive: with an
// SMSC answering in 500 ms, a window of 2 and 20 submitters, every submit
// gets its id (before, the session closed after 8, the rest failing as
// "may have reached").
func TestKeepaliveDoesNotTearDownABusyLink(t *testing.T) {
	sim := smpptest.NewServer(&smpptest.Config{Latency: 500 * time.Millisecond})
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "esme", WindowSize: 2, ResponseTimeout: time.Second,
		EnquireLink: 100 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	ids, errs := submitAll(ctx, c, 20)
	assert.Empty(t, errs)
	assert.Len(t, ids, 20)
	assert.Nil(t, c.Err(), "the keepalive closed a busy session")
}

// A Supervisor kept bound to a hostile SMSC: every submit ends in an id
// or a clear error within a bound, never a hang, and once the SMSC
// behaves again the supervisor is bound and submits go through (a
// stalled link is found by the keepalive and redialled).
func TestSupervisorSurvivesAHostileSMSC(t *testing.T) {
	const n, timeout = 8, 300 * time.Millisecond
	for _, fault := range smpptest.Faults() {
		t.Run(fault.String(), func(t *testing.T) {
			sim := smpptest.NewServer(nil)
			defer sim.Close()
			sim.SetFault(fault) // binds are answered as usual
			var mu sync.Mutex
			var states []smpp.ConnState
			sup := smpp.Supervise(sim.Addr, &smpp.Options{SystemID: "esme", WindowSize: 4, ResponseTimeout: timeout,
				EnquireLink: 100 * time.Millisecond, Retry: smpp.RetryPolicy{Attempts: 1}},
				&smpp.SupervisorOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
					OnState: func(s smpp.ConnState, _ error) { mu.Lock(); states = append(states, s); mu.Unlock() }})
			defer sup.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := sup.Wait(ctx)
			require.NoError(t, err)

			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
					defer scancel()
					start := time.Now()
					time.Sleep(time.Duration(i) * 50 * time.Millisecond) // across a drop after bind
					_, err := sup.Submit(sctx, &pdu.SubmitSM{DestinationAddr: "584141234567", ShortMessage: []byte(fmt.Sprint("m", i))})
					if err != nil {
						assert.NotErrorIs(t, err, context.DeadlineExceeded, "submit %d hung for %v", i, time.Since(start))
					}
				}()
			}
			wg.Wait()

			sim.SetFault(smpptest.FaultNone)
			require.Eventually(t, func() bool {
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				defer scancel()
				_, err := sup.Submit(sctx, &pdu.SubmitSM{DestinationAddr: "584141234567", ShortMessage: []byte("after")})
				return err == nil
			}, 15*time.Second, 50*time.Millisecond, "not recovered after %v", fault)
			mu.Lock()
			t.Logf("states: %v", states)
			mu.Unlock()
		})
	}
}

// An SMSC that accepts every bind and drops it at once is not redialled
// at MinBackoff forever: a session that did not stay up StableAfter counts
// as a failure, and the pause escalates to MaxBackoff.
func TestSupervisorBacksOffFromADroppingSMSC(t *testing.T) {
	sim := smpptest.NewServer(nil)
	defer sim.Close()
	sim.SetFault(smpptest.FaultDropAfterBind)
	var mu sync.Mutex
	var bound []time.Time
	sup := smpp.Supervise(sim.Addr, &smpp.Options{SystemID: "esme", EnquireLink: -1},
		&smpp.SupervisorOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
			OnState: func(s smpp.ConnState, _ error) {
				if s == smpp.Bound {
					mu.Lock()
					bound = append(bound, time.Now())
					mu.Unlock()
				}
			}})
	time.Sleep(3 * time.Second)
	sup.Close()
	mu.Lock()
	defer mu.Unlock()
	// Each session lives FaultDropAfter (200 ms); with a constant 20 ms
	// pause that is about 13 binds in 3 s; escalating (20, 40, ... 400 ms)
	// about 8.
	require.GreaterOrEqual(t, len(bound), 3)
	assert.LessOrEqual(t, len(bound), 10, "binds at %v", bound)
	gaps := make([]time.Duration, 0, len(bound))
	for i := 1; i < len(bound); i++ {
		gaps = append(gaps, bound[i].Sub(bound[i-1]))
	}
	assert.Greater(t, gaps[len(gaps)-1], gaps[0]+200*time.Millisecond, "no escalation: %v", gaps)
}
