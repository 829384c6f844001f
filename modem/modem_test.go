package modem_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/modem/modemtest"
	"github.com/switchboard-go/switchboard/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// events records what a modem reports.
type events struct {
	mu       sync.Mutex
	reports  []modem.StatusReport
	messages []modem.Message
	urcs     []string
	refuse   bool
}

func (e *events) config(c modem.Config) modem.Config {
	c.OnReport = func(r modem.StatusReport) { e.mu.Lock(); e.reports = append(e.reports, r); e.mu.Unlock() }
	c.OnMessage = func(_ context.Context, m modem.Message) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.refuse {
			return errors.New("store down")
		}
		e.messages = append(e.messages, m)
		return nil
	}
	c.OnURC = func(l string) { e.mu.Lock(); e.urcs = append(e.urcs, l); e.mu.Unlock() }
	return c
}

func (e *events) nReports() int  { e.mu.Lock(); defer e.mu.Unlock(); return len(e.reports) }
func (e *events) nMessages() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.messages) }

func start(t *testing.T, sim *modemtest.Modem, ev *events, cfg modem.Config) *modem.Modem {
	t.Helper()
	m := modem.New(sim.Conn(), ev.config(cfg))
	t.Cleanup(func() { m.Close() })
	require.NoError(t, m.Init(testCtx(t)))
	return m
}

// texts joins what the simulator took per message reference of part 1.
func joined(subs []modemtest.Submission) []string {
	var out []string
	var cur strings.Builder
	for _, s := range subs {
		cur.WriteString(s.Text)
		if s.Concat[1] == 0 || s.Concat[2] == s.Concat[1] {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	return out
}

// Messages short and long, GSM and Unicode, go out whole, each part once,
// and each part's status report comes back with its reference and state.
func TestSendAndReports(t *testing.T) {
	sim := modemtest.New(&modemtest.Config{Outcomes: modemtest.Outcomes{Delivered: 1}})
	defer sim.Close()
	ev := &events{}
	m := start(t, sim, ev, modem.Config{Submit: modem.SubmitOptions{StatusReport: true}})
	ctx := testCtx(t)
	texts := []string{"Su código es 4711", strings.Repeat("Cita confirmada para el lunes {10:00}. ", 10),
		"Здравствуйте! Ваш заказ готов 📦 " + strings.Repeat("ж", 100)}
	parts := 0
	for i, text := range texts {
		sent, err := m.Send(ctx, "584141234567", text, uint16(i+1))
		require.NoError(t, err)
		parts += len(sent)
		for j, s := range sent {
			assert.Equal(t, j+1, s.Part)
		}
	}
	assert.Greater(t, parts, 3, "long texts went in parts")
	assert.Equal(t, texts, joined(sim.Submitted()))
	require.Eventually(t, func() bool { return ev.nReports() == parts }, 10*time.Second, 10*time.Millisecond)
	refs := map[byte]bool{}
	for _, s := range sim.Submitted() {
		refs[s.Ref] = true
	}
	ev.mu.Lock()
	for _, r := range ev.reports {
		assert.True(t, refs[r.Ref], "a report for a part sent: %d", r.Ref)
		assert.Equal(t, store.TxDelivered, r.State())
		assert.Equal(t, "+584141234567", r.Recipient)
	}
	ev.mu.Unlock()
	st := m.Stats()
	assert.Equal(t, int64(parts), st.Sent)
	assert.Equal(t, int64(parts), st.Reports)
}

// Unsolicited codes between the lines of every answer do not confuse the
// driver: sends, health and reads come out right, and the codes reach
// OnURC.
func TestInterleavedUnsolicitedCodes(t *testing.T) {
	sim := modemtest.New(nil)
	defer sim.Close()
	sim.Interleave(true)
	ev := &events{}
	m := start(t, sim, ev, modem.Config{Submit: modem.SubmitOptions{StatusReport: true}})
	ctx := testCtx(t)
	for i := range 5 {
		_, err := m.Send(ctx, "584141234567", "mensaje "+string(rune('A'+i)), uint16(i))
		require.NoError(t, err)
	}
	h, err := m.Health(ctx)
	require.NoError(t, err)
	assert.Equal(t, modem.Home, h.Registration)
	assert.Equal(t, -73, h.SignalDBm)
	assert.Equal(t, "Simulated GSM", h.Operator)
	require.NoError(t, sim.Receive("584121112233", "respuesta"))
	require.Eventually(t, func() bool { return ev.nMessages() == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return ev.nReports() == 5 }, 10*time.Second, 10*time.Millisecond)
	ev.mu.Lock()
	assert.Contains(t, ev.urcs, "RING")
	assert.Contains(t, ev.urcs, "+CREG: 1")
	ev.mu.Unlock()
	assert.Len(t, sim.Submitted(), 5)
}

// +CMS ERROR codes come out typed and classified.
func TestSendErrors(t *testing.T) {
	sim := modemtest.New(nil)
	defer sim.Close()
	m := start(t, sim, &events{}, modem.Config{})
	ctx := testCtx(t)
	sim.FailNext(42, 1)
	_, err := m.Send(ctx, "584141234567", "uno", 1)
	var e *modem.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "CMS", e.Kind)
	assert.Equal(t, 42, e.Code)
	assert.True(t, e.Temporary(), "congestion")
	assert.Contains(t, e.Error(), "congestion")
	_, err = m.Send(ctx, "584141234567", "dos", 2)
	require.ErrorAs(t, err, &e)
	assert.False(t, e.Temporary(), "unassigned number")
	_, err = m.Send(ctx, "584141234567", "tres", 3)
	require.NoError(t, err)
	assert.Equal(t, int64(2), m.Stats().SendErrors)
	_, err = m.Send(ctx, "not a number", "x", 4)
	assert.Error(t, err)
}

// The PIN is entered when the SIM asks; a wrong one is refused and said,
// and never entered again by that Modem, whatever it goes through (Init
// again, a restart of the modem, a send after one), so that the SIM is
// not locked by the driver.
func TestPIN(t *testing.T) {
	sim := modemtest.New(&modemtest.Config{PIN: "1234"})
	defer sim.Close()
	bad := modem.New(sim.Conn(), modem.Config{PIN: "9999"})
	err := bad.Init(testCtx(t))
	assert.ErrorContains(t, err, "PIN was refused")
	assert.ErrorIs(t, err, modem.ErrSIM)
	assert.ErrorIs(t, bad.Init(testCtx(t)), modem.ErrSIM)
	sim.Reset()
	_, err = bad.Send(testCtx(t), "584141234567", "x", 1)
	assert.Error(t, err)
	time.Sleep(100 * time.Millisecond) // the restart's own setting up
	assert.Equal(t, 1, sim.WrongPINs(), "one wrong PIN, never a second")
	bad.Close()
	none := modem.New(sim.Conn(), modem.Config{})
	assert.ErrorContains(t, none.Init(testCtx(t)), "wants a PIN")
	none.Close()
	start(t, sim, &events{}, modem.Config{PIN: "1234"})
}

// Received messages, long ones in parts, are handed over whole, once,
// and deleted from the SIM only once taken: refused, they stay and come
// again with the next listing (here: a restart of the driver).
func TestReceive(t *testing.T) {
	sim := modemtest.New(nil)
	defer sim.Close()
	ev := &events{refuse: true}
	m := start(t, sim, ev, modem.Config{})
	long := strings.Repeat("Confirmo la cita del martes, gracias. ", 8)
	require.NoError(t, sim.Receive("584121112233", long))
	require.NoError(t, sim.Receive("584121112244", "sí"))
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 0, ev.nMessages())
	assert.Greater(t, sim.Stored(), 2, "refused: kept on the SIM")
	m.Close()

	ev.mu.Lock()
	ev.refuse = false
	ev.mu.Unlock()
	start(t, sim, ev, modem.Config{})
	require.Eventually(t, func() bool { return ev.nMessages() == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return sim.Stored() == 0 }, 10*time.Second, 10*time.Millisecond, "deleted once taken")
	ev.mu.Lock()
	defer ev.mu.Unlock()
	byFrom := map[string]modem.Message{}
	for _, msg := range ev.messages {
		byFrom[msg.From] = msg
	}
	assert.Equal(t, long, byFrom["+584121112233"].Text)
	assert.Greater(t, byFrom["+584121112233"].Parts, 1)
	assert.Equal(t, "sí", byFrom["+584121112244"].Text)
}

// A modem that stops answering before its prompt times the send out,
// certain that nothing went (the PDU was never written); one that takes
// the PDU and never answers leaves the part uncertain. Once it answers
// again the driver resynchronizes and sends.
func TestHangAndResync(t *testing.T) {
	sim := modemtest.New(nil)
	defer sim.Close()
	m := start(t, sim, &events{}, modem.Config{SendTimeout: 300 * time.Millisecond, CommandTimeout: 300 * time.Millisecond})
	ctx := testCtx(t)
	sim.Hang(true)
	_, err := m.Send(ctx, "584141234567", "perdido", 1)
	assert.ErrorIs(t, err, modem.ErrTimeout)
	assert.False(t, modem.Uncertain(err), "no PDU was written: %v", err)
	assert.Equal(t, int64(0), m.Stats().Uncertain)
	assert.Equal(t, int64(1), m.Stats().SendErrors)
	sim.Hang(false)

	sim.TakeSilently(1)
	_, err = m.Send(ctx, "584141234567", "incierto", 3)
	assert.ErrorIs(t, err, modem.ErrTimeout)
	assert.True(t, modem.Uncertain(err), "the PDU was written: %v", err)
	assert.Equal(t, int64(1), m.Stats().Uncertain)

	_, err = m.Send(ctx, "584141234567", "de vuelta", 2)
	require.NoError(t, err)
	texts := joined(sim.Submitted())
	assert.Equal(t, []string{"incierto", "de vuelta"}, texts, "the one refused before its prompt never reached the network")
}

// A modem that restarts in the middle of a batch (back to text mode, PIN
// asked again) is set up again: every message goes out exactly once.
func TestResetMidBatch(t *testing.T) {
	sim := modemtest.New(&modemtest.Config{PIN: "1234"})
	defer sim.Close()
	m := start(t, sim, &events{}, modem.Config{PIN: "1234"})
	ctx := testCtx(t)
	var want []string
	for i := range 20 {
		if i == 7 {
			sim.Reset()
		}
		text := "mensaje número " + string(rune('a'+i))
		want = append(want, text)
		_, err := m.Send(ctx, "584141234567", text, uint16(i))
		require.NoError(t, err, "message %d", i)
	}
	assert.Equal(t, want, joined(sim.Submitted()), "each once, in order")
}
