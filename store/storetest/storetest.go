// Package storetest is the conformance suite of store implementations:
// every backend runs the same tests, including the concurrency cases
// (parallel sequence and number allocation never collide, a transmission is
// never claimed twice, a mail is never ingested twice).
//
// A backend's test calls [Run] with a [Harness]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{New: func(t *testing.T) (store.Store, storetest.Reopen) { ... }})
//	}
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Reopen opens a second, independent handle on the same database, with its
// own connections, as a second process would.
type Reopen func(t *testing.T) store.Store

// Harness opens stores for the suite.
type Harness struct {
	// New returns a store on a new, empty database and a way to open it
	// again. The suite closes what it opens.
	New func(t *testing.T) (store.Store, Reopen)
	// Workers is the number of goroutines in concurrency tests; default 8.
	Workers int
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	if h.Workers <= 0 {
		h.Workers = 8
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"chat", chatTests},
		{"sms", smsTests},
		{"tickets", ticketTests},
		{"stats", statsTests},
		{"tx", txTests},
		{"accounts", accountTests},
		{"webhooks", webhookTests},
		{"secrets", secretTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					st, reopen := h.New(t)
					t.Cleanup(func() { st.Close() })
					tc.fn(t, &env{Store: st, reopen: reopen, workers: h.Workers})
				})
			}
		})
	}
}

// RunChat runs the chat tests alone, for implementations of
// store.ChatStore that are not whole stores (an in-memory transcript
// store). newStore returns a new, empty store; the concurrency tests'
// "second handle" is the same store.
func RunChat(t *testing.T, newStore func(t *testing.T) store.ChatStore) {
	for _, tc := range chatTests {
		t.Run(tc.name, func(t *testing.T) {
			st := chatOnly{ChatStore: newStore(t)}
			tc.fn(t, &env{Store: st, reopen: func(*testing.T) store.Store { return st }, workers: 8})
		})
	}
}

// chatOnly is a store.Store with only its chat methods; the chat tests
// call nothing else.
type chatOnly struct {
	store.ChatStore
	store.SMSStore
	store.TicketStore
	store.AccountStore
	store.WebhookStore
	store.SecretStore
}

func (chatOnly) InTx(context.Context, func(store.Ops) error) error {
	return errors.New("storetest: no transactions in a chat-only store")
}

func (chatOnly) Close() error { return nil }

type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// env is what a test gets: a fresh store and helpers.
type env struct {
	store.Store
	reopen  Reopen
	workers int
}

func (e *env) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// second opens another handle on the same database, closed at cleanup.
func (e *env) second(t *testing.T) store.Store {
	s := e.reopen(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// at is a fixed instant, microsecond-precise, for deterministic records.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// parallel runs fn(i) for i in [0, n) on n goroutines and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			<-start
			errs <- fn(i)
		}()
	}
	close(start)
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
