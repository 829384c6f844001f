package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// dropDir watches DIR/CLIENT/*.csv, as seed 001's clients dropped their
// files in a directory of their own: each file, once complete (its size
// and time unchanged over a poll, at least settle old: written and
// closed, or renamed in), is loaded as a batch named after the file, so a
// file dropped again or edited sends only what is new; the file goes to
// DIR/CLIENT/done/ with a report beside it, and when its messages are all
// final a results CSV. What waits for its results survives a restart
// (a .pending file in done/).
type dropDir struct {
	dir    string
	gw     *gateway.Gateway
	st     store.Store
	log    *slog.Logger
	poll   time.Duration
	settle time.Duration

	seen map[string]fileMark // candidate files: size and time at the last poll
}

type fileMark struct {
	size int64
	mod  time.Time
}

// pendingLoad is a load waiting for its results, kept in done/NAME.pending.
type pendingLoad struct {
	BatchID int64  `json:"batch_id"`
	FirstID int64  `json:"first_id"`
	LastID  int64  `json:"last_id"`
	Results string `json:"results"` // the results file to write
}

func newDropDir(dir string, gw *gateway.Gateway, st store.Store, log *slog.Logger) *dropDir {
	return &dropDir{dir: dir, gw: gw, st: st, log: log, poll: time.Second, settle: time.Second, seen: map[string]fileMark{}}
}

// run polls until ctx ends.
func (d *dropDir) run(ctx context.Context) error {
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return err
	}
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		d.scan(ctx)
		d.finish(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// scan loads the complete files.
func (d *dropDir) scan(ctx context.Context) {
	files, _ := filepath.Glob(filepath.Join(d.dir, "*", "*.csv"))
	now := time.Now()
	present := map[string]bool{}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		present[f] = true
		mark := fileMark{info.Size(), info.ModTime()}
		prev, ok := d.seen[f]
		d.seen[f] = mark
		if !ok || prev != mark || now.Sub(mark.mod) < d.settle {
			continue // still being written, or not seen twice yet
		}
		delete(d.seen, f)
		if err := d.load(ctx, f); err != nil && ctx.Err() == nil {
			d.log.Error("drop folder: loading", "file", f, "err", err)
		}
	}
	for f := range d.seen {
		if !present[f] {
			delete(d.seen, f)
		}
	}
}

// load loads one complete file, moves it to done/ and writes its report.
func (d *dropDir) load(ctx context.Context, path string) error {
	client := filepath.Base(filepath.Dir(path))
	name := filepath.Base(path)
	done := filepath.Join(filepath.Dir(path), "done")
	if err := os.MkdirAll(done, 0o750); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	rep, err := d.gw.LoadCSV(ctx, gateway.Batch{Client: client, Name: name, CSV: f})
	f.Close()
	if err != nil {
		return err // left in place: tried again at the next poll
	}
	base := strings.TrimSuffix(name, ".csv") + "-" + time.Now().UTC().Format("20060102T150405")
	if err := os.Rename(path, filepath.Join(done, base+".csv")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(done, base+".report.txt"), []byte(loadReport(name, rep)), 0o640); err != nil {
		return err
	}
	d.log.Info("drop folder: batch loaded", "client", client, "file", name, "batch", rep.BatchID,
		"queued", rep.Inserted-rep.Unroutable, "already_loaded", rep.Duplicates, "rejected", rep.Rejected)
	if rep.Inserted == 0 {
		return nil
	}
	p := pendingLoad{BatchID: rep.BatchID, FirstID: rep.FirstID, LastID: rep.LastID, Results: base + ".results.csv"}
	b, _ := json.Marshal(p)
	return os.WriteFile(filepath.Join(done, base+".pending"), b, 0o640)
}

// loadReport is the report file of a load.
func loadReport(name string, rep gateway.LoadReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "file: %s\nbatch: %d\nrows: %d\nqueued: %d\nalready loaded: %d\nrejected: %d\nwithout route: %d\n",
		name, rep.BatchID, rep.Rows, rep.Inserted-rep.Unroutable, rep.Duplicates, rep.Rejected, rep.Unroutable)
	fmt.Fprintf(&b, "fields separated by: %q\n", rep.Delimiter)
	if len(rep.NewLines) > 0 {
		b.WriteString("new or changed rows at lines:")
		for _, l := range rep.NewLines {
			fmt.Fprintf(&b, " %d", l)
		}
		b.WriteString("\n")
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(&b, "line %d: %s\n", e.Line, e.Reason)
	}
	return b.String()
}

// finish writes the results of the loads whose messages are all final.
func (d *dropDir) finish(ctx context.Context) {
	pend, _ := filepath.Glob(filepath.Join(d.dir, "*", "done", "*.pending"))
	for _, f := range pend {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var p pendingLoad
		if err := json.Unmarshal(b, &p); err != nil {
			d.log.Error("drop folder: unreadable", "file", f, "err", err)
			continue
		}
		sum, err := d.st.LoadSummary(ctx, p.BatchID, p.FirstID, p.LastID)
		if err != nil || !gateway.Done(sum) {
			continue
		}
		results := filepath.Join(filepath.Dir(f), p.Results)
		if err := d.writeResults(ctx, results, p); err != nil {
			d.log.Error("drop folder: results", "file", results, "err", err)
			continue
		}
		os.Remove(f)
		d.log.Info("drop folder: batch done", "results", results)
	}
}

// writeResults writes a load's results CSV (atomically: a temporary file
// renamed).
func (d *dropDir) writeResults(ctx context.Context, path string, p pendingLoad) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := csv.NewWriter(f)
	w.Write([]string{"number", "external_id", "state", "submitted_at", "done_at", "error_code", "reason"})
	after := p.FirstID - 1
	for {
		ts, err := d.st.BatchTransmissions(ctx, p.BatchID, after, 1000)
		if err != nil {
			f.Close()
			return err
		}
		for _, t := range ts {
			if t.ID > p.LastID {
				ts = nil
				break
			}
			after = t.ID
			ext := t.ExternalID
			if strings.HasPrefix(ext, "row:") { // the gateway's key of a row without one
				ext = ""
			}
			w.Write([]string{t.Destination, ext, string(t.State), timeText(t.SubmittedAt), timeText(t.DoneAt),
				strconv.Itoa(t.ErrorCode), t.Reason})
		}
		if len(ts) < 1000 {
			break
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
