// Command smpp measures submit_sm throughput on one bound session over
// 127.0.0.1: n x submit_sm "hello world" (registered delivery) through
// switchboard's smpp client, linxGnu/gosmpp v0.3.1 (its window kept by
// the harness: a submit waits for a free slot, a submit_sm_resp frees
// one), fiorix/go-smpp (WindowSize 255, 255 submitting goroutines), and a
// raw pipelined socket writing pre-encoded PDUs, all against the same
// minimal SMSC in this process; then switchboard's client against
// switchboard's own smpp.Server. Each figure is the median of -runs, in
// messages per second from the first submit to the last response (binds
// excluded). It ends with one line:
//
//	smpp-throughput ours=N gosmpp=N fiorix=N raw=N ours/gosmpp=R
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/bench/internal/profile"
	"github.com/switchboard-go/switchboard/bench/internal/stats"
)

var (
	runs       = flag.Int("runs", 5, "repetitions of each client; medians are reported")
	count      = flag.Int("n", 100000, "submit_sm per run")
	window     = flag.Int("window", 1000, "outstanding requests: our client's window and gosmpp's external window")
	only       = flag.String("only", "", "comma-separated clients to run (ours,gosmpp,fiorix,raw,ours-server)")
	verbose    = flag.Bool("v", false, "print our client's writes per run")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the runs to this file (with -only ours: of our client)")
)

type client struct {
	name string
	run  func(addr string, n int) (time.Duration, error)
}

func main() {
	flag.Parse()
	smsc, err := startSMSC()
	if err != nil {
		fail(err)
	}
	defer smsc.close()
	clients := []client{{"ours", runOurs}, {"gosmpp", runGosmpp}, {"fiorix", runFiorix}, {"raw", runRaw}}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			want[s] = true
		}
	}
	var selected []client
	for _, c := range clients {
		if len(want) == 0 || want[c.name] {
			selected = append(selected, c)
		}
	}
	if len(want) == 0 || want["ours-server"] {
		addr, stop, err := startOurServer()
		if err != nil {
			fail(err)
		}
		defer stop()
		selected = append(selected, client{"ours-server", func(_ string, n int) (time.Duration, error) { return runOurs(addr, n) }})
	}
	rate := measure(selected, smsc.addr())
	ratio := 0.0
	if rate["gosmpp"] > 0 {
		ratio = rate["ours"] / rate["gosmpp"]
	}
	fmt.Printf("smpp-throughput ours=%.0f gosmpp=%.0f fiorix=%.0f raw=%.0f ours/gosmpp=%.2f\n",
		rate["ours"], rate["gosmpp"], rate["fiorix"], rate["raw"], ratio)
}

// measure runs every client once unmeasured (warm-up), then -runs rounds
// of one run each, interleaved so that the machine's drifts touch all
// alike, and prints and returns each client's median rate.
func measure(clients []client, addr string) map[string]float64 {
	stopCPU, err := profile.CPU(*cpuprofile)
	if err != nil {
		fail(err)
	}
	defer stopCPU()
	rates := map[string][]float64{}
	for round := -1; round < *runs; round++ {
		for _, c := range clients {
			d, err := c.run(addr, *count)
			if err != nil {
				fail(fmt.Errorf("%s: %w", c.name, err))
			}
			if round >= 0 {
				rates[c.name] = append(rates[c.name], float64(*count)/d.Seconds())
			}
		}
	}
	out := map[string]float64{}
	for _, c := range clients {
		m := stats.Median(rates[c.name])
		parts := make([]string, len(rates[c.name]))
		for i, r := range rates[c.name] {
			parts[i] = fmt.Sprintf("%.0f", r)
		}
		label := c.name
		if c.name == "ours-server" {
			label = "ours vs our smpp.Server"
		}
		fmt.Printf("%-24s %10.0f msgs/s  (runs: %s)\n", label, m, strings.Join(parts, " "))
		out[c.name] = m
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "smpp bench:", err)
	os.Exit(1)
}
