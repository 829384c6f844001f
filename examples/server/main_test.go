package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, buf *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", text, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startServer runs the server with args in the background, logging to logs,
// until ctx ends. The returned stop ends it and fails the test unless run
// returns nil within 30 s.
func startServer(t *testing.T, args []string, logs *syncBuffer) (ctx context.Context, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-http") }) {
		args = append(args[:len(args):len(args)], "-http", "127.0.0.1:0") // not the default port: tests run side by side
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &bytes.Buffer{}, logs) }()
	return ctx, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop")
		}
	}
}

func TestServeCreatesDataDirAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"chat-operator", "-data", dir, "-login", "luis", "-password", "secreto"}, &out, &out); err != nil {
		t.Fatal(err, out.String())
	}
	var logs syncBuffer
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-chat-addr", "127.0.0.1:0"}, &logs)
	waitFor(t, &logs, "store ready")
	waitFor(t, &logs, "sms gateway running")
	waitFor(t, &logs, "chat listening") // the gateway may be running first
	// The built-in SMSC simulator takes a bind and a message.
	m := regexp.MustCompile(`msg="smsc simulator listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no simulator address in logs:\n%s", logs.String())
	}
	c, err := smpp.Dial(ctx, m[1], &smpp.Options{SystemID: "any", Password: "thing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584141234567", ShortMessage: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	chatAddr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if chatAddr == nil {
		t.Fatalf("no chat address in logs:\n%s", logs.String())
	}
	chatRoundTrip(t, ctx, chatAddr[1], dir)
	if _, err := os.Stat(filepath.Join(dir, "switchboard.db")); err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(logs.String(), "stopped") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// TestSignals builds the binary and stops it with SIGTERM and SIGINT.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			var logs syncBuffer
			cmd := exec.Command(bin, "-data", t.TempDir(), "-smsc-sim", "127.0.0.1:0", "-chat-addr", "127.0.0.1:0")
			cmd.Stderr = &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, &logs, "running")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- cmd.Wait() }()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, logs.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("no exit after signal")
			}
			if !strings.Contains(logs.String(), "stopped") {
				t.Fatalf("logs:\n%s", logs.String())
			}
		})
	}
}

func seed(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := store.Queue{Name: "Soporte"}
	must(t, st.CreateQueue(ctx, &q))
	c, err := st.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com"})
	must(t, err)
	now := time.Now().UTC()
	for i := 0; i < 3; i++ {
		tk := store.Ticket{Title: "Falla", QueueID: q.ID, CustomerID: c.ID, CreatedAt: now.Add(-time.Duration(i+1) * time.Hour)}
		must(t, st.CreateTicket(ctx, &tk))
		if i == 0 {
			must(t, st.SetTicketState(ctx, tk.ID, store.TicketClosed, 0, now))
		}
	}
}

func TestTickets(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"tickets", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	sc := bufio.NewScanner(&out)
	n := 0
	for sc.Scan() {
		var tl ticketLine
		if err := json.Unmarshal(sc.Bytes(), &tl); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if tl.Queue != "Soporte" || tl.Customer != "ana@example.com" || !store.ValidTicketNumber(tl.Number) {
			t.Fatalf("line %+v", tl)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d lines, want 3", n)
	}
	out.Reset()
	if err := run(context.Background(), []string{"tickets", "-data", dir, "-state", "closed"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("closed tickets: %q", out.String())
	}
}

func TestStats(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"stats", "-data", dir, "-period", "month"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{"Tickets per month and queue", "Soporte", "resolution", "Open backlog"} {
		if !strings.Contains(got, want) {
			t.Fatalf("stats output lacks %q:\n%s", want, got)
		}
	}
	if err := run(context.Background(), []string{"stats", "-data", dir, "-period", "year"}, &out, &errOut); err == nil {
		t.Fatal("bad period accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"operator", "-data", dir, "-name", "movil", "-port", "2776", "-prefixes", "58414, 58424",
		"-param", "submit_sm.service_type=CMT", "-tps", "50"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if err := run(ctx, []string{"operator", "-data", dir, "-name", "bad", "-param", "submit_sm.nope=1"}, &out, &errOut); err == nil {
		t.Fatal("unknown parameter accepted")
	}
	if err := run(ctx, []string{"operator", "-data", dir, "-name", "movil", "-port", "2777", "-prefixes", "58414", "-disable"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"operators", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "movil") || !strings.Contains(lines[1], "127.0.0.1:2777") ||
		!strings.Contains(lines[1], "false") || strings.Contains(lines[1], "58424") {
		t.Fatalf("operators:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"operator", "-data", dir, "-name", "movil", "-delete"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "operator movil deleted; its queued messages: 0 moved to other operators, 0 failed") {
		t.Fatalf("delete: %q", out.String())
	}
}

// chatRoundTrip talks through the server's chat: a customer, the operator
// created from the command line, a message each way, a close, and the
// transcript file the close leaves.
func chatRoundTrip(t *testing.T, ctx context.Context, addr, dir string) {
	t.Helper()
	// The operator first: a customer who comes when nobody is online
	// leaves a message instead (see TestLeftMessageBecomesATicket).
	assigned := make(chan *chat.Assigned, 1)
	op, err := chat.Dial(ctx, addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "secreto",
		Handler: func(m chat.Message) {
			if a, ok := m.(*chat.Assigned); ok {
				assigned <- a
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	cust, err := chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer cust.Close()
	a := <-assigned
	if _, err := cust.Send(ctx, "hola"); err != nil {
		t.Fatal(err)
	}
	if _, err := op.SendTo(ctx, a.ConversationID, "", "buenas"); err != nil {
		t.Fatal(err)
	}
	if err := op.CloseConversation(ctx, a.ConversationID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "transcripts", "Customer Ana *.txt"))
		if len(files) == 1 {
			b, _ := os.ReadFile(files[0])
			if !strings.Contains(string(b), "Ana: hola") || !strings.Contains(string(b), "luis: buenas") {
				t.Fatalf("transcript:\n%s", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no transcript file after the close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A command written after the server's flags is refused, not ignored
// (which would start the server instead).
func TestCommandAfterFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"-data", dir, "chat-operator", "-login", "luis"},
		{"tickets", "-data", dir, "extra"},
	} {
		var out bytes.Buffer
		err := run(ctx, args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
			t.Fatalf("run %q = %v, want unexpected arguments", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "switchboard.db")); err == nil {
		t.Fatal("the refused command opened the database")
	}
}
