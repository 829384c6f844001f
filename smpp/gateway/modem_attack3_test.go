package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
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

// onSQLite runs f on a fresh SQLite store only.
func onSQLite(t *testing.T, f func(t *testing.T, st store.Store)) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	f(t, st)
}

// loadCSV loads rows as one batch and returns its id.
func loadCSV(t *testing.T, g *Gateway, name, rows string) int64 {
	t.Helper()
	rep, err := g.LoadCSV(context.Background(), Batch{Client: "acme", Name: name, CSV: strings.NewReader(rows)})
	require.NoError(t, err)
	return rep.BatchID
}

// A modem's references wrap every 256 parts. Message A to X gets ref r;
// 255 parts later (here 10 s: a modem takes a few seconds a part, so in
// real life 15-25 min) message B to X gets ref r again. A's status
// report (a handset off for a while: reports come late) then arrives
// after B was sent. Its service centre time (TP-SCTS, to the second)
// says it is A's, yet it lands on B: the store's 26 h date tolerance,
// made for SMPP receipts' zone-less dates, is used for modem reports.
func TestAttack3RefWrapReceiptLandsOnNewer(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 120*time.Second)
		sims := newSimModems()
		sim := sims.add(t, "a", &modemtest.Config{Delay: 10 * time.Millisecond, ReportDelay: 8 * time.Second})
		op := addModemOperator(t, st, "stick", "sim:a", func(o *store.Operator) {
			// References come back within seconds here (minutes in real
			// life): the reports' tolerance is set below that.
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "query_after", Value: "500ms"},
				{Command: "gateway", Name: "give_up_after", Value: "60s"}, {Command: "gateway", Name: "report_date_tolerance", Value: "1s"}}
		})
		g := startGatewayWith(t, st, func(c *Config) { c.OpenModem = sims.open; c.SubmitTimeout = 10 * time.Second })
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })

		a := loadCSV(t, g, "a", "04141000000,first to X\n")
		waitFor(t, func() bool { return len(sim.Submitted()) == 1 })
		var fill strings.Builder
		for i := range 255 {
			fmt.Fprintf(&fill, "0414200%04d,filler %d\n", i, i)
		}
		loadCSV(t, g, "fill", fill.String())
		require.Eventually(t, func() bool { return len(sim.Submitted()) == 256 }, 30*time.Second, 20*time.Millisecond)
		b := loadCSV(t, g, "b", "04141000000,second to X\n")
		waitFor(t, func() bool { return len(sim.Submitted()) == 257 })
		subs := sim.Submitted()
		require.Equal(t, subs[0].Ref, subs[256].Ref, "same destination, same reference")
		t.Logf("A and B both ref %d; B sent %v after A", subs[0].Ref, subs[256].At.Sub(subs[0].At))

		// Every report has come once B's has.
		time.Sleep(time.Until(subs[256].At.Add(8*time.Second + 2*time.Second)))
		ta, err := st.BatchTransmissions(ctx, a, 0, 1)
		require.NoError(t, err)
		tb, err := st.BatchTransmissions(ctx, b, 0, 1)
		require.NoError(t, err)
		t.Logf("A: %s %q, B: %s %q", ta[0].State, ta[0].MessageID, tb[0].State, tb[0].MessageID)
		assert.Equal(t, store.TxDelivered, ta[0].State, "A's report came: A is delivered")
		assert.Equal(t, store.TxDelivered, tb[0].State)
	})
}

// Two replies from one number with the same text in the same second (a
// subscriber answering "SI" to two questions, or a vote sent twice) are
// two messages, each stored once. The dedupe of replies offered again
// takes the second for the first and deletes it from the SIM unstored.
func TestAttack3SameTextSameSecondBothStored(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 30*time.Second)
		sim, _, _ := oneModem(t, st, nil)
		for sec := time.Now().Second(); time.Now().Second() == sec; {
			time.Sleep(time.Millisecond) // start of a second: both get one SCTS
		}
		require.NoError(t, sim.Receive("+584141110001", "SI"))
		require.NoError(t, sim.Receive("+584141110001", "SI"))
		waitFor(t, func() bool { return sim.Stored() == 0 })
		time.Sleep(200 * time.Millisecond)
		mos, err := st.MOs(ctx, store.MOFilter{From: "584141110001"})
		require.NoError(t, err)
		assert.Len(t, mos, 2, "two messages received, two stored; the SIM has none left")
	})
}

// A modem that stops answering (firmware hang: the port stays open) is
// not able to send. Its messages must fail over to the SMPP operator
// beside it, not be retried on it until MaxAttempts fails them.
func TestAttack3HungModemFailsOver(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		smsc := smpptest.NewServer(nil)
		defer smsc.Close()
		sims := newSimModems()
		sim := sims.add(t, "a", nil)
		stick := addModemOperator(t, st, "stick", "sim:a", nil)
		smscOp := addOperator(t, st, "smsc", smsc, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Priority = 1 })
		g := startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = sims.open
			c.FailoverAfter = 300 * time.Millisecond
			c.SubmitTimeout = 2 * time.Second
			c.MaxAttempts = 5
		})
		waitFor(t, func() bool {
			return operatorStatus(t, g, stick.ID).Bound == 1 && operatorStatus(t, g, smscOp.ID).Bound == 1
		})
		sim.Hang(true)
		b := loadCSV(t, g, "h", "04141234567,uno\n04141234568,dos\n")
		s, err := g.WaitBatch(testCtx(t, 60*time.Second), b, 50*time.Millisecond, nil)
		require.NoError(t, err)
		st1 := operatorStatus(t, g, stick.ID)
		t.Logf("%v; modem bound=%d retried=%d; smsc got %d", s.ByState, st1.Bound, st1.Process.Retried, len(smsc.Submitted()))
		assert.Equal(t, 2, s.ByState[store.TxDelivered], "failed over to the SMSC: %v", s.ByState)
		assert.Zero(t, s.ByState[store.TxFailed], "%v", s.ByState)
	})
}

// rewrite replaces what the modem says on its way to the driver.
type rewrite struct {
	net.Conn
	from, to string
}

func (c rewrite) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	s := strings.ReplaceAll(string(p[:n]), c.from, c.to)
	return copy(p, s), err
}

// stallable is a modem port whose writes can stop going through (the
// modem no longer reads: its firmware crashed and the USB link's buffer
// filled, or hardware flow control holds): a write then blocks until the
// port is closed, as a write(2) to a full tty does.
type stallable struct {
	net.Conn
	mu      sync.Mutex
	stalled bool
	blocked chan struct{} // closed once a write blocks
	closed  chan struct{}
	once    sync.Once
}

func newStallable(c net.Conn) *stallable {
	return &stallable{Conn: c, blocked: make(chan struct{}), closed: make(chan struct{})}
}

func (s *stallable) stall() { s.mu.Lock(); s.stalled = true; s.mu.Unlock() }

func (s *stallable) Write(p []byte) (int, error) {
	s.mu.Lock()
	stalled := s.stalled
	s.mu.Unlock()
	if stalled {
		s.once.Do(func() { close(s.blocked) })
		<-s.closed
		return 0, net.ErrClosed
	}
	return s.Conn.Write(p)
}

func (s *stallable) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return s.Conn.Close()
}

// A gateway stops within SubmitTimeout (Run's contract) even when its
// modem stopped taking what is written to it.
func TestAttack3StalledWriteStopsGateway(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		sim := modemtest.New(nil)
		t.Cleanup(sim.Close)
		var mu sync.Mutex
		var port *stallable
		op := addModemOperator(t, st, "stick", "sim:a", nil)
		g, err := New(Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"},
			ReloadInterval: 100 * time.Millisecond, RetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond,
			MaxAttempts: 10, SubmitTimeout: 2 * time.Second,
			OpenModem: func(context.Context, store.ModemSettings) (io.ReadWriteCloser, error) {
				mu.Lock()
				defer mu.Unlock()
				port = newStallable(sim.Conn())
				return port, nil
			}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })
		mu.Lock()
		p := port
		mu.Unlock()
		p.stall()
		loadCSV(t, g, "s", "04141234567,uno\n")
		select {
		case <-p.blocked:
		case <-time.After(20 * time.Second):
			t.Fatal("no write blocked")
		}
		start := time.Now()
		cancel()
		select {
		case <-done:
			t.Logf("Run returned in %v", time.Since(start))
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, gr := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(gr, "stallable).Write") || strings.Contains(gr, "runner).stop") {
					t.Logf("%s", gr)
				}
			}
			p.Close() // let it go, for the test's cleanup
			<-done
			t.Fatalf("Run did not return within 10 s (SubmitTimeout 2 s): the send's write to the modem blocks, stop waits for the send, and the port is closed only after")
		}
	})
}

// A modem whose every send is refused for a reason of its own (+CMS
// ERROR 330: the SIM knows no service centre; 302; 313 SIM failure) is
// not able to send: its messages must go to the SMPP operator beside it
// ("another operator after failover may get past", runner.go), not be
// retried on it until MaxAttempts fails them.
func TestAttack3ModemOwnRefusalFailsOver(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		smsc := smpptest.NewServer(nil)
		defer smsc.Close()
		sims := newSimModems()
		sim := sims.add(t, "a", nil)
		codes := make([]int, 100)
		for i := range codes {
			codes[i] = 330
		}
		sim.FailNext(codes...)
		stick := addModemOperator(t, st, "stick", "sim:a", nil)
		smscOp := addOperator(t, st, "smsc", smsc, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Priority = 1 })
		g := startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = sims.open
			c.FailoverAfter = 300 * time.Millisecond
			c.MaxAttempts = 5
		})
		waitFor(t, func() bool {
			return operatorStatus(t, g, stick.ID).Bound == 1 && operatorStatus(t, g, smscOp.ID).Bound == 1
		})
		b := loadCSV(t, g, "x", "04141234567,uno\n04141234568,dos\n")
		s, err := g.WaitBatch(testCtx(t, 60*time.Second), b, 50*time.Millisecond, nil)
		require.NoError(t, err)
		ts, _ := st.BatchTransmissions(context.Background(), b, 0, 2)
		t.Logf("%v; smsc got %d; %q", s.ByState, len(smsc.Submitted()), ts[0].Reason)
		assert.Equal(t, 2, s.ByState[store.TxDelivered], "%v", s.ByState)
	})
}

// A modem whose SIM is still starting (AT+CPIN? answers "+CPIN: NOT
// READY" for a moment after power-up or a re-plug) comes up once it is
// ready: it is not taken for a SIM that needs a person.
func TestAttack3SIMNotReadyYetComesUp(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		sim := modemtest.New(nil)
		t.Cleanup(sim.Close)
		var mu sync.Mutex
		opens := 0
		op := addModemOperator(t, st, "stick", "sim:a", nil)
		g := startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = func(context.Context, store.ModemSettings) (io.ReadWriteCloser, error) {
				mu.Lock()
				defer mu.Unlock()
				opens++
				if opens == 1 { // the first open: the SIM not ready yet
					return rewrite{sim.Conn(), "+CPIN: READY", "+CPIN: NOT READY"}, nil
				}
				return sim.Conn(), nil
			}
		})
		deadline := time.Now().Add(10 * time.Second)
		for operatorStatus(t, g, op.ID).Bound == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		s := operatorStatus(t, g, op.ID)
		mu.Lock()
		n := opens
		mu.Unlock()
		t.Logf("opened %d times; bound %d", n, s.Bound)
		assert.Equal(t, 1, s.Bound, "a SIM busy starting up is tried again")
	})
}

// A modem operator's submit_sm.data_coding is refused unless a modem
// can send it (0 or 8): SMPP 3 (Latin-1) written as TP-DCS would garble
// "café olé". With 8 (UCS-2) the text arrives as written.
func TestAttack3ModemLatin1DataCodingGarbled(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		bad := store.Operator{Name: "x", Kind: store.KindModem, Modem: store.ModemSettings{Device: "sim:a"},
			Params: []store.OperatorParam{{Command: "submit_sm", Name: "data_coding", Value: "3"}}}
		assert.ErrorContains(t, CheckOperator(bad), "a modem sends 0 (GSM 7-bit) or 8 (UCS-2)")
		sim, _, g := oneModem(t, st, func(o *store.Operator) {
			o.Params = []store.OperatorParam{{Command: "submit_sm", Name: "data_coding", Value: "0x08"}}
		})
		loadCSV(t, g, "c", "04141234567,café olé\n")
		waitFor(t, func() bool { return len(sim.Submitted()) == 1 })
		assert.Equal(t, "café olé", sim.Submitted()[0].Text)
	})
}

// flakyMO is a store whose first InsertMOs fail (a database hiccup: a
// PostgreSQL failover, a locked SQLite).
type flakyMO struct {
	store.Store
	mu    sync.Mutex
	fails int
}

type flakyOps struct {
	store.Ops
	f *flakyMO
}

func (o flakyOps) InsertMO(ctx context.Context, m *store.MO) error {
	o.f.mu.Lock()
	fail := o.f.fails > 0
	if fail {
		o.f.fails--
	}
	o.f.mu.Unlock()
	if fail {
		return errors.New("database unavailable")
	}
	return o.Ops.InsertMO(ctx, m)
}

func (f *flakyMO) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return f.Store.InTx(ctx, func(tx store.Ops) error { return fn(flakyOps{tx, f}) })
}

// A reply whose storing failed once (the recorder tries it twice, in its
// group and alone) is left on the SIM "to be offered again at the next
// listing" - but the next listing is only when the modem is opened or
// restarts again: on a modem that stays up it is never stored (nor
// deleted: a few of those fill the SIM and replies stop coming).
func TestAttack3ReplyStoreHiccupNeverRetried(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		fl := &flakyMO{Store: st}
		sims := newSimModems()
		sim := sims.add(t, "a", nil)
		op := addModemOperator(t, st, "stick", "sim:a", nil)
		g := startGatewayWith(t, fl, func(c *Config) { c.OpenModem = sims.open })
		waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Bound == 1 })
		fl.mu.Lock()
		fl.fails = 2
		fl.mu.Unlock()
		require.NoError(t, sim.Receive("+584141110001", "hola"))
		deadline := time.Now().Add(30 * time.Second)
		var mos []store.MO
		for time.Now().Before(deadline) {
			var err error
			mos, err = st.MOs(ctx, store.MOFilter{From: "584141110001"})
			require.NoError(t, err)
			if len(mos) > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("after 30 s: %d stored, %d on the SIM, opened %d times", len(mos), sim.Stored(), sims.openedCount("sim:a"))
		assert.Len(t, mos, 1, "the database came back at once; the reply is still not stored")
	})
}
