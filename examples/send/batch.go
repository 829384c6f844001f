package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/gatewayflag"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// runBatch loads a client's CSV file into the SMS gateway's store and,
// unless -wait=false, shows its progress until every message is final
// (the server's gateway sends them).
func runBatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send batch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var nf gatewayflag.Flags
	nf.Register(fs)
	client := fs.String("client", "default", "the client the batch belongs to")
	name := fs.String("name", "", "batch name; loading the same name again sends only new or changed rows (default: the file name)")
	wait := fs.Bool("wait", true, "show progress until every message is final")
	timeout := fs.Duration("timeout", 0, "give up waiting after this long (0: never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send batch [flags] FILE.csv   (columns: number,text[,source[,external_id]])")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("batch: want one FILE.csv")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if *name == "" {
		*name = filepath.Base(fs.Arg(0))
	}
	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	g, err := gateway.New(gateway.Config{Store: st, Numbering: nf.Numbering})
	if err != nil {
		return err
	}
	rep, err := g.LoadCSV(ctx, gateway.Batch{Client: *client, Name: *name, CSV: f})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batch %d: %d rows, %d queued, %d already loaded, %d rejected, %d without route\n",
		rep.BatchID, rep.Rows, rep.Inserted-rep.Unroutable, rep.Duplicates, rep.Rejected, rep.Unroutable)
	if rep.Delimiter != ',' && rep.Delimiter != 0 {
		fmt.Fprintf(stdout, "  fields separated by %q\n", rep.Delimiter)
	}
	if len(rep.NewLines) > 0 {
		fmt.Fprintf(stdout, "  new or changed rows at lines %s\n", joinInts(rep.NewLines, 20))
	}
	for i, e := range rep.Errors {
		if i == 20 {
			fmt.Fprintf(stdout, "  ... and %d more\n", rep.Rejected-20)
			break
		}
		fmt.Fprintf(stdout, "  line %d: %s\n", e.Line, e.Reason)
	}
	if !*wait || rep.BatchID == 0 {
		return nil
	}
	if rep.Inserted == 0 {
		fmt.Fprintf(stdout, "batch %d: nothing new to send\n", rep.BatchID)
		return nil
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	bar := progressBar{w: stderr}
	sum, err := g.WaitLoad(ctx, rep, 250*time.Millisecond, bar.show) // this load's rows, not earlier loads
	bar.done()
	if errors.Is(err, context.DeadlineExceeded) {
		// The batch is stored: the server goes on with it.
		fmt.Fprintf(stdout, "batch %d: %s (not finished within -timeout %s; the server goes on sending it)\n",
			rep.BatchID, counts(sum.ByState), *timeout)
		return fmt.Errorf("batch %d not finished within %s", rep.BatchID, *timeout)
	}
	fmt.Fprintf(stdout, "batch %d: %s\n", rep.BatchID, counts(sum.ByState))
	return err
}

// progressBar redraws one line: a bar of final messages, the counts,
// the rate and time left, or why nothing moves.
type progressBar struct {
	w     io.Writer
	drawn bool
	now   func() time.Time // time.Now; tests set it

	start               time.Time
	lastFinal, lastSent int       // at the last change
	lastChange          time.Time // of final or sent+final
}

// stallAfter is how long nothing may move before the bar says why.
const stallAfter = 10 * time.Second

func (p *progressBar) show(s store.BatchSummary) {
	p.draw(progressLine(p, s))
}

// progressLine is what the bar shows for s, and updates p's memory.
func progressLine(p *progressBar, s store.BatchSummary) (done, total int, detail string) {
	if p.now == nil {
		p.now = time.Now
	}
	now := p.now()
	final, submitted := 0, 0
	for st, n := range s.ByState {
		total += n
		if st.Final() {
			final += n
		}
		if st != store.TxQueued && st != store.TxSubmitting {
			submitted += n
		}
	}
	if p.start.IsZero() {
		p.start, p.lastChange = now, now
		p.lastFinal, p.lastSent = final, submitted
	}
	if final != p.lastFinal || submitted != p.lastSent {
		p.lastFinal, p.lastSent, p.lastChange = final, submitted, now
	}
	detail = counts(s.ByState)
	queued := s.ByState[store.TxQueued] + s.ByState[store.TxSubmitting]
	sent := s.ByState[store.TxSent]
	switch elapsed := now.Sub(p.start); {
	case final == total:
	case now.Sub(p.lastChange) >= stallAfter && queued > 0:
		detail += fmt.Sprintf("  stalled: %d not submitted for %s (is the server running, its operator bound, or throttled?)",
			queued, now.Sub(p.lastChange).Round(time.Second))
	case now.Sub(p.lastChange) >= stallAfter && sent > 0:
		detail += fmt.Sprintf("  waiting for %d receipts", sent)
	case final > 0 && elapsed > time.Second:
		rate := float64(final) / elapsed.Seconds()
		left := time.Duration(float64(total-final) / rate * float64(time.Second))
		detail += fmt.Sprintf("  %.0f/s, about %s left", rate, left.Round(time.Second))
	}
	return final, total, detail
}

// draw redraws the line: done of total as a bar, then detail.
func (p *progressBar) draw(done, total int, detail string) {
	const width = 30
	filled := 0
	if total > 0 {
		filled = min(done, total) * width / total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, detail)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func counts(m map[store.TransmissionState]int) string {
	keys := make([]string, 0, len(m))
	for st, n := range m {
		if n > 0 {
			keys = append(keys, fmt.Sprintf("%s=%d", st, n))
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

// joinInts lists the first max of ns, and says how many more there are.
func joinInts(ns []int, max int) string {
	var b strings.Builder
	for i, n := range ns {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(ns)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, n)
	}
	return b.String()
}
