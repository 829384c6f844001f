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
