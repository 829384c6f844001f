package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// healthCheck is how often the gateway checks its operators' binds.
const healthCheck = 250 * time.Millisecond

// healthFunc is the routers' view of health, taken once for a batch of
// routing decisions: whether this gateway runs an operator with one of
// its binds bound. It is nil (every operator counts as healthy) when this
// gateway is not running operators, as in a process that only loads
// batches for a server to send.
func (g *Gateway) healthFunc() func(id int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.runCtx == nil || g.runCtx.Err() != nil {
		return nil
	}
	bound := make(map[int64]bool, len(g.runners))
	for id, r := range g.runners {
		bound[id] = r.link.up() > 0
	}
	return func(id int64) bool { return bound[id] }
}

// checkHealth checks the operators' binds and moves the queued messages
// of one unbound for longer than FailoverAfter to the next healthy
// operator that takes their numbers.
func (g *Gateway) checkHealth(ctx context.Context) {
	g.mu.Lock()
	rs := make([]*runner, 0, len(g.runners))
	for _, r := range g.runners {
		rs = append(rs, r)
	}
	g.mu.Unlock()
	now := time.Now()
	for _, r := range rs {
		if !r.link.sends() {
			continue // routes nothing
		}
		if r.link.up() > 0 {
			r.unboundSince.Store(0)
			continue
		}
		since := r.unboundSince.Load()
		if since == 0 {
			r.unboundSince.Store(now.UnixNano())
			continue
		}
		if now.Sub(time.Unix(0, since)) >= g.cfg.FailoverAfter {
			if err := g.failover(ctx, r); err != nil && ctx.Err() == nil {
				g.cfg.Logger.Error("failover", "operator", r.p.op.Name, "err", err)
			}
		}
	}
}

// failover moves r's queued messages to healthy operators that take their
// numbers; those no other healthy operator takes stay.
func (g *Gateway) failover(ctx context.Context, r *runner) error {
	router, err := g.router(ctx)
	if err != nil {
		return err
	}
	healthy := g.healthFunc()
	if healthy == nil {
		return nil // stopping
	}
	moved := 0
	defer func() {
		if moved > 0 {
			g.cfg.Logger.Warn("failover: queued messages moved off an unbound operator", "operator", r.p.op.Name, "moved", moved)
			g.kick()
		}
	}()
	var after int64
	for {
		ts, err := g.st.QueuedTransmissions(ctx, r.p.op.ID, after, 500)
		if err != nil || len(ts) == 0 {
			return err
		}
		for _, t := range ts {
			after = t.ID
			var to *store.Operator
			for _, o := range router.Candidates(t.Destination) {
				if o.ID != r.p.op.ID && healthy(o.ID) {
					to = o
					break
				}
			}
			if to == nil {
				continue
			}
			switch err := g.st.RouteTransmission(ctx, t.ID, to.ID); {
			case err == nil:
				moved++
				r.stats.failedOver.Add(1)
			case !errors.Is(err, store.ErrConflict):
				return err
			}
		}
	}
}

// reportHealth writes each running operator's health to the store.
func (g *Gateway) reportHealth(ctx context.Context) {
	g.mu.Lock()
	rs := make([]*runner, 0, len(g.runners))
	for _, r := range g.runners {
		rs = append(rs, r)
	}
	g.mu.Unlock()
	g.writeHealth(ctx, rs, false)
}

// writeHealth writes rs's health reports in one transaction, marked
// Stopped for runners that stopped on purpose. Writes are serialized; once
// the gateway's last reports are written (Run ending), later periodic
// ones are dropped so they cannot overwrite them.
func (g *Gateway) writeHealth(ctx context.Context, rs []*runner, stopped bool) {
	if len(rs) == 0 {
		return
	}
	g.healthMu.Lock()
	defer g.healthMu.Unlock()
	if g.healthDone {
		return
	}
	now := time.Now()
	hs := make([]store.OperatorHealth, 0, len(rs))
	for _, r := range rs {
		h := store.OperatorHealth{OperatorID: r.p.op.ID, Process: g.process, Bound: r.link.up(), Binds: max(r.p.op.Binds, 1),
			Throughput: r.stats.throughput(now), ReportedAt: now, Interval: g.cfg.HealthReportInterval, Stopped: stopped}
		if stopped {
			h.Bound, h.Throughput = 0, 0
		}
		if since := r.unboundSince.Load(); since != 0 && h.Bound == 0 && !stopped {
			h.UnboundSince = time.Unix(0, since)
		}
		if e := r.lastErr.Load(); e != nil {
			h.LastError = *e
		}
		hs = append(hs, h)
	}
	err := g.st.InTx(ctx, func(tx store.Ops) error {
		for _, h := range hs {
			// A report for an operator deleted meanwhile is dropped.
			if err := tx.ReportOperatorHealth(ctx, h); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		g.cfg.Logger.Warn("reporting operator health", "err", err)
	}
}

// writeLastHealth writes the Stopped reports of runners that stopped,
// under a context of its own: the run's has ended. final marks the
// gateway's own end, after which no report is written.
func (g *Gateway) writeLastHealth(rs []*runner, final bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.writeHealth(ctx, rs, true)
	if final {
		g.healthMu.Lock()
		g.healthDone = true
		g.healthMu.Unlock()
	}
}
