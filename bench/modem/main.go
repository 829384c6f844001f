// Command modem measures the sending rate of a pool of modems against
// simulated ones (modemtest) whose network takes a set time per message,
// and compares it with what that delay allows (modems/delay): first the
// modem package alone, each modem sending in a loop; then the SMS
// gateway, a batch routed to the pool (one modem operator each, one
// prefix) on an SQLite store, from the load until the modems took every
// message.
//
//	cd bench && go run ./modem [-modems 4] [-delay 50ms] [-n 100] [-runs 5]
//
// The last lines read modem-throughput ours=N/s limit=N/s and
// modem-gateway-throughput ours=N/s limit=N/s (medians of the runs).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/modem/modemtest"
)

func main() {
	modems := flag.Int("modems", 4, "modems in the pool")
	delay := flag.Duration("delay", 50*time.Millisecond, "the simulated network's time per message")
	n := flag.Int("n", 100, "messages per modem per run")
	runs := flag.Int("runs", 5, "runs (the median is reported)")
	flag.Parse()
	limit := float64(*modems) / delay.Seconds()
	report := func(name string, run func(int, time.Duration, int) (float64, error)) {
		var rates []float64
		for r := range *runs {
			rate, err := run(*modems, *delay, *n)
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			fmt.Printf("%s run %d: %.1f msgs/s (%.2f of the limit)\n", name, r+1, rate, rate/limit)
			rates = append(rates, rate)
		}
		slices.Sort(rates)
		med := rates[len(rates)/2]
		fmt.Printf("%s ours=%.1f/s limit=%.1f/s ratio=%.2f (%d modems, %v per message; target 0.9)\n", name, med, limit, med/limit, *modems, *delay)
	}
	report("modem-throughput", run)
	report("modem-gateway-throughput", runGateway)
}

// run sends n messages through each of k modems at once and returns the
// pool's rate.
func run(k int, delay time.Duration, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pool := make([]*modem.Modem, k)
	sims := make([]*modemtest.Modem, k)
	for i := range k {
		sims[i] = modemtest.New(&modemtest.Config{Delay: delay, ReportDelay: delay, Seed: uint64(i)})
		pool[i] = modem.New(sims[i].Conn(), modem.Config{Submit: modem.SubmitOptions{StatusReport: true}})
		if err := pool[i].Init(ctx); err != nil {
			return 0, err
		}
	}
	defer func() {
		for i := range k {
			pool[i].Close()
			sims[i].Close()
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, k)
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				if _, err := pool[i].Send(ctx, "58414"+fmt.Sprintf("%07d", j), "Su código de acceso es 4711", uint16(j)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	sent := 0
	for _, s := range sims {
		sent += len(s.Submitted())
	}
	if sent != k*n {
		return 0, fmt.Errorf("the simulators took %d messages, not %d", sent, k*n)
	}
	return float64(k*n) / elapsed.Seconds(), nil
}
