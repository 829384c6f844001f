package gateway

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/internal/testmain"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

var db pgtest.Shared

func TestMain(m *testing.M) {
	testmain.Run(m, db.Stop)
}

// eachStore runs f on SQLite and on PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), db.Schema(t), &postgres.Options{MaxConns: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f(t, st)
	})
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func addOperator(t *testing.T, st store.Store, name string, sim *smpptest.Server, mod func(*store.Operator)) store.Operator {
	t.Helper()
	host, port, _ := net.SplitHostPort(sim.Addr)
	p, _ := strconv.Atoi(port)
	op := store.Operator{Name: name, Host: host, Port: p, SystemID: "gw-" + name, Password: "pw",
		BindMode: store.BindTransceiver, Enabled: true, WindowSize: 50,
		Params: []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "500ms"}}}
	if mod != nil {
		mod(&op)
	}
	if err := st.CreateOperator(context.Background(), &op); err != nil {
		t.Fatal(err)
	}
	return op
}

// startGateway runs a gateway until the end of the test.
// Its submits wait at most 5s for a late response (the test operators'
// response timeout is 500ms).
func startGateway(t *testing.T, st store.Store) *Gateway {
	t.Helper()
	return startGatewayWith(t, st, nil)
}

// startGatewayWith is startGateway with the test's changes to the config.
func startGatewayWith(t *testing.T, st store.Store, mod func(*Config)) *Gateway {
	t.Helper()
	cfg := Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"},
		ReloadInterval: 100 * time.Millisecond, RetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond,
		MaxAttempts: 10, SubmitTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return g
}

func waitDone(t *testing.T, g *Gateway, batchID int64) store.BatchSummary {
	t.Helper()
	s, err := g.WaitBatch(testCtx(t, 90*time.Second), batchID, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("batch %d not done: %v (%v)", batchID, err, s.ByState)
	}
	return s
}

func TestEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 120*time.Second)
		// movil: mixed outcomes. digi: hex ids in responses, decimal in
		// receipts, and receipts that overtake their responses.
		movil := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 2 * time.Millisecond,
			Outcomes: smpptest.Outcomes{Delivered: 8, Undeliverable: 1, Expired: 1}})
		defer movil.Close()
		digi := smpptest.NewServer(&smpptest.Config{HexIDs: true, ReceiptIDDecimal: true, Latency: 20 * time.Millisecond})
		defer digi.Close()
		opMovil := addOperator(t, st, "movil", movil, func(o *store.Operator) { o.Prefixes = []string{"58414", "58424"} })
		opDigi := addOperator(t, st, "digi", digi, func(o *store.Operator) {
			o.Prefixes = []string{"58412"}
			o.BindMode = store.BindPair
			o.Params = append(o.Params, store.OperatorParam{Command: "gateway", Name: "receipt_id", Value: "hex-dec"})
		})
		g := startGateway(t, st)

		var b strings.Builder
		b.WriteString("numero,mensaje,id\n")
		const n = 200
		for i := range n {
			prefix := "0414"
			if i%2 == 1 {
				prefix = "0412"
			}
			fmt.Fprintf(&b, "%s%07d,Su pedido %d va en camino,r%d\n", prefix, i, i, i)
		}
		long := strings.Repeat("Mensaje largo de prueba. ", 12) // 300 characters: 2 parts
		fmt.Fprintf(&b, "04149999999,%s,long\n", long)
		b.WriteString("abc,hola,bad1\n")          // bad number: line n+3
		b.WriteString("04141111111,,bad2\n")      // empty text
		b.WriteString("04141111112\n")            // one field
		b.WriteString("+571234567890,hola,col\n") // no route
		b.WriteString("04141111113,otra,r5\n")    // repeated external id
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "enero.csv", CSV: strings.NewReader(b.String())})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != n+6 || rep.Inserted != n+2 || rep.Rejected != 4 || rep.Unroutable != 1 || len(rep.Errors) != 4 {
			t.Fatalf("report %+v", rep)
		}
		if e := rep.Errors[0]; e.Line != n+3 || !strings.Contains(e.Reason, "bad number") {
			t.Fatalf("first error %+v", e)
		}
		if e := rep.Errors[3]; e.Line != n+7 || !strings.Contains(e.Reason, "repeats line 7") {
			t.Fatalf("last error %+v", e)
		}
		sum := waitDone(t, g, rep.BatchID)
		if sum.ByState[store.TxFailed] != 1 || sum.Batch.Total != n+2 {
			t.Fatalf("summary %v total %d", sum.ByState, sum.Batch.Total)
		}

		// The same file again: nothing new, nothing sent twice.
		rep2, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "enero.csv", CSV: strings.NewReader(b.String())})
		// (The unroutable row loaded before is not counted again: a report
		// of "queued = inserted - unroutable" stays at 0.)
		if err != nil || rep2.Inserted != 0 || rep2.Duplicates != n+2 || rep2.BatchID != rep.BatchID || rep2.Unroutable != 0 {
			t.Fatalf("second load %+v, %v", rep2, err)
		}

		// Every message reached its operator once, and ended in the
		// state the SMSC drew for it.
		stats := map[int64]map[string]string{} // operator -> message id -> stat
		perDest := map[string]int{}
		for op, sim := range map[int64]*smpptest.Server{opMovil.ID: movil, opDigi.ID: digi} {
			stats[op] = map[string]string{}
			for _, s := range sim.Submitted() {
				id := s.MessageID
				if op == opDigi.ID { // hex-dec: recorded as one canonical number
					id, _ = coding.NormalizeID(id, coding.IDHex)
				}
				stats[op][id] = s.Stat
				perDest[s.Dest]++
			}
		}
		for i := range n {
			dest := fmt.Sprintf("58414%07d", i)
			op := opMovil.ID
			if i%2 == 1 {
				dest, op = fmt.Sprintf("58412%07d", i), opDigi.ID
			}
			if perDest[dest] != 1 {
				t.Fatalf("%s submitted %d times", dest, perDest[dest])
			}
			tr, err := st.LastTransmissionTo(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]store.TransmissionState{"DELIVRD": store.TxDelivered, "UNDELIV": store.TxUndeliverable,
				"EXPIRED": store.TxExpired}[stats[op][tr.MessageID]]
			if tr.OperatorID != op || tr.State != want || tr.DoneAt.IsZero() {
				t.Fatalf("%s: %+v, SMSC said %q", dest, tr, stats[op][tr.MessageID])
			}
		}
		if perDest["584149999999"] != 2 {
			t.Fatalf("long message in %d parts", perDest["584149999999"])
		}
		if tr, _ := g.Status(ctx, "0414 999 9999"); tr.Segments != 2 || !tr.State.Final() {
			t.Fatalf("long message %+v", tr)
		}
		if tr, _ := g.Status(ctx, "+571234567890"); tr.State != store.TxFailed || !strings.Contains(tr.Reason, "no route") {
			t.Fatalf("unroutable %+v", tr)
		}

		// Replies, one of them long, are stored and linked.
		if err := movil.SendMO(ctx, smpptest.MO{SystemID: "gw-movil", From: "584140000002", To: "2020", Text: "gracias"}); err != nil {
			t.Fatal(err)
		}
		longReply := strings.Repeat("¿Cuándo llega? ", 20)
		if err := digi.SendMO(ctx, smpptest.MO{SystemID: "gw-digi", From: "584120000003", To: "2020", Text: longReply}); err != nil {
			t.Fatal(err)
		}
		mos, err := st.MOs(ctx, store.MOFilter{})
		if err != nil || len(mos) != 2 {
			t.Fatalf("MOs %+v, %v", mos, err)
		}
		t2, _ := st.LastTransmissionTo(ctx, "584140000002")
		if mos[0].OperatorID != opMovil.ID || mos[0].TransmissionID != t2.ID || mos[0].Text != "gracias" || mos[0].To != "2020" {
			t.Fatalf("MO %+v, want link to %d", mos[0], t2.ID)
		}
		if mos[1].Text != longReply || mos[1].OperatorID != opDigi.ID {
			t.Fatalf("long MO %+v", mos[1])
		}

		status, err := g.Operators(ctx, time.Now().Add(-time.Hour))
		if err != nil || len(status) != 2 {
			t.Fatal(status, err)
		}
		for _, s := range status {
			if !s.Running || s.Bound != 1 || s.Process.Accepted < n/2 || s.Process.PossibleDuplicates != 0 || s.Store.Submitted < n/2 {
				t.Fatalf("operator status %+v", s)
			}
		}
	})
}
