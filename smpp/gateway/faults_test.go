package gateway

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// TestFaults sends a batch through an SMSC that throttles, drops every
// connection, answers garbage, restarts and hangs mid-batch. Every
// message must end delivered, none lost, and any message the SMSC got
// more than once must be one the gateway counted as uncertain.
func TestFaults(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 120*time.Second)
		// Every 25th submit is throttled and every 40th finds the queue
		// full, on top of the simulator's own 400 TPS limit.
		var submits, throttled atomic.Int64
		sim := smpptest.NewServer(&smpptest.Config{TPS: 400, ReceiptDelay: time.Millisecond,
			Refuse: func(sm *pdu.SubmitSM) pdu.Status {
				if strings.HasPrefix(sm.DestinationAddr, "58416") {
					return pdu.StatusInvDstAdr
				}
				switch n := submits.Add(1); {
				case n%25 == 0:
					throttled.Add(1)
					return pdu.StatusThrottled
				case n%40 == 0:
					throttled.Add(1)
					return pdu.StatusMsgQFul
				}
				return pdu.StatusOK
			}})
		defer sim.Close()
		// The operator's agreed rate is the SMSC's: the gateway paces to it.
		op := addOperator(t, st, "flaky", sim, func(o *store.Operator) { o.Default = true; o.Binds = 2; o.TPS = 400 })
		// Several writers: groups recorded at once, a receipt beside its
		// submission, take the paths the default of one writer does not.
		g := startGatewayWith(t, st, func(c *Config) { c.Writers = 4 })

		const n = 1000
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "0414%07d,mensaje %d,f%d\n", i, i, i)
		}
		b.WriteString("04161234567,destino invalido,bad\n")
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "faults", CSV: strings.NewReader(b.String())})
		if err != nil || rep.Inserted != n+1 {
			t.Fatalf("%+v, %v", rep, err)
		}

		faults := make(chan error, 1)
		go func() {
			step := func(after int, what string, f func() error) error {
				if err := sim.WaitSubmitted(ctx, after); err != nil {
					return err
				}
				t.Logf("after %d submits: %s", after, what)
				return f()
			}
			faults <- errors.Join(
				step(150, "drop every connection", func() error { sim.DropConnections(); return nil }),
				step(300, "answer garbage", func() error { sim.AnswerGarbage(2); return nil }),
				step(450, "restart", func() error { return sim.Restart(100 * time.Millisecond) }),
				step(600, "hang for 1s", func() error {
					sim.SetMute(true)
					time.Sleep(time.Second)
					sim.SetMute(false)
					return nil
				}),
			)
		}()
		sum := waitDone(t, g, rep.BatchID)
		if err := <-faults; err != nil {
			t.Fatal(err)
		}
		if sum.ByState[store.TxDelivered] != n || sum.ByState[store.TxFailed] != 1 {
			t.Fatalf("summary %v", sum.ByState)
		}
		if throttled.Load() < 20 {
			t.Fatalf("only %d temporary refusals", throttled.Load())
		}
		bad, _ := st.LastTransmissionTo(ctx, "584161234567")
		if bad.ErrorCode != int(pdu.StatusInvDstAdr) || !strings.Contains(bad.Reason, "ESME_RINVDSTADR") {
			t.Fatalf("refused message %+v", bad)
		}

		perDest := map[string]int{}
		for _, s := range sim.Submitted() {
			perDest[s.Dest]++
		}
		extra := 0
		for i := range n {
			c := perDest[fmt.Sprintf("58414%07d", i)]
			if c == 0 {
				t.Fatalf("message %d never reached the SMSC", i)
			}
			extra += c - 1
		}
		status, err := g.Operators(ctx, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		s := status[0]
		t.Logf("operator %s: %+v; SMSC got %d duplicates; store %v", op.Name, s.Process, extra, s.Store.ByState)
		if uint64(extra) > s.Process.Uncertain {
			t.Fatalf("%d duplicates at the SMSC, %d uncertain attempts counted", extra, s.Process.Uncertain)
		}
		if s.Process.PossibleDuplicates > s.Process.Uncertain {
			t.Fatalf("counters %+v", s.Process)
		}
	})
}
