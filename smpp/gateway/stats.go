package gateway

import (
	"cmp"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Counters are one operator's counts in this process since its start.
type Counters struct {
	Accepted           uint64 // transmissions the SMSC accepted (all parts)
	Failed             uint64 // failed for good (refused, or out of attempts)
	Retried            uint64 // put back in the queue after a temporary error
	Uncertain          uint64 // attempts whose outcome is unknown (no answer before the session ended or the submit timeout)
	PossibleDuplicates uint64 // attempts that followed an uncertain one or a stale claim
	Late               uint64 // submits accepted after their response timeout: the late answer was used, nothing sent again
	Unknown            uint64 // ended unknown instead of sent again: at-most-once, or a long message with parts accepted and one that may have reached
	PartRetries        uint64 // tries again of a later part of a long message (throttled, or its session lost before sending it)
	Queries            uint64 // query_sm sent about messages without a receipt
	QueriedFinal       uint64 // final states learned by query_sm
	NoReceipt          uint64 // messages ended unknown: no state learned within the validity period
	FailedOver         uint64 // queued messages moved to another operator while this one was unbound
	Receipts           uint64 // final receipts taken
	MO                 uint64 // replies taken
}

type opStats struct {
	acceptedN, failed, retried, uncertain, possibleDuplicates, late, unknown, receipts, mo atomic.Uint64
	queries, queriedFinal, noReceipt, failedOver, partRetries                              atomic.Uint64

	mu      sync.Mutex
	buckets [throughputWindow]struct {
		sec int64
		n   uint64
	}
}

const throughputWindow = 10 // seconds

func (s *opStats) accepted(now time.Time) {
	s.acceptedN.Add(1)
	sec := now.Unix()
	s.mu.Lock()
	b := &s.buckets[sec%throughputWindow]
	if b.sec != sec {
		b.sec, b.n = sec, 0
	}
	b.n++
	s.mu.Unlock()
}

// throughput is accepted transmissions per second over the last full
// seconds of the window.
func (s *opStats) throughput(now time.Time) float64 {
	sec := now.Unix()
	var n uint64
	s.mu.Lock()
	for _, b := range s.buckets {
		if b.sec < sec && b.sec >= sec-throughputWindow+1 {
			n += b.n
		}
	}
	s.mu.Unlock()
	return float64(n) / (throughputWindow - 1)
}

func (s *opStats) counters() Counters {
	return Counters{Accepted: s.acceptedN.Load(), Failed: s.failed.Load(), Retried: s.retried.Load(),
		Uncertain: s.uncertain.Load(), PossibleDuplicates: s.possibleDuplicates.Load(),
		Late: s.late.Load(), Unknown: s.unknown.Load(), PartRetries: s.partRetries.Load(),
		Queries: s.queries.Load(), QueriedFinal: s.queriedFinal.Load(), NoReceipt: s.noReceipt.Load(),
		FailedOver: s.failedOver.Load(),
		Receipts:   s.receipts.Load(), MO: s.mo.Load()}
}

// OperatorStatus is an operator's state: configuration, what the store
// counts for it, and, when this process runs it, its sessions and
// counters.
type OperatorStatus struct {
	ID      int64
	Name    string
	Enabled bool
	// Store counts transmissions created since the time asked, by state
	// (all gateway processes).
	Store store.OperatorCount
	// Running is true when this process runs the operator; then Bound
	// is its bound sessions, Process its counters, and Throughput the
	// transmissions accepted per second over the last 10 seconds.
	Running    bool
	Bound      int
	Binds      int
	Process    Counters
	Throughput float64
	// Reports are the health reports of every gateway process running
	// the operator (this one's too), each made within three of its
	// writer's report intervals, and the last (Stopped) reports of those
	// that stopped running it within as long: what a process that does
	// not run it (a command line, a console) can show.
	Reports []store.OperatorHealth
}

// maxHealthAge bounds the age of health reports read: three intervals
// of a writer reporting every 20 minutes.
const maxHealthAge = time.Hour

// Operators reports every operator, with store counts since since.
func (g *Gateway) Operators(ctx context.Context, since time.Time) ([]OperatorStatus, error) {
	ops, err := g.st.Operators(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := g.st.OperatorCounts(ctx, since)
	if err != nil {
		return nil, err
	}
	byOp := map[int64]store.OperatorCount{}
	for _, c := range counts {
		byOp[c.OperatorID] = c
	}
	now := time.Now()
	healths, err := g.st.OperatorHealths(ctx, now.Add(-maxHealthAge))
	if err != nil {
		return nil, err
	}
	reports := map[int64][]store.OperatorHealth{}
	for _, h := range healths {
		// Fresh by the pace of its writer (this gateway's for a report
		// that does not say).
		every := cmp.Or(h.Interval, g.cfg.HealthReportInterval)
		if now.Sub(h.ReportedAt) <= 3*every {
			reports[h.OperatorID] = append(reports[h.OperatorID], h)
		}
	}
	out := make([]OperatorStatus, 0, len(ops))
	for _, op := range ops {
		s := OperatorStatus{ID: op.ID, Name: op.Name, Enabled: op.Enabled, Store: byOp[op.ID], Binds: max(op.Binds, 1),
			Reports: reports[op.ID]}
		if s.Store.ByState == nil {
			s.Store = store.OperatorCount{OperatorID: op.ID, ByState: map[store.TransmissionState]int{}}
		}
		g.mu.Lock()
		r := g.runners[op.ID]
		g.mu.Unlock()
		if r != nil {
			s.Running, s.Bound, s.Process, s.Throughput = true, r.link.up(), r.stats.counters(), r.stats.throughput(now)
		}
		out = append(out, s)
	}
	return out, nil
}

// Status returns the last transmission to number (normalized first):
// the seed's "did my message arrive" question. store.ErrNotFound when
// none was sent.
func (g *Gateway) Status(ctx context.Context, number string) (store.Transmission, error) {
	n, err := g.cfg.Numbering.Normalize(number)
	if err != nil {
		return store.Transmission{}, err
	}
	return g.st.LastTransmissionTo(ctx, n)
}

// Progress counts a batch's transmissions by state.
func (g *Gateway) Progress(ctx context.Context, batchID int64) (store.BatchSummary, error) {
	return g.st.BatchSummary(ctx, batchID)
}

// Done reports whether every transmission of a summary is final.
func Done(s store.BatchSummary) bool {
	for st, n := range s.ByState {
		if n > 0 && !st.Final() {
			return false
		}
	}
	return true
}

// WaitBatch polls a batch's progress every interval until every
// transmission is final or ctx ends; progress, when set, sees each poll.
// When ctx ends it returns the last summary it read, with ctx's error.
// Without progress it polls with store.LoadPending, which stops at the
// first message not final instead of counting them all, and reads the
// summary once at the end.
func (g *Gateway) WaitBatch(ctx context.Context, batchID int64, interval time.Duration, progress func(store.BatchSummary)) (store.BatchSummary, error) {
	return g.wait(ctx, interval, progress, func(ctx context.Context) (store.BatchSummary, error) {
		return g.st.BatchSummary(ctx, batchID)
	}, func(ctx context.Context) (bool, error) {
		return g.st.LoadPending(ctx, batchID, 0, 0)
	})
}

// WaitLoad is WaitBatch for the transmissions one LoadCSV inserted: a
// batch loaded again under its name is followed for what this load
// added, not what earlier loads sent. A load that inserted nothing is
// done at once.
func (g *Gateway) WaitLoad(ctx context.Context, rep LoadReport, interval time.Duration, progress func(store.BatchSummary)) (store.BatchSummary, error) {
	from, to := rep.FirstID, rep.LastID
	if from == 0 {
		from, to = -1, -1 // no transmission (0, 0 would be the whole batch)
	}
	return g.wait(ctx, interval, progress, func(ctx context.Context) (store.BatchSummary, error) {
		return g.st.LoadSummary(ctx, rep.BatchID, from, to)
	}, func(ctx context.Context) (bool, error) {
		return g.st.LoadPending(ctx, rep.BatchID, from, to)
	})
}

func (g *Gateway) wait(ctx context.Context, interval time.Duration, progress func(store.BatchSummary),
	read func(context.Context) (store.BatchSummary, error), pending func(context.Context) (bool, error)) (store.BatchSummary, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last store.BatchSummary
	// ended returns, once ctx has ended, the counts as they are then.
	ended := func() (store.BatchSummary, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
		defer cancel()
		if s, err := read(rctx); err == nil {
			last = s
		}
		return last, ctx.Err()
	}
	for {
		if progress == nil {
			// Count only once nothing is pending (or the check failed:
			// the summary says why).
			if p, err := pending(ctx); err == nil && p {
				select {
				case <-t.C:
					continue
				case <-ctx.Done():
					return ended()
				}
			}
		}
		if ctx.Err() != nil {
			return ended()
		}
		s, err := read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ended()
			}
			return s, err
		}
		last = s
		if progress != nil {
			progress(s)
		}
		if Done(s) {
			return s, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}
