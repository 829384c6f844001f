package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

func TestStatus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	// A mistyped -data is an error, not a new empty database.
	err := run(ctx, []string{"status", "-data", dir, "584141234567"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Fatalf("status on a directory without database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "switchboard.db")); err == nil {
		t.Fatal("status created a database")
	}

	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"status", "-data", dir, "584141234567"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if got := out.String(); got != "584141234567: no message sent\n" {
		t.Fatalf("empty store: %q", got)
	}
	c := store.Client{Name: "acme"}
	must(t, st.CreateClient(ctx, &c))
	op := store.Operator{Name: "op"}
	must(t, st.CreateOperator(ctx, &op))
	_, _, err = st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{{OperatorID: op.ID, Destination: "584141234567", Text: "hi"}})
	must(t, err)
	claimed, err := st.ClaimTransmissions(ctx, op.ID, 1, time.Time{})
	must(t, err)
	must(t, st.RecordSubmit(ctx, claimed[0].ID, store.SubmitResult{MessageIDs: []string{"abc123"}}))
	_, _, err = st.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "abc123", State: store.TxDelivered})
	must(t, err)
	must(t, st.Close())

	out.Reset()
	if err := run(ctx, []string{"status", "-data", dir, "584141234567"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "584141234567: delivered submitted=") || !strings.Contains(got, "message_id=abc123") {
		t.Fatalf("status = %q", got)
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "usage: send") {
		t.Fatalf("no args: %v %q", err, errOut.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run(context.Background(), []string{"status", "-data", t.TempDir()}, &out, &errOut); err == nil {
		t.Fatal("status without number accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSMS(t *testing.T) {
	sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 10 * time.Millisecond, Outcomes: smpptest.Outcomes{Undeliverable: 1},
		FirstID: 1})
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	long := strings.Repeat("Su pedido esta en camino. ", 8) // GSM 7-bit, two parts
	if err := run(ctx, []string{"sms", "-smsc", sim.Addr, "584141234567", long}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "submitted in 2 part(s), message_id=1,2") ||
		!strings.Contains(lines[1], "stat=UNDELIV") || !strings.Contains(lines[2], "stat=UNDELIV") {
		t.Fatalf("output:\n%s", out.String())
	}
	subs := sim.Submitted()
	if len(subs) != 2 || subs[0].Dest != "584141234567" || subs[0].Text+subs[1].Text != long || subs[0].Concat.Total != 2 {
		t.Fatalf("simulator got %+v", subs)
	}
	if err := run(ctx, []string{"sms", "-smsc", sim.Addr, "1"}, &out, &errOut); err == nil {
		t.Fatal("sms without text succeeded")
	}
}

// TestBatch loads a CSV with send batch while a gateway (as the server
// runs it) sends through the simulator, and waits for the end.
func TestBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 5 * time.Millisecond, MOInjector: moInjector})
	defer sim.Close()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, port, _ := net.SplitHostPort(sim.Addr)
	p, _ := strconv.Atoi(port)
	must(t, st.CreateOperator(ctx, &store.Operator{Name: "sim", Host: host, Port: p, SystemID: "x", BindMode: store.BindTransceiver,
		Default: true, Enabled: true}))
	g, err := gateway.New(gateway.Config{Store: st, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(gctx) }()
	defer func() { stop(); <-done }()

	file := filepath.Join(dir, "clientes.csv")
	must(t, os.WriteFile(file, []byte("numero,mensaje\n04141234567,hola\n04241234567,chao\nxyz,bad\n"), 0o600))
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"batch", "-data", dir, "-client", "acme", file}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	got := out.String()
	if !strings.Contains(got, "3 rows, 2 queued, 0 already loaded, 1 rejected") || !strings.Contains(got, "line 4: gateway: bad number") ||
		!strings.Contains(got, "delivered=2") || !strings.Contains(errOut.String(), "[##############################] 2/2") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", got, errOut.String())
	}
	// The same file again sends nothing; edited, only its changed row.
	out.Reset()
	if err := run(ctx, []string{"batch", "-data", dir, "-client", "acme", file}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if got := out.String(); !strings.Contains(got, "3 rows, 0 queued, 2 already loaded, 1 rejected") ||
		!strings.Contains(got, "nothing new to send") {
		t.Fatalf("second load:\n%s", got)
	}
	must(t, os.WriteFile(file, []byte("numero,mensaje\n04141234567,hola\n04241234567,chao otra vez\n"), 0o600))
	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"batch", "-data", dir, "-client", "acme", file}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if got := out.String(); !strings.Contains(got, "2 rows, 1 queued, 1 already loaded") ||
		!strings.Contains(got, "new or changed rows at lines 3") || !strings.Contains(got, ": delivered=1\n") {
		t.Fatalf("edited file:\n%s", got)
	}
	if !strings.Contains(errOut.String(), "] 1/1") { // this load, not the batch's three
		t.Fatalf("progress of the edited file:\n%s", errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"status", "-data", dir, "0414-1234567"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "584141234567: delivered") {
		t.Fatalf("status: %q", out.String())
	}

	// A reply from that number, through the simulator, shows in send mo
	// and in send status.
	out.Reset()
	if err := run(ctx, []string{"mo-sim", "-smsc", sim.Addr, "-to", "2020", "0414-1234567", "SÍ,", "confirmo"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !strings.Contains(out.String(), "reply from 584141234567 to 2020 delivered") {
		t.Fatalf("mo-sim: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"mo", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "584141234567 -> 2020 (sim) reply to message") || !strings.Contains(got, `"SÍ, confirmo"`) {
		t.Fatalf("mo: %q", got)
	}
	out.Reset()
	if err := run(ctx, []string{"mo", "-data", dir, "04249999999"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no replies\n" {
		t.Fatalf("mo from another number: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"status", "-data", dir, "0414-1234567"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\n  reply ") || !strings.Contains(out.String(), `"SÍ, confirmo"`) {
		t.Fatalf("status with reply: %q", out.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitText(t *testing.T, b *syncBuf, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", text, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSMSBatch sends a CSV straight to the simulator: a progress bar,
// the summary with receipts by state, and the refused row reported.
func TestSMSBatch(t *testing.T) {
	sim := smpptest.NewServer(&smpptest.Config{Outcomes: smpptest.Outcomes{Delivered: 3, Undeliverable: 1},
		Refuse: func(sm *pdu.SubmitSM) pdu.Status {
			if sm.DestinationAddr == "584160000000" {
				return pdu.StatusInvDstAdr
			}
			return pdu.StatusOK
		}})
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b strings.Builder
	b.WriteString("destination,text,source\n")
	for i := range 40 {
		fmt.Fprintf(&b, "58414%07d,mensaje %d,\n", i, i)
	}
	b.WriteString("04160000000,no va,ACME\n")
	file := filepath.Join(t.TempDir(), "lote.csv")
	must(t, os.WriteFile(file, []byte(b.String()), 0o600))
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"sms", "-smsc", sim.Addr, "-mode", "tx+rx", "-window", "8", "-batch", file}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "1 of 41 messages not accepted") {
		t.Fatalf("err %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "sent 40, failed 1 of 41") || !strings.Contains(got, "line 42 (584160000000): ") ||
		!strings.Contains(got, "ESME_RINVDSTADR") || !strings.Contains(errOut.String(), "41/41") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", got, errOut.String())
	}
	var delivered, undeliv int
	fmt.Sscanf(got[strings.Index(got, "receipts: "):], "receipts: DELIVRD=%d UNDELIV=%d", &delivered, &undeliv)
	if delivered+undeliv != 40 || undeliv == 0 {
		t.Fatalf("receipts %d + %d:\n%s", delivered, undeliv, got)
	}
	if subs := sim.Submitted(); len(subs) != 40 {
		t.Fatalf("SMSC got %d", len(subs))
	}
}

// A batch not finished within -timeout says how far it got and that the
// server goes on with it.
func TestBatchTimeout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "lento.csv")
	must(t, os.WriteFile(file, []byte("04141234567,hola\n"), 0o600))
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	must(t, err)
	must(t, st.CreateOperator(ctx, &store.Operator{Name: "op", Host: "127.0.0.1", Port: 1, Default: true, Enabled: true}))
	must(t, st.Close())
	var out, errOut bytes.Buffer
	err = run(ctx, []string{"batch", "-data", dir, "-client", "acme", "-timeout", "300ms", file}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not finished within 300ms") {
		t.Fatalf("err %v", err)
	}
	if got := out.String(); !strings.Contains(got, ": queued=1 (not finished within -timeout 300ms; the server goes on sending it)") {
		t.Fatalf("stdout:\n%s", got)
	}
}

// send sms checks every message as the gateway does before sending any:
// a bad number, an empty text, a row that is not a message.
func TestSMSRefusesBadMessages(t *testing.T) {
	sim := smpptest.NewServer(nil)
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"sms", "-smsc", sim.Addr, "0414ABC4567", "hola"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "nothing sent") || !strings.Contains(err.Error(), "bad number") {
		t.Fatalf("err %v", err)
	}
	file := filepath.Join(t.TempDir(), "lote.csv")
	must(t, os.WriteFile(file, []byte("numero,mensaje\n04141234567,hola\nXYZ,fila mala\n04141234568,\"\"\n"), 0o600))
	err = run(ctx, []string{"sms", "-smsc", sim.Addr, "-batch", file}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 bad message(s)") || !strings.Contains(err.Error(), "line 3: ") ||
		!strings.Contains(err.Error(), "line 4: ") {
		t.Fatalf("err %v", err)
	}
	if n := len(sim.Submitted()); n != 0 {
		t.Fatalf("SMSC got %d", n)
	}
}

// The progress line gives the rate and the time left, and says why a
// batch does not move.
func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := &progressBar{now: func() time.Time { return now }}
	sum := func(m map[store.TransmissionState]int) store.BatchSummary { return store.BatchSummary{ByState: m} }
	_, _, d := progressLine(p, sum(map[store.TransmissionState]int{store.TxQueued: 100}))
	if d != "queued=100" {
		t.Fatalf("start: %q", d)
	}
	now = now.Add(10 * time.Second)
	done, total, d := progressLine(p, sum(map[store.TransmissionState]int{store.TxQueued: 50, store.TxDelivered: 50}))
	if done != 50 || total != 100 || !strings.Contains(d, "5/s, about 10s left") {
		t.Fatalf("moving: %d/%d %q", done, total, d)
	}
	now = now.Add(11 * time.Second)
	_, _, d = progressLine(p, sum(map[store.TransmissionState]int{store.TxQueued: 50, store.TxDelivered: 50}))
	if !strings.Contains(d, "stalled: 50 not submitted for 11s") {
		t.Fatalf("stalled: %q", d)
	}
	now = now.Add(time.Second)
	_, _, d = progressLine(p, sum(map[store.TransmissionState]int{store.TxSent: 50, store.TxDelivered: 50}))
	if strings.Contains(d, "stalled") {
		t.Fatalf("moving again: %q", d)
	}
	now = now.Add(15 * time.Second)
	_, _, d = progressLine(p, sum(map[store.TransmissionState]int{store.TxSent: 50, store.TxDelivered: 50}))
	if !strings.Contains(d, "waiting for 50 receipts") {
		t.Fatalf("receipts: %q", d)
	}
}
