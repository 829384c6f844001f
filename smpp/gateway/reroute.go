package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Rerouted says what became of a deleted operator's messages in flight.
type Rerouted struct {
	Moved  int // queued, routed to another operator that takes their numbers
	Failed int // queued, no other operator takes their numbers: failed, with the reason
	Ended  int // sent, waiting for a receipt that can no longer come: ended unknown
}

// DeleteOperator deletes an operator from the store and reroutes its
// queued messages by the remaining operators' routes, failing (with the
// reason) those no other operator takes, so that none waits forever for
// an operator that is gone. Running gateways stop the operator at their
// next reload, and reroute what its last submits put back in the queue;
// a running gateway may also reroute some at the same moment, so the
// counts returned are what this call did.
func (g *Gateway) DeleteOperator(ctx context.Context, id int64) (Rerouted, error) {
	op, err := g.st.Operator(ctx, id)
	if err != nil {
		return Rerouted{}, err
	}
	if err := g.st.DeleteOperator(ctx, id); err != nil {
		return Rerouted{}, err
	}
	return g.reroute(ctx, op)
}

// reroute moves the queued messages of op, which is no longer in the
// store, to the operators that now take their numbers, and ends its sent
// messages, whose receipts can no longer come, as unknown.
func (g *Gateway) reroute(ctx context.Context, op store.Operator) (Rerouted, error) {
	var res Rerouted
	if err := g.endSent(ctx, op, &res); err != nil {
		return res, err
	}
	ops, err := g.st.Operators(ctx)
	if err != nil {
		return res, err
	}
	router := NewRouter(ops)
	reason := fmt.Sprintf("operator %s was deleted and no other operator takes this number", op.Name)
	var after int64
	for {
		ts, err := g.st.QueuedTransmissions(ctx, op.ID, after, 500)
		if err != nil || len(ts) == 0 {
			return res, err
		}
		for _, t := range ts {
			after = t.ID
			if to, err := router.Route(t.Destination); err == nil {
				err = g.st.RouteTransmission(ctx, t.ID, to.ID)
				if err == nil {
					res.Moved++
				} else if !errors.Is(err, store.ErrConflict) {
					return res, err
				}
				continue
			}
			err := g.st.FailTransmission(ctx, t.ID, 0, reason, time.Now())
			if err == nil {
				res.Failed++
			} else if !errors.Is(err, store.ErrConflict) {
				return res, err
			}
		}
	}
}

// endSent ends the sent messages of a deleted operator as unknown.
func (g *Gateway) endSent(ctx context.Context, op store.Operator, res *Rerouted) error {
	reason := fmt.Sprintf("operator %s was deleted before its receipt came", op.Name)
	var after int64
	for {
		segs, err := g.st.UnsettledSegments(ctx, op.ID, time.Now().Add(time.Hour), after, 500)
		if err != nil || len(segs) == 0 {
			return err
		}
		for _, sg := range segs {
			if sg.TransmissionID == after {
				continue // its other segments
			}
			after = sg.TransmissionID
			switch err := g.st.EndTransmission(ctx, sg.TransmissionID, store.TxUnknown, 0, reason, time.Now()); {
			case err == nil:
				res.Ended++
			case !errors.Is(err, store.ErrConflict):
				return err
			}
		}
	}
}

// sweepOrphans deals with the messages of operators deleted while no
// gateway ran them, or put back in the queue after the deletion (a dead
// process's stale claims): queued ones go elsewhere, sent ones end.
func (g *Gateway) sweepOrphans(ctx context.Context) {
	ids, err := g.st.OrphanedOperators(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.cfg.Logger.Error("looking for a deleted operator's messages", "err", err)
		}
		return
	}
	for _, id := range ids {
		g.mu.Lock()
		_, running := g.runners[id]
		g.mu.Unlock()
		if running {
			continue // the reload that stops it reroutes
		}
		op := store.Operator{ID: id, Name: fmt.Sprintf("#%d", id)}
		res, err := g.reroute(ctx, op)
		if err != nil {
			if ctx.Err() == nil {
				g.cfg.Logger.Error("rerouting a deleted operator's messages", "operator", op.Name, "err", err)
			}
			continue
		}
		g.cfg.Logger.Warn("a deleted operator's messages rerouted", "operator", op.Name,
			"moved", res.Moved, "failed", res.Failed, "ended", res.Ended)
	}
}
