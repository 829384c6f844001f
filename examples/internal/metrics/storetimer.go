package metrics

//go:generate go run genstore.go

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboard-go/switchboard/store"
)

// Store wraps st so that every call is timed, by method, in
// switchboard_store_call_duration_seconds (the calls made inside InTx
// too, and whole transactions as "InTx"). Transactions keep telling
// whether they are store.ExclusiveTx. Call it once per Metrics.
func (m *Metrics) Store(st store.Store) store.Store {
	t := &storeTimer{vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_store_call_duration_seconds",
		Help:    "Store calls by method (InTx: whole transactions), and how long they took.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 4, 9)}, []string{"op"})}
	m.reg.MustRegister(t.vec)
	return timedStore{timedOps: timedOps{ops: st, t: t}, st: st}
}

// storeTimer holds one histogram series per method, made on first use
// (a method never called adds no series).
type storeTimer struct {
	vec  *prometheus.HistogramVec
	once [len(storeOps) + 1]sync.Once
	obs  [len(storeOps) + 1]prometheus.Observer
}

// inTx is the series of whole transactions.
const inTx = len(storeOps)

func (t *storeTimer) observe(op int, start time.Time) {
	t.once[op].Do(func() {
		name := "InTx"
		if op < len(storeOps) {
			name = storeOps[op]
		}
		t.obs[op] = t.vec.WithLabelValues(name)
	})
	t.obs[op].Observe(time.Since(start).Seconds())
}

// timedOps times the calls of ops (methods in storetimer_gen.go).
type timedOps struct {
	ops store.Ops
	t   *storeTimer
}

type timedStore struct {
	timedOps
	st store.Store
}

func (s timedStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	defer s.t.observe(inTx, time.Now())
	return s.st.InTx(ctx, func(tx store.Ops) error { return fn(timedTx{timedOps: timedOps{ops: tx, t: s.t}, tx: tx}) })
}

func (s timedStore) Close() error { return s.st.Close() }

// timedTx is a transaction's Ops, timed.
type timedTx struct {
	timedOps
	tx store.Ops
}

// Exclusive passes the transaction's store.ExclusiveTx on.
func (t timedTx) Exclusive() bool {
	x, ok := t.tx.(store.ExclusiveTx)
	return ok && x.Exclusive()
}
