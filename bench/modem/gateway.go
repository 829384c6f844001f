package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/modem/modemtest"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// runGateway sends a batch of k*n messages through the gateway, routed to
// k modem operators sharing one prefix, and returns the rate from the
// load to the last message the modems took.
func runGateway(k int, delay time.Duration, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "modem-bench")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sims := map[string]*modemtest.Modem{}
	for i := range k {
		dev := fmt.Sprintf("sim%d", i)
		sims[dev] = modemtest.New(&modemtest.Config{Delay: delay, ReportDelay: delay, Seed: uint64(i)})
		defer sims[dev].Close()
		op := store.Operator{Name: "modem" + dev, Kind: store.KindModem, Enabled: true, Prefixes: []string{"58414"},
			Modem: store.ModemSettings{Device: dev}}
		if err := st.CreateOperator(ctx, &op); err != nil {
			return 0, err
		}
	}
	g, err := gateway.New(gateway.Config{Store: st, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"},
		OpenModem: func(_ context.Context, s store.ModemSettings) (io.ReadWriteCloser, error) {
			return sims[s.Device].Conn(), nil
		}})
	if err != nil {
		return 0, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	defer func() { stop(); <-done }()
	if err := waitBound(ctx, g, k); err != nil {
		return 0, err
	}

	var csv strings.Builder
	for j := range k * n {
		fmt.Fprintf(&csv, "0414%07d,Su código de acceso es %04d\n", j, j%10000)
	}
	start := time.Now()
	if _, err := g.LoadCSV(ctx, gateway.Batch{Client: "bench", Name: "b", CSV: strings.NewReader(csv.String())}); err != nil {
		return 0, err
	}
	for {
		taken := 0
		for _, s := range sims {
			taken += len(s.Submitted())
		}
		if taken >= k*n {
			if taken > k*n {
				return 0, fmt.Errorf("the modems took %d messages, not %d", taken, k*n)
			}
			return float64(k*n) / time.Since(start).Seconds(), nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%d of %d messages taken: %w", taken, k*n, ctx.Err())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitBound waits until the gateway runs k operators, each bound.
func waitBound(ctx context.Context, g *gateway.Gateway, k int) error {
	for {
		ss, err := g.Operators(ctx, time.Now())
		if err != nil {
			return err
		}
		up := 0
		for _, s := range ss {
			if s.Running && s.Bound > 0 {
				up++
			}
		}
		if up == k {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d modems ready: %w", up, k, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
