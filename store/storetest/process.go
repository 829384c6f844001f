package storetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// The multi-process tests re-execute the test binary. A backend's TestMain
// calls ChildMain first; in a child it does the work and exits.
const childEnv = "SWITCHBOARD_STORETEST_CHILD"

// ChildMain runs the child side of the multi-process tests when this
// process is such a child (and then exits); otherwise it returns at once.
// Call it first in TestMain, after importing the backend being tested.
func ChildMain() {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	if err := child(spec); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child parses "MODE ARG START DSN" and prints one line per item it got.
// START (Unix nanoseconds) lines the children up after their start-up, so
// that they really compete.
func child(spec string) error {
	f := strings.SplitN(spec, " ", 4)
	if len(f) != 4 {
		return fmt.Errorf("bad spec %q", spec)
	}
	mode, dsn := f[0], f[3]
	arg, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return err
	}
	start, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	time.Sleep(time.Until(time.Unix(0, start)))
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	switch mode {
	case "claim": // arg: operator id; drain its queue
		for {
			got, err := st.ClaimTransmissions(ctx, arg, 25, time.Time{})
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return nil
			}
			for _, t := range got {
				fmt.Fprintln(w, t.ID)
			}
			time.Sleep(time.Millisecond) // the submits a dispatcher would send
		}
	case "ingest": // arg: queue id; ingest mails 0..processMails-1
		for i := 0; i < processMails; i++ {
			in := mail(fmt.Sprintf("imap/a/INBOX/1/%d", i), fmt.Sprintf("c%d", i))
			in.NewTicket = &store.Ticket{Title: "race", QueueID: arg}
			res, err := st.IngestMail(ctx, in)
			if errors.Is(err, store.ErrDuplicate) {
				continue
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(w, res.Ticket.ID)
			time.Sleep(time.Millisecond) // the mailbox round trip of a poller
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

const processMails = 40

// runChildren starts n children doing mode with arg on dsn, and returns
// the lines they printed, failing the test if any child fails.
func runChildren(t *testing.T, n int, mode string, arg int64, dsn string) []string {
	t.Helper()
	start := time.Now().Add(time.Second).UnixNano()
	spec := fmt.Sprintf("%s %d %d %s", mode, arg, start, dsn)
	var mu sync.Mutex
	var lines []string
	var counts []int
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+spec)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				errs <- fmt.Errorf("child: %v\n%s", err, stderr.String())
				return
			}
			got := strings.Fields(string(out))
			mu.Lock()
			lines = append(lines, got...)
			counts = append(counts, len(got))
			mu.Unlock()
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: items per process %v", mode, counts)
	return lines
}

// RunProcesses checks the store's guarantees across processes: dispatchers
// in several processes never claim one transmission twice, and pollers in
// several processes never ingest one mail twice. dsn opens the database of
// st from another process with store.Open. The backend's TestMain must call
// ChildMain.
func RunProcesses(t *testing.T, st store.Store, dsn string) {
	ctx := context.Background()
	const procs = 3
	t.Run("ClaimNeverTwice", func(t *testing.T) {
		c := store.Client{Name: "procs"}
		must(t, st.CreateClient(ctx, &c))
		op := store.Operator{Name: "procs"}
		must(t, st.CreateOperator(ctx, &op))
		const n = 2000
		_, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, Transmissions("p", op.ID, n))
		must(t, err)
		lines := runChildren(t, procs, "claim", op.ID, dsn)
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l] {
				t.Fatalf("transmission %s claimed by two processes", l)
			}
			seen[l] = true
		}
		eq(t, "claimed across processes", len(seen), n)
	})
	t.Run("IngestNeverTwice", func(t *testing.T) {
		q := store.Queue{Name: "procs"}
		must(t, st.CreateQueue(ctx, &q))
		lines := runChildren(t, procs, "ingest", q.ID, dsn)
		eq(t, "mails ingested across processes", len(lines), processMails)
		tickets, err := st.Tickets(ctx, store.TicketFilter{QueueID: q.ID})
		must(t, err)
		eq(t, "tickets", len(tickets), processMails)
	})
}
