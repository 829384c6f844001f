// Command chat measures the chat server: relay throughput customer ->
// server -> operator with 1,000 concurrent conversations and 100-byte
// messages, on the in-memory store (ours) and on SQLite (every message
// stored), next to a raw Go relay of the same frames (the limit); p50/p99
// latency at a fixed 10,000 msg/s (p99: the median of the runs); and the
// server's memory per idle customer with 10,000 idle customers (the server
// runs in a child process, measured from /proc). With -attack it attacks
// a server in a child process instead and prints its memory; with
// -resume it runs the resume torture at full size. It ends with one line:
//
//	chat-relay ours=N sqlite=N raw=N ratio=R p99_us=N idle_kb_per_conn=N
//
// where ratio is ours/raw.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/bench/internal/profile"
	"github.com/switchboard-go/switchboard/bench/internal/stats"
)

var (
	runs       = flag.Int("runs", 3, "repetitions of the throughput and latency runs; medians are reported")
	convs      = flag.Int("conversations", 1000, "concurrent conversations")
	perConv    = flag.Int("messages", 200, "messages per conversation and run")
	operators  = flag.Int("operators", 20, "operators (conversations are spread over them)")
	rate       = flag.Int("rate", 10000, "messages per second for the latency run")
	latencyDur = flag.Duration("latency-duration", 5*time.Second, "length of the latency run")
	idle       = flag.Int("idle", 10000, "idle customers for the memory run (0 skips it)")
	only       = flag.String("only", "", "comma-separated parts: raw,ours,sqlite,latency,idle")
	serveIdle  = flag.String("serve-idle", "", "internal: run an idle-test server on this address")
	attackFlag = flag.Bool("attack", false, "attack a server in a child process (unfinished uploads, stalled HELLOs, a queue flood, login guessing) and print its RSS, then exit")
	serveAtk   = flag.String("serve-attack", "", "internal: run the attacked server on this address")
	resume     = flag.Bool("resume", false, "run the resume torture at full size on memory and SQLite (see -resume-*), then exit")
	resumeCust = flag.Int("resume-customers", 8, "customers of the resume torture")
	resumeMsgs = flag.Int("resume-messages", 20000, "messages per sender and conversation of the resume torture (memory)")
	resumeSQL  = flag.Int("resume-messages-sqlite", 3000, "messages per sender and conversation of the resume torture (SQLite)")
	resumeDrop = flag.Duration("resume-drop-every", 5*time.Millisecond, "how often the resume torture cuts a connection")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the throughput runs to this file")
	memprofile = flag.String("memprofile", "", "write a heap profile (allocations of the whole run) to this file at the end")
)

func want(part string) bool {
	if *only == "" {
		return true
	}
	for _, p := range strings.Split(*only, ",") {
		if p == part {
			return true
		}
	}
	return false
}

func main() {
	flag.Parse()
	switch {
	case *serveIdle != "":
		serveIdleChild(*serveIdle)
		return
	case *serveAtk != "":
		serveAttackChild(*serveAtk)
		return
	case *attackFlag:
		if err := runAttacks(); err != nil {
			fail(fmt.Errorf("attack: %w", err))
		}
		return
	case *resume:
		if err := runResume(*resumeCust, *resumeMsgs, *resumeSQL, *resumeDrop); err != nil {
			fail(fmt.Errorf("resume: %w", err))
		}
		return
	}
	n := *convs * *perConv
	res := map[string]float64{}
	writeAllocs := profile.Allocs(*memprofile)
	defer func() {
		if err := writeAllocs(); err != nil {
			fail(err)
		}
	}()
	stopCPU, err := profile.CPU(*cpuprofile)
	if err != nil {
		fail(err)
	}
	defer stopCPU()
	for _, part := range []struct {
		name string
		run  func() (time.Duration, error)
	}{
		{"raw", func() (time.Duration, error) { return runRaw(*convs, *perConv) }},
		{"ours", func() (time.Duration, error) { return runOurs(false, *convs, *perConv, *operators) }},
		{"sqlite", func() (time.Duration, error) { return runOurs(true, *convs, *perConv, *operators) }},
	} {
		if !want(part.name) {
			continue
		}
		var rates []float64
		for range *runs {
			d, err := part.run()
			if err != nil {
				fail(fmt.Errorf("%s: %w", part.name, err))
			}
			rates = append(rates, float64(n)/d.Seconds())
		}
		res[part.name] = stats.Median(rates)
		fmt.Printf("%-7s %10.0f msgs/s relayed  (runs: %s)\n", part.name, res[part.name], join(rates))
	}
	var p99 float64
	if want("latency") {
		var p99s []float64
		for range *runs {
			lat, err := runLatency(*rate, *latencyDur, *operators)
			if err != nil {
				fail(fmt.Errorf("latency: %w", err))
			}
			sort.Float64s(lat)
			p50, p99v := pct(lat, 0.50), pct(lat, 0.99)
			p99s = append(p99s, p99v)
			fmt.Printf("latency at %d msg/s for %s: p50 %.0f us, p99 %.0f us, max %.0f us (%d samples)\n",
				*rate, *latencyDur, p50, p99v, lat[len(lat)-1], len(lat))
		}
		p99 = stats.Median(p99s)
		fmt.Printf("latency p99 median of %d runs: %.0f us\n", len(p99s), p99)
	}
	var kb float64
	if want("idle") && *idle > 0 {
		var err error
		if kb, err = runIdle(*idle); err != nil {
			fail(fmt.Errorf("idle: %w", err))
		}
		fmt.Printf("idle: %.1f KB of server RSS per connected customer (%d customers)\n", kb, *idle)
	}
	ratio := 0.0
	if res["raw"] > 0 {
		ratio = res["ours"] / res["raw"]
	}
	fmt.Printf("chat-relay ours=%.0f sqlite=%.0f raw=%.0f ratio=%.3f p99_us=%.0f idle_kb_per_conn=%.1f\n",
		res["ours"], res["sqlite"], res["raw"], ratio, p99, kb)
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func join(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, " ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chat bench:", err)
	os.Exit(1)
}
