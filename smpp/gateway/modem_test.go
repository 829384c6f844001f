package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/modem/modemtest"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// simModems serves simulated modems to a gateway: a device named
// "sim:NAME" is the in-memory modem of that name; any other is opened as
// a serial port (a pty the simulator serves).
type simModems struct {
	mu     sync.Mutex
	sims   map[string]*modemtest.Modem
	opened map[string]int
	fail   map[string]error // devices that cannot be opened, and why
}

func newSimModems() *simModems {
	return &simModems{sims: map[string]*modemtest.Modem{}, opened: map[string]int{}, fail: map[string]error{}}
}

func (s *simModems) add(t *testing.T, name string, cfg *modemtest.Config) *modemtest.Modem {
	sim := modemtest.New(cfg)
	t.Cleanup(sim.Close)
	s.mu.Lock()
	s.sims["sim:"+name] = sim
	s.mu.Unlock()
	return sim
}

func (s *simModems) open(ctx context.Context, set store.ModemSettings) (io.ReadWriteCloser, error) {
	s.mu.Lock()
	sim, err := s.sims[set.Device], s.fail[set.Device]
	s.opened[set.Device]++
	s.mu.Unlock()
	switch {
	case err != nil:
		return nil, err
	case sim != nil:
		return sim.Conn(), nil
	}
	return OpenSerial(ctx, set)
}

func (s *simModems) setFail(device string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, device)
	} else {
		s.fail[device] = err
	}
}

func (s *simModems) openedCount(device string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened[device]
}

// oneModem runs a gateway with one modem operator (changed by mod) on a
// simulated modem in memory, and waits until the modem is ready.
func oneModem(t *testing.T, st store.Store, mod func(*store.Operator)) (*modemtest.Modem, store.Operator, *Gateway) {
	t.Helper()
	sims := newSimModems()
	sim := sims.add(t, "a", nil)
	op := addModemOperator(t, st, "stick", "sim:a", mod)
	g := startGatewayWith(t, st, func(c *Config) { c.OpenModem = sims.open })
	waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })
	return sim, op, g
}

func addModemOperator(t *testing.T, st store.Store, name, device string, mod func(*store.Operator)) store.Operator {
	t.Helper()
	op := store.Operator{Name: name, Kind: store.KindModem, Enabled: true, Prefixes: []string{"58414"},
		Modem: store.ModemSettings{Device: device}}
	if mod != nil {
		mod(&op)
	}
	require.NoError(t, st.CreateOperator(context.Background(), &op))
	return op
}

// part is one part of a message as an SMSC or a modem took it.
type part struct {
	to, text        string
	ref, total, seq int
}

// byTextTo counts what the modems and the SMSC took, per destination and
// text (a long message's parts joined): every message must be there once.
func byTextTo(smsc *smpptest.Server, sims ...*modemtest.Modem) map[string]int {
	var parts []part
	for _, m := range smsc.Submitted() {
		parts = append(parts, part{m.Dest, m.Text, int(m.Concat.Ref), int(m.Concat.Total), int(m.Concat.Seq)})
	}
	for _, sim := range sims {
		for _, s := range sim.Submitted() {
			parts = append(parts, part{strings.TrimPrefix(s.To, "+"), s.Text, s.Concat[0], s.Concat[1], s.Concat[2]})
		}
	}
	n := map[string]int{}
	long := map[string][]part{}
	for _, p := range parts {
		if p.total == 0 {
			n[p.to+"|"+p.text]++
			continue
		}
		key := fmt.Sprintf("%s|%d", p.to, p.ref)
		long[key] = append(long[key], p)
	}
	for key, ps := range long {
		if len(ps) != ps[0].total {
			n["incomplete|"+key]++
			continue
		}
		text := make([]string, len(ps))
		for _, p := range ps {
			text[p.seq-1] = p.text
		}
		n[ps[0].to+"|"+strings.Join(text, "")]++
	}
	return n
}

// A batch goes out through one SMPP operator and two modems sharing its
// prefix (one on a pty opened as a serial port, one in memory): long,
// Unicode and plain messages, each sent exactly once, each ending in the
// state its SMSC receipt or status report gave, replies through a modem
// stored and linked to the message they answer.
func TestModemsBesideSMPP(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 120*time.Second)
		smsc := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 5 * time.Millisecond})
		defer smsc.Close()
		sims := newSimModems()
		outcomes := modemtest.Outcomes{Delivered: 8, Undeliverable: 1, Expired: 1}
		memSim := sims.add(t, "mem", &modemtest.Config{Delay: 3 * time.Millisecond, ReportDelay: 5 * time.Millisecond, Outcomes: outcomes, Seed: 1})
		ptySim := modemtest.New(&modemtest.Config{Delay: 3 * time.Millisecond, ReportDelay: 5 * time.Millisecond, Outcomes: outcomes,
			Seed: 2, PIN: "1234", ReportWithoutSMSC: true})
		t.Cleanup(ptySim.Close)
		path, stop, err := ptySim.ServePTY()
		require.NoError(t, err)
		t.Cleanup(stop)

		smscOp := addOperator(t, st, "smsc", smsc, func(o *store.Operator) { o.Prefixes = []string{"58414"} })
		mem := addModemOperator(t, st, "stick-mem", "sim:mem", nil)
		pty := addModemOperator(t, st, "stick-pty", path, func(o *store.Operator) { o.Modem.PIN = "1234" })
		g := startGatewayWith(t, st, func(c *Config) { c.OpenModem = sims.open })
		for _, id := range []int64{smscOp.ID, mem.ID, pty.ID} {
			waitFor(t, func() bool { s := operatorStatus(t, g, id); return s.Running && s.Bound == 1 })
		}

		var csv strings.Builder
		want := map[string]int{}
		long := strings.Repeat("Su pedido 4711 salió del almacén y llegará mañana. ", 5)
		for i := range 90 {
			to := fmt.Sprintf("584141%06d", i)
			text := []string{"Hola " + strconv.Itoa(i), "Confirmado ✅ " + strconv.Itoa(i), long + strconv.Itoa(i)}[i%3]
			fmt.Fprintf(&csv, "0%s,\"%s\"\n", to[2:], text)
			want[to+"|"+text] = 1
		}
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "mixed", CSV: strings.NewReader(csv.String())})
		require.NoError(t, err)
		require.Equal(t, 90, rep.Inserted)
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, want, byTextTo(smsc, memSim, ptySim), "every message exactly once, whole")
		t.Logf("by state %v; smsc %d, mem %d parts, pty %d parts", sum.ByState, len(smsc.Submitted()),
			len(memSim.Submitted()), len(ptySim.Submitted()))
		assert.NotEmpty(t, memSim.Submitted(), "the pool shares the prefix")
		assert.NotEmpty(t, ptySim.Submitted(), "the pool shares the prefix")
		assert.Zero(t, sum.ByState[store.TxUnknown]+sum.ByState[store.TxFailed], "%v", sum.ByState)

		// Every modem message ends as its report said.
		status := map[string]byte{}
		for _, sim := range []*modemtest.Modem{memSim, ptySim} {
			for _, s := range sim.Submitted() {
				status[modemMessageID(s.To, s.Ref)] = s.Outcome
			}
		}
		ts, err := st.BatchTransmissions(ctx, rep.BatchID, 0, 1000)
		require.NoError(t, err)
		checked := 0
		for _, tr := range ts {
			if tr.OperatorID == smscOp.ID {
				assert.Equal(t, store.TxDelivered, tr.State)
				continue
			}
			require.Contains(t, status, tr.MessageID, "transmission %d", tr.ID)
			if tr.Segments == 1 {
				checked++
				w := map[byte]store.TransmissionState{0x00: store.TxDelivered, 0x41: store.TxUndeliverable, 0x46: store.TxExpired}[status[tr.MessageID]]
				assert.Equal(t, w, tr.State, "transmission %d (%s)", tr.ID, tr.MessageID)
			}
		}
		assert.Positive(t, checked)

		// A reply through a modem: stored, linked to the message it
		// answers, deleted from the SIM once stored.
		require.NoError(t, memSim.Receive("+584141000003", "Gracias, ¿a qué hora llega?"))
		var mos []store.MO
		waitFor(t, func() bool {
			mos, err = st.MOs(ctx, store.MOFilter{From: "584141000003"})
			return err == nil && len(mos) == 1
		})
		assert.Equal(t, "Gracias, ¿a qué hora llega?", mos[0].Text)
		assert.Equal(t, mem.ID, mos[0].OperatorID)
		assert.NotZero(t, mos[0].TransmissionID, "linked to the message sent to that number")
		// Status by number: the message the modem sent, as its report left it.
		last, err := g.Status(ctx, "0414-1000003")
		require.NoError(t, err)
		assert.Equal(t, mos[0].TransmissionID, last.ID)
		assert.True(t, last.State.Final(), "%s", last.State)
		if last.OperatorID != smscOp.ID {
			assert.Contains(t, status, last.MessageID, "a modem's message id")
		}
		waitFor(t, func() bool { return memSim.Stored() == 0 })
	})
}

// A modem that restarts in the middle of a batch (back to text mode, PIN
// asked again), and one whose connection is lost and opened again, lose
// nothing and send nothing twice; a part that went out unanswered is the
// one uncertain case, counted, and sent again only under at-least-once.
func TestModemResetMidBatch(t *testing.T) {
	for _, policy := range []string{"at-least-once", "at-most-once"} {
		t.Run(policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st store.Store) {
				ctx := testCtx(t, 120*time.Second)
				sims := newSimModems()
				sim := sims.add(t, "a", &modemtest.Config{Delay: 2 * time.Millisecond, ReportDelay: time.Millisecond, PIN: "0000"})
				op := addModemOperator(t, st, "stick", "sim:a", func(o *store.Operator) {
					o.Modem.PIN = "0000"
					// Reports in flight when the port goes away are lost:
					// their messages end unknown after give_up_after.
					o.Params = []store.OperatorParam{{Command: "gateway", Name: "resend", Value: policy},
						{Command: "gateway", Name: "query_after", Value: "300ms"}, {Command: "gateway", Name: "give_up_after", Value: "2s"}}
				})
				g := startGatewayWith(t, st, func(c *Config) {
					c.OpenModem = sims.open
					c.SubmitTimeout = 3 * time.Second
				})
				waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })

				var csv strings.Builder
				for i := range 60 {
					fmt.Fprintf(&csv, "0414%07d,mensaje %d\n", i, i)
				}
				rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "reset", CSV: strings.NewReader(csv.String())})
				require.NoError(t, err)
				waitFor(t, func() bool { return len(sim.Submitted()) >= 10 })
				sim.Reset()
				waitFor(t, func() bool { return len(sim.Submitted()) >= 25 })
				opened := sims.openedCount("sim:a")
				_ = sim.Conn() // the port goes away under the gateway (a USB stick re-plugged)
				waitFor(t, func() bool { return sims.openedCount("sim:a") > opened })
				waitFor(t, func() bool { return len(sim.Submitted()) >= 40 })
				sim.TakeSilently(1) // goes out, but the modem never says so
				sum := waitDone(t, g, rep.BatchID)

				n := map[string]int{}
				for _, s := range sim.Submitted() {
					n[s.Text]++
				}
				c := operatorStatus(t, g, op.ID).Process
				// The unanswered part, and the one in flight when the port
				// went away, if one was.
				assert.GreaterOrEqual(t, c.Uncertain, uint64(1), "the unanswered part")
				assert.LessOrEqual(t, c.Uncertain, uint64(2))
				dups := 0
				for i := range 60 {
					text := "mensaje " + strconv.Itoa(i)
					assert.Contains(t, n, text, "never lost")
					dups += n[text] - 1
				}
				t.Logf("%v; %d parts taken, %d uncertain, %d without report", sum.ByState, len(sim.Submitted()), c.Uncertain, c.NoReceipt)
				assert.LessOrEqual(t, c.NoReceipt, uint64(2), "only reports in flight at the swap are lost")
				unknown := int(c.NoReceipt)
				if policy == "at-least-once" {
					assert.Equal(t, c.Uncertain, c.PossibleDuplicates, "each uncertain one sent again, counted")
					assert.GreaterOrEqual(t, dups, 1, "the unanswered one went out")
					assert.LessOrEqual(t, dups, int(c.Uncertain), "nothing but uncertain ones twice")
				} else {
					unknown += int(c.Uncertain) // not sent again
					assert.Zero(t, c.PossibleDuplicates)
					assert.Zero(t, dups, "nothing sent twice")
				}
				assert.Equal(t, unknown, sum.ByState[store.TxUnknown], "%v", sum.ByState)
				assert.Equal(t, 60-unknown, sum.ByState[store.TxDelivered], "%v", sum.ByState)
			})
		})
	}
}

// Replies that come while the modem's port is gone wait on its SIM and
// are stored when it is opened again; one whose deletion is cut short
// by the port going away again is offered again and not stored twice.
func TestModemRepliesAcrossUnplugs(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sims := newSimModems()
		sim := sims.add(t, "a", nil)
		op := addModemOperator(t, st, "stick", "sim:a", nil)
		g := startGatewayWith(t, st, func(c *Config) { c.OpenModem = sims.open })
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })

		sims.setFail("sim:a", errors.New("no such device"))
		sim.Conn().Close() // unplugged: the gateway's connection ends, and nothing is connected
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 0 })
		require.NoError(t, sim.Receive("+584141110001", "uno"))
		require.NoError(t, sim.Receive("+584141110001", strings.Repeat("dos, largo ", 20)))
		require.Equal(t, 3, sim.Stored(), "a short one and two parts")
		sim.UnplugOnDelete(1)
		sims.setFail("sim:a", nil)

		waitFor(t, func() bool { return sim.Stored() == 0 })
		mos, err := st.MOs(ctx, store.MOFilter{From: "584141110001"})
		require.NoError(t, err)
		texts := []string{}
		for _, m := range mos {
			texts = append(texts, m.Text)
		}
		assert.ElementsMatch(t, []string{"uno", strings.Repeat("dos, largo ", 20)}, texts, "each once")
		assert.GreaterOrEqual(t, sims.openedCount("sim:a"), 3, "opened again after each unplug")
	})
}

// A SIM that refuses the operator's PIN is not given another: a SIM
// locks after three wrong ones. The operator says why in its health, its
// messages fail over, and saving it with the right PIN starts it again.
func TestModemWrongPINNeverRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		smsc := smpptest.NewServer(nil)
		defer smsc.Close()
		sims := newSimModems()
		sim := sims.add(t, "a", &modemtest.Config{PIN: "1234"})
		op := addModemOperator(t, st, "stick", "sim:a", func(o *store.Operator) { o.Modem.PIN = "9999" })
		addOperator(t, st, "smsc", smsc, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Priority = 1 })
		g := startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = sims.open
			c.FailoverAfter = 200 * time.Millisecond
			c.HealthReportInterval = 50 * time.Millisecond
		})
		waitFor(t, func() bool { return sims.openedCount("sim:a") == 1 && sim.WrongPINs() == 1 })
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "p", CSV: strings.NewReader("04141234567,hola\n")})
		require.NoError(t, err)
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 1, sum.ByState[store.TxDelivered], "through the SMSC: %v", sum.ByState)
		time.Sleep(3 * modemRetryMin)
		assert.Equal(t, 1, sim.WrongPINs(), "never a second wrong PIN")
		assert.Equal(t, 1, sims.openedCount("sim:a"))
		var lastErr string
		waitFor(t, func() bool {
			for _, h := range operatorStatus(t, g, op.ID).Reports {
				lastErr = h.LastError
			}
			return lastErr != ""
		})
		assert.Contains(t, lastErr, "SIM needs attention")

		op, err = st.Operator(ctx, op.ID)
		require.NoError(t, err)
		op.Modem.PIN = "1234"
		require.NoError(t, st.UpdateOperator(ctx, &op))
		g.Reload()
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })
		assert.Equal(t, 1, sim.WrongPINs())
	})
}

// A device whose open never returns (and ignores its context) does not
// hold up a reload that disables its operator, nor the gateway's end.
func TestModemOpenThatHangs(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	ctx := testCtx(t, 30*time.Second)
	release := make(chan struct{})
	defer close(release)
	opening := make(chan struct{}, 1)
	op := addModemOperator(t, st, "stuck", "/dev/stuck", nil)
	g, err := New(Config{Store: st, ReloadInterval: 50 * time.Millisecond, OpenModem: func(context.Context, store.ModemSettings) (io.ReadWriteCloser, error) {
		select {
		case opening <- struct{}{}:
		default:
		}
		<-release
		return nil, errors.New("released")
	}})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	<-opening
	op.Enabled = false
	require.NoError(t, st.UpdateOperator(ctx, &op))
	g.Reload()
	waitFor(t, func() bool { return !operatorStatus(t, g, op.ID).Running })
	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end")
	}
}

// +CMS ERROR refusals: a temporary one is retried, a permanent one fails
// the message with the modem's code and words.
func TestModemRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim, op, g := oneModem(t, st, nil)
		sim.FailNext(42, 42) // congestion, twice
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "t", CSV: strings.NewReader("04141234567,uno\n")})
		require.NoError(t, err)
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 1, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Equal(t, uint64(2), operatorStatus(t, g, op.ID).Process.Retried)

		sim.FailNext(21) // short message transfer rejected
		rep, err = g.LoadCSV(ctx, Batch{Client: "acme", Name: "p", CSV: strings.NewReader("04141234568,dos\n")})
		require.NoError(t, err)
		sum = waitDone(t, g, rep.BatchID)
		require.Equal(t, 1, sum.ByState[store.TxFailed], "%v", sum.ByState)
		ts, err := st.BatchTransmissions(ctx, rep.BatchID, 0, 10)
		require.NoError(t, err)
		assert.Equal(t, 21, ts[0].ErrorCode)
		assert.Contains(t, ts[0].Reason, "short message transfer rejected")
		assert.Len(t, sim.Submitted(), 1, "only the first went out")
	})
}

// A modem that cannot be opened is not healthy: after FailoverAfter its
// queued messages go to the SMPP operator beside it, and it is tried
// again, with its error in its health report.
func TestModemDownFailsOver(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		smsc := smpptest.NewServer(nil)
		defer smsc.Close()
		sims := newSimModems()
		sims.setFail("/dev/ttyUSB7", fmt.Errorf("open /dev/ttyUSB7: no such file or directory"))
		stick := addModemOperator(t, st, "stick", "/dev/ttyUSB7", nil)
		smscOp := addOperator(t, st, "smsc", smsc, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Priority = 1 })
		g := startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = sims.open
			c.FailoverAfter = 300 * time.Millisecond
		})
		waitFor(t, func() bool { return operatorStatus(t, g, smscOp.ID).Bound == 1 })
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "f", CSV: strings.NewReader("04141234567,hola\n04141234568,adiós\n")})
		require.NoError(t, err)
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 2, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Len(t, smsc.Submitted(), 2)
		s := operatorStatus(t, g, stick.ID)
		assert.True(t, s.Running)
		assert.Zero(t, s.Bound)
		waitFor(t, func() bool { return sims.openedCount("/dev/ttyUSB7") >= 2 })
	})
}

// A modem operator's parameters: the ones that make sense for a modem
// are taken, SMPP's are refused by name.
func TestModemOperatorParams(t *testing.T) {
	op := store.Operator{Name: "m", Kind: store.KindModem, Modem: store.ModemSettings{Device: "/dev/ttyUSB0", SMSC: "+584140000001"},
		Params: []store.OperatorParam{{Command: "submit_sm", Name: "validity_period", Value: "48h"},
			{Command: "gateway", Name: "resend", Value: "at-most-once"}, {Command: "gateway", Name: "give_up_after", Value: "6h"}}}
	p, err := newProfile(op)
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, p.modemSubmit.Validity)
	assert.True(t, p.modemSubmit.StatusReport)
	assert.Equal(t, "+584140000001", p.modemSubmit.SMSC)
	assert.True(t, p.atMostOnce)
	assert.Equal(t, 6*time.Hour, p.giveUpAfter)

	for _, prm := range []store.OperatorParam{{Command: "bind", Name: "system_type", Value: "x"},
		{Command: "submit_sm", Name: "validity_period", Value: "261231235959000+"},
		{Command: "gateway", Name: "split", Value: "sar"}} {
		op.Params = []store.OperatorParam{prm}
		assert.Error(t, CheckOperator(op), "%s.%s", prm.Command, prm.Name)
	}
	op.Params = []store.OperatorParam{{Command: "submit_sm", Name: "registered_delivery", Value: "0"}}
	p, err = newProfile(op)
	require.NoError(t, err)
	assert.False(t, p.modemSubmit.StatusReport)
}
