// Command gateway measures the SMS gateway end to end: a client's batch of
// n messages loaded from CSV, dispatched through the smpptest simulator,
// until every delivery receipt is recorded, on SQLite and on a throwaway
// PostgreSQL; and, for reference, the session alone: switchboard's smpp
// client submitting the same n messages to the same simulator and taking
// their receipts, with no store; and the SQLite write floor: what the same
// n messages leave in the database from load to receipt, written in the
// cheapest form there is (internal/gatewayfloor), which no gateway on
// SQLite can beat, and the same on PostgreSQL (pgfloor). Figures are messages per second (median of -runs), and
// it ends with one line:
//
//	sms-gateway sqlite=N postgres=N postgres2=N session=N ratio=R postgres2/postgres=R floor=N sqlite/floor=R pgfloor=N postgres/pgfloor=R
//
// where ratio is sqlite/session.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/bench/internal/profile"
	"github.com/switchboard-go/switchboard/bench/internal/stats"
	"github.com/switchboard-go/switchboard/bench/internal/workload"
	"github.com/switchboard-go/switchboard/internal/gatewayfloor"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

var (
	runs       = flag.Int("runs", 3, "repetitions; medians are reported")
	count      = flag.Int("n", 100000, "messages per batch")
	window     = flag.Int("window", 1000, "the operator's window")
	writers    = flag.Int("writers", 0, "gateway.Config.Writers (0: its default)")
	only       = flag.String("only", "", "sqlite, postgres, postgres2 (two gateways on one database), session, floor or pgfloor: run only that")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
)

func main() {
	flag.Parse()
	stopCPU, err := profile.CPU(*cpuprofile)
	if err != nil {
		fail(err)
	}
	defer stopCPU()
	csv := batchCSV(*count)
	rate := map[string]float64{}
	for _, name := range []string{"session", "floor", "pgfloor", "sqlite", "postgres", "postgres2"} {
		if *only != "" && *only != name {
			continue
		}
		var rates []float64
		for r := range *runs {
			var d time.Duration
			var err error
			switch name {
			case "session":
				d, err = runSession(*count)
			case "floor":
				d, err = runFloor(*count)
			case "pgfloor":
				d, err = runPGFloor(*count)
			case "sqlite":
				d, err = runGateway(name, csv, *count, openSQLite)
			case "postgres":
				d, err = runGateway(name, csv, *count, openPostgres(1))
			case "postgres2":
				d, err = runGateway(name, csv, *count, openPostgres(2))
			}
			if err != nil {
				fail(fmt.Errorf("%s run %d: %w", name, r+1, err))
			}
			rates = append(rates, float64(*count)/d.Seconds())
		}
		rate[name] = stats.Median(rates)
		fmt.Printf("%-9s %9.0f msgs/s  (runs: %s)\n", name, rate[name], join(rates))
	}
	ratio := 0.0
	if rate["session"] > 0 {
		ratio = rate["sqlite"] / rate["session"]
	}
	scale := 0.0
	if rate["postgres"] > 0 {
		scale = rate["postgres2"] / rate["postgres"]
	}
	ofFloor := 0.0
	if rate["floor"] > 0 {
		ofFloor = rate["sqlite"] / rate["floor"]
	}
	ofPGFloor := 0.0
	if rate["pgfloor"] > 0 {
		ofPGFloor = rate["postgres"] / rate["pgfloor"]
	}
	fmt.Printf("sms-gateway sqlite=%.0f postgres=%.0f postgres2=%.0f session=%.0f ratio=%.3f postgres2/postgres=%.2f floor=%.0f sqlite/floor=%.2f pgfloor=%.0f postgres/pgfloor=%.2f\n",
		rate["sqlite"], rate["postgres"], rate["postgres2"], rate["session"], ratio, scale, rate["floor"], ofFloor,
		rate["pgfloor"], ofPGFloor)
}

// runPGFloor writes n messages' life in a throwaway PostgreSQL in the
// cheapest form, on as many connections at once as there are CPUs (on
// two cores: two 9,530-11,079 msgs/s, one 6,477, four 8,013).
func runPGFloor(n int) (time.Duration, error) {
	ctx := context.Background()
	srv, err := pgtest.Start(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	rate, err := gatewayfloor.MeasurePostgres(ctx, srv.URL(""), n, runtime.NumCPU())
	if err != nil {
		return 0, err
	}
	return time.Duration(float64(n) / rate * float64(time.Second)), nil
}

// runFloor writes n messages' life in SQLite in the cheapest form.
func runFloor(n int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "gateway-floor")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	rate, err := gatewayfloor.Measure(context.Background(), dir, n)
	if err != nil {
		return 0, err
	}
	return time.Duration(float64(n) / rate * float64(time.Second)), nil
}

func join(xs []float64) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 0, 64))
	}
	return b.String()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gateway bench:", err)
	os.Exit(1)
}

func batchCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("number,text,external_id\n")
	for i := range n {
		fmt.Fprintf(&b, "0414%07d,Su pedido %d va en camino,%d\n", i, i, i)
	}
	return b.Bytes()
}

func simulator() *smpptest.Server {
	return smpptest.NewServer(&smpptest.Config{ReceiptDelay: 10 * time.Millisecond, WindowSize: 1000})
}

// runGateway loads the batch and waits until every receipt is recorded,
// with one gateway per store open returns (several stores: one database
// shared by that many gateway processes, each with its own connections).
func runGateway(name string, csv []byte, n int, open func(ctx context.Context) ([]store.Store, func(), error)) (time.Duration, error) {
	ctx := context.Background()
	sim := simulator()
	defer sim.Close()
	stores, cleanup, err := open(ctx)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	st := stores[0]
	host, port, _ := net.SplitHostPort(sim.Addr)
	p, _ := strconv.Atoi(port)
	if err := st.CreateOperator(ctx, &store.Operator{Name: "sim", Host: host, Port: p, SystemID: "bench",
		BindMode: store.BindTransceiver, WindowSize: *window, Default: true, Enabled: true}); err != nil {
		return 0, err
	}
	var g *gateway.Gateway
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, len(stores))
	defer func() {
		stop()
		for range stores {
			<-done
		}
	}()
	for i, s := range stores {
		gi, err := gateway.New(gateway.Config{Store: s, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"},
			ClaimBatch: 500, Writers: *writers})
		if err != nil {
			return 0, err
		}
		if i == 0 {
			g = gi
		}
		go func() { done <- gi.Run(runCtx) }()
	}

	start := time.Now()
	rep, err := g.LoadCSV(ctx, gateway.Batch{Client: "bench", Name: "batch.csv", CSV: bytes.NewReader(csv)})
	if err != nil {
		return 0, err
	}
	if rep.Inserted != n {
		return 0, fmt.Errorf("loaded %d of %d", rep.Inserted, n)
	}
	loaded := time.Since(start)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	sum, err := g.WaitBatch(wctx, rep.BatchID, 200*time.Millisecond, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", err, sum.ByState)
	}
	d := time.Since(start)
	if sum.ByState[store.TxDelivered] != n {
		return 0, fmt.Errorf("not all delivered: %v", sum.ByState)
	}
	fmt.Printf("  %s: loaded in %s, all %d receipts recorded after %s\n", name, loaded.Round(time.Millisecond), n, d.Round(time.Millisecond))
	return d, nil
}

func openSQLite(ctx context.Context) ([]store.Store, func(), error) {
	dir, err := os.MkdirTemp("", "gwbench")
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "gw.db"), nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return []store.Store{st}, func() { st.Close(); os.RemoveAll(dir) }, nil
}

// openPostgres opens a throwaway PostgreSQL n times: n gateways on one
// database, as n processes would be.
func openPostgres(n int) func(ctx context.Context) ([]store.Store, func(), error) {
	return func(ctx context.Context) ([]store.Store, func(), error) {
		srv, err := pgtest.Start(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		var stores []store.Store
		cleanup := func() {
			for _, st := range stores {
				st.Close()
			}
			srv.Stop()
		}
		for range n {
			st, err := postgres.Open(ctx, srv.URL(""), nil)
			if err != nil {
				cleanup()
				return nil, nil, err
			}
			stores = append(stores, st)
		}
		return stores, cleanup, nil
	}
}

// runSession submits n messages on one bound session and waits for their
// receipts: what the gateway adds its store work to.
func runSession(n int) (time.Duration, error) {
	sim := simulator()
	defer sim.Close()
	ctx := context.Background()
	var receipts atomic.Int64
	all := make(chan struct{})
	c, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "bench", WindowSize: *window,
		Handler: smpp.HandlerFunc(func(ctx context.Context, m *smpp.Message) pdu.Status {
			if m.Kind == smpp.KindReceipt && receipts.Add(1) == int64(n) {
				close(all)
			}
			return pdu.StatusOK
		})})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	if err := workload.SubmitPipelined(ctx, c, n, *window, func(i int) *pdu.SubmitSM {
		return &pdu.SubmitSM{DestinationAddr: fmt.Sprintf("58414%07d", i), RegisteredDelivery: 1,
			ShortMessage: []byte("Su pedido va en camino")}
	}); err != nil {
		return 0, err
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("%d of %d receipts", receipts.Load(), n)
	}
	return time.Since(start), nil
}
