package smpptest

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collector is a Handler that keeps what it is given.
type collector struct {
	mu       sync.Mutex
	receipts []coding.Receipt
	mo       []*smpp.Message
	changed  chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) HandleMessage(ctx context.Context, m *smpp.Message) pdu.Status {
	c.mu.Lock()
	if m.Kind == smpp.KindReceipt {
		c.receipts = append(c.receipts, *m.Receipt)
	} else {
		c.mo = append(c.mo, m)
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return pdu.StatusOK
}

func (c *collector) waitReceipts(t *testing.T, n int) []coding.Receipt {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		c.mu.Lock()
		got := append([]coding.Receipt(nil), c.receipts...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("%d of %d receipts", len(got), n)
		}
	}
}

func dial(t *testing.T, sim *Server, o *smpp.Options) *smpp.Client {
	t.Helper()
	if o == nil {
		o = &smpp.Options{}
	}
	if o.SystemID == "" {
		o.SystemID = "test"
	}
	c, err := smpp.Dial(testCtx(t), sim.Addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sm(dest, text string) *pdu.SubmitSM {
	return &pdu.SubmitSM{SourceAddr: "ACME", DestinationAddr: dest, RegisteredDelivery: 1, ShortMessage: []byte(text)}
}

func TestReceiptOutcomes(t *testing.T) {
	sim := NewServer(&Config{ReceiptDelay: 5 * time.Millisecond, Outcomes: Outcomes{Delivered: 7, Undeliverable: 1, Expired: 1, Rejected: 1}})
	defer sim.Close()
	h := newCollector()
	c := dial(t, sim, &smpp.Options{Handler: h, WindowSize: 200})
	const n = 1000
	calls := make([]*smpp.Call, n)
	for i := range calls {
		var err error
		if calls[i], err = c.SubmitAsync(testCtx(t), sm("58412000", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, call := range calls {
		resp, err := call.Wait(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		ids[resp.(*pdu.SubmitSMResp).MessageID] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct message ids for %d messages", len(ids), n)
	}
	receipts := h.waitReceipts(t, n)
	count := map[string]int{}
	subs := sim.Submitted()
	byID := map[string]string{}
	for _, s := range subs {
		byID[s.MessageID] = s.Stat
	}
	for _, r := range receipts {
		if !ids[r.ID] {
			t.Fatalf("receipt for unknown id %q", r.ID)
		}
		if byID[r.ID] != r.Stat {
			t.Fatalf("receipt %s says %s, simulator drew %s", r.ID, r.Stat, byID[r.ID])
		}
		count[r.Stat]++
	}
	if len(receipts) != n {
		t.Fatalf("%d receipts for %d messages", len(receipts), n)
	}
	// 70/10/10/10 with a fixed seed: each share within a loose band.
	for stat, want := range map[string]int{StatDelivered: 700, StatUndeliverable: 100, StatExpired: 100, StatRejected: 100} {
		if got := count[stat]; got < want*7/10 || got > want*13/10 {
			t.Errorf("%s: %d of %d (want about %d)", stat, got, n, want)
		}
	}
	// The ESME has every receipt; the simulator counts each once it has
	// read the deliver_sm_resp.
	st := sim.Stats()
	for deadline := time.Now().Add(5 * time.Second); st.Receipts < n && time.Now().Before(deadline); st = sim.Stats() {
		time.Sleep(time.Millisecond)
	}
	if st.Submits != n || st.Receipts != n || st.ReceiptsPending != 0 || st.Sessions != 1 {
		t.Fatalf("stats %+v", st)
	}
	if subs[0].Text != "hello" || subs[0].Dest != "58412000" || subs[0].SystemID != "test" {
		t.Fatalf("submission %+v", subs[0])
	}
}

func TestCredentialsAndQuery(t *testing.T) {
	sim := NewServer(&Config{SystemID: "acme", Password: "pw", ReceiptDelay: time.Hour})
	defer sim.Close()
	for _, o := range []smpp.Options{{SystemID: "other", Password: "pw"}, {SystemID: "acme", Password: "no"}} {
		_, err := smpp.Dial(testCtx(t), sim.Addr, &o)
		var se *smpp.StatusError
		if !errors.As(err, &se) || (se.Status != pdu.StatusInvSysID && se.Status != pdu.StatusInvPaswd) {
			t.Fatalf("bind %+v: %v", o, err)
		}
	}
	c := dial(t, sim, &smpp.Options{SystemID: "acme", Password: "pw"})
	id, err := c.Submit(testCtx(t), sm("1", "x"))
	if err != nil {
		t.Fatal(err)
	}
	call, err := c.Send(testCtx(t), &pdu.QuerySM{MessageID: id, SourceAddr: "ACME"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := call.Wait(testCtx(t))
	if err != nil || resp.(*pdu.QuerySMResp).MessageState != pdu.StateEnroute {
		t.Fatalf("query_sm before the receipt: %+v, %v", resp, err)
	}
	call, _ = c.Send(testCtx(t), &pdu.QuerySM{MessageID: "nope"})
	if _, err := call.Wait(testCtx(t)); !isStatus(err, pdu.StatusQueryFail) {
		t.Fatalf("query_sm of an unknown id: %v", err)
	}
	if st := sim.Stats(); st.ReceiptsPending != 1 {
		t.Fatalf("receipt owed: %+v", st)
	}
}

func isStatus(err error, st pdu.Status) bool {
	var se *smpp.StatusError
	return errors.As(err, &se) && se.Status == st
}

// With HexIDs and ReceiptIDDecimal the receipt's id is the decimal form
// of the hex id; coding.NormalizeID relates them.
func TestHexIDsAndEarlyReceipts(t *testing.T) {
	sim := NewServer(&Config{HexIDs: true, ReceiptIDDecimal: true, Latency: 50 * time.Millisecond, FirstID: 1})
	defer sim.Close()
	h := newCollector()
	c := dial(t, sim, &smpp.Options{Handler: h})
	var id string
	for range 20 { // the counter reaches ids with letters
		var err error
		if id, err = c.Submit(testCtx(t), sm("1", "x")); err != nil {
			t.Fatal(err)
		}
	}
	if id != "14" {
		t.Fatalf("20th id %q, want hex 14", id)
	}
	receipts := h.waitReceipts(t, 20)
	// Each receipt came before its submit_sm_resp (receipt delay 0,
	// latency 50ms): all 20 receipts were in when the last Submit returned.
	dec, _ := coding.NormalizeID(receipts[19].ID, coding.IDDecimal)
	hex, _ := coding.NormalizeID(id, coding.IDHex)
	if last := receipts[19]; last.ID != "20" || dec != hex {
		t.Fatalf("receipt id %q, submit id %q", last.ID, id)
	}
}

func TestThrottleAndRefuse(t *testing.T) {
	sim := NewServer(&Config{TPS: 5, Refuse: func(sm *pdu.SubmitSM) pdu.Status {
		if strings.HasPrefix(sm.DestinationAddr, "999") {
			return pdu.StatusInvDstAdr
		}
		return pdu.StatusOK
	}})
	defer sim.Close()
	c := dial(t, sim, nil)
	throttled, accepted := 0, 0
	start := time.Now()
	for range 20 {
		call, err := c.Send(testCtx(t), sm("1", "x"))
		if err != nil {
			t.Fatal(err)
		}
		switch _, err := call.Wait(testCtx(t)); {
		case err == nil:
			accepted++
		case isStatus(err, pdu.StatusThrottled):
			throttled++
		default:
			t.Fatal(err)
		}
	}
	// The client backs off after each refusal, so not all 20 are
	// refused; but no more than 5 a second get through.
	if secs := int(time.Since(start)/time.Second) + 1; throttled == 0 || accepted > 5*secs {
		t.Fatalf("5 TPS: %d accepted, %d throttled in %d s", accepted, throttled, secs)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := c.Submit(testCtx(t), sm("9991", "x")); !isStatus(err, pdu.StatusInvDstAdr) {
		t.Fatalf("refused destination: %v", err)
	}
	if st := sim.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMOLongText(t *testing.T) {
	sim := NewServer(nil)
	defer sim.Close()
	if err := sim.SendMO(testCtx(t), MO{From: "1", To: "2", Text: "x"}); !errors.Is(err, ErrNoReceiver) {
		t.Fatalf("MO with nobody bound: %v", err)
	}
	h := newCollector()
	dial(t, sim, &smpp.Options{SystemID: "acme", Handler: h})
	text := strings.Repeat("¿Cuándo llega mi pedido? ", 20) // UCS-2, several parts
	if err := sim.SendMO(testCtx(t), MO{SystemID: "acme", From: "584121112233", To: "2020", Text: text}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.mo) != 1 || h.mo[0].Text != text || h.mo[0].Source != "584121112233" || h.mo[0].Parts < 2 {
		t.Fatalf("MO arrived as %d messages: %+v", len(h.mo), h.mo)
	}
}

func TestFaults(t *testing.T) {
	sim := NewServer(&Config{ReceiptDelay: 20 * time.Millisecond})
	defer sim.Close()

	// Mute: requests time out; keepalive still answered.
	c := dial(t, sim, &smpp.Options{ResponseTimeout: 100 * time.Millisecond, Retry: smpp.RetryPolicy{Attempts: 1}})
	sim.SetMute(true)
	if _, err := c.Submit(testCtx(t), sm("1", "x")); !errors.Is(err, smpp.ErrTimeout) {
		t.Fatalf("muted: %v", err)
	}
	sim.SetMute(false)
	if _, err := c.Submit(testCtx(t), sm("1", "x")); err != nil {
		t.Fatalf("unmuted: %v", err)
	}

	// Garbage: the client's stream breaks; the request may have reached.
	sim.AnswerGarbage(1)
	_, err := c.Submit(testCtx(t), sm("1", "x"))
	var se *smpp.SendError
	if !errors.As(err, &se) || !se.MayHaveReached {
		t.Fatalf("garbage answer: %v", err)
	}
	<-c.Done()

	// Drop: the connection ends under a bound client.
	h := newCollector()
	c2 := dial(t, sim, &smpp.Options{SystemID: "r", Handler: h})
	if n := sim.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections", n)
	}
	select {
	case <-c2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not see the drop")
	}

	// Restart: receipts owed survive and reach the next bind of the same
	// system_id.
	c3 := dial(t, sim, &smpp.Options{SystemID: "r", Mode: smpp.Transmitter})
	for range 5 {
		if _, err := c3.Submit(testCtx(t), sm("1", "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.Restart(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	<-c3.Done()
	dial(t, sim, &smpp.Options{SystemID: "r", Mode: smpp.Receiver, Handler: h})
	if got := h.waitReceipts(t, 5); len(got) != 5 {
		t.Fatalf("%d receipts after restart", len(got))
	}
}

// The simulator speaks TLS, with a client certificate required: an ESME
// that trusts the CA and presents its certificate binds and submits; one
// without a certificate, or trusting other roots, is refused at the
// handshake. The faults travel inside TLS.
func TestTLS(t *testing.T) {
	pki, err := NewPKI()
	require.NoError(t, err)
	sim := NewServer(&Config{TLSConfig: pki.ServerConfig(true)})
	defer sim.Close()

	c, err := smpp.Dial(testCtx(t), sim.Addr, &smpp.Options{SystemID: "esme", TLSConfig: pki.ClientConfig(),
		ResponseTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	id, err := c.Submit(testCtx(t), sm("584141234567", "hola"))
	require.NoError(t, err)
	assert.NotEmpty(t, id)
	sim.SetFault(FaultMalformedResponse)
	_, err = c.Submit(testCtx(t), sm("584141234567", "hola"))
	var de *pdu.DecodeError
	assert.ErrorAs(t, err, &de, "a malformed response inside TLS")
	sim.SetFault(FaultNone)

	noCert := pki.ClientConfig()
	noCert.Certificates = nil
	_, err = smpp.Dial(testCtx(t), sim.Addr, &smpp.Options{SystemID: "esme", TLSConfig: noCert, ResponseTimeout: time.Second})
	assert.Error(t, err, "bound without a client certificate")
	other, err := NewPKI()
	require.NoError(t, err)
	_, err = smpp.Dial(testCtx(t), sim.Addr, &smpp.Options{SystemID: "esme", TLSConfig: other.ClientConfig(), ResponseTimeout: time.Second})
	var uae x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &uae, "trusted an SMSC signed by another CA")
}

// A simulator started after another (a process restarted) never gives an
// id the first one gave.
func TestIDsUniqueAcrossSimulators(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		sim := NewServer(nil)
		c := dial(t, sim, nil)
		for range 50 {
			id, err := c.Submit(testCtx(t), sm("1", "x"))
			if err != nil {
				t.Fatal(err)
			}
			if seen[id] {
				t.Fatalf("id %q given twice", id)
			}
			seen[id] = true
		}
		c.Close()
		sim.Close()
	}
}

// The MOInjector's submit_sm reaches a receiver as an MO (a long one in
// parts, reassembled), answered once the receiver took it; with no
// receiver bound the injector is told ESME_RSYSERR.
func TestMOInjector(t *testing.T) {
	sim := NewServer(&Config{SystemID: "gw", Password: "pw", MOInjector: "mo-sim"})
	defer sim.Close()
	inj := dial(t, sim, &smpp.Options{SystemID: "mo-sim", Password: "anything", Mode: smpp.Transmitter})
	reply := func(text string) error {
		sm := &pdu.SubmitSM{SourceAddr: "584141234567", DestinationAddr: "2020"}
		dc, _ := coding.Choose(text)
		ud, err := coding.Encode(nil, text, dc, 0)
		require.NoError(t, err)
		sm.DataCoding = uint8(dc)
		sm.TLVs.SetMessagePayload(ud)
		_, err = inj.Submit(testCtx(t), sm)
		return err
	}
	var se *smpp.StatusError
	require.ErrorAs(t, reply("nadie"), &se)
	assert.Equal(t, pdu.StatusSysErr, se.Status)

	h := newCollector()
	dial(t, sim, &smpp.Options{SystemID: "gw", Password: "pw", Handler: h})
	long := strings.Repeat("Sí, confirmo la cita. ", 10)
	require.NoError(t, reply(long))
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.mo, 1)
	assert.Equal(t, long, h.mo[0].Text)
	assert.Equal(t, "584141234567", h.mo[0].Source)
	assert.Equal(t, "2020", h.mo[0].Destination)
	assert.Empty(t, sim.Submitted(), "an injected reply is not a message to a phone")
}
