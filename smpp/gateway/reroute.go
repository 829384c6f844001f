package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Rerouted says what became of a deleted operator's queued messages.
type Rerouted struct {
	Moved  int // routed to another operator that takes their numbers
	Failed int // no other operator takes their numbers: failed, with the reason
}

// DeleteOperator deletes an operator from the store and reroutes its
// queued messages by the remaining operators' routes, failing (with the
// reason) those no other operator takes, so that none waits forever for
// an operator that is gone. Running gateways stop the operator at their
// next reload, and reroute what its last submits put back in the queue.
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
// store, to the operators that now take their numbers.
func (g *Gateway) reroute(ctx context.Context, op store.Operator) (Rerouted, error) {
	var res Rerouted
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
