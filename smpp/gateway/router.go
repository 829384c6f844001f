package gateway

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/switchboard-go/switchboard/store"
)

// ErrNoRoute is returned (wrapped) for a number no operator takes.
var ErrNoRoute = errors.New("gateway: no route")

// Router picks an operator by the longest destination prefix, else the
// default operator. Several operators may take a prefix: the lowest
// Priority is preferred, and among operators of equal priority the
// messages are shared by Weight, in turn (smooth weighted round robin:
// of every total-weight messages, each operator gets exactly its weight,
// interleaved), so that a pool of equal modems gets equal shares. Only
// enabled operators that can transmit route. A Router's routes are
// fixed (the gateway builds a new one on every reload); it is safe for
// concurrent use.
type Router struct {
	byPrefix map[string]*route
	longest  int
	def      *route
}

// route is the operators that take a prefix, by priority then id, and
// the state of their turns.
type route struct {
	ops []*store.Operator
	mu  sync.Mutex
	cur map[int64]int // smooth weighted round robin: each operator's current weight
}

// NewRouter builds a router over ops.
func NewRouter(ops []store.Operator) *Router {
	r := &Router{byPrefix: map[string]*route{}}
	for i := range ops {
		o := &ops[i]
		if !o.Enabled || o.BindMode == store.BindReceiver {
			continue
		}
		for _, p := range o.Prefixes {
			rt := r.byPrefix[p]
			if rt == nil {
				rt = &route{cur: map[int64]int{}}
				r.byPrefix[p] = rt
			}
			rt.ops = append(rt.ops, o)
			r.longest = max(r.longest, len(p))
		}
		if o.Default {
			r.def = &route{ops: []*store.Operator{o}, cur: map[int64]int{}}
		}
	}
	for _, rt := range r.byPrefix {
		slices.SortFunc(rt.ops, func(a, b *store.Operator) int {
			if a.Priority != b.Priority {
				return a.Priority - b.Priority
			}
			return int(a.ID - b.ID)
		})
	}
	return r
}

// Route returns the operator for a normalized number, ignoring health.
func (r *Router) Route(number string) (*store.Operator, error) {
	return r.RouteHealthy(number, nil)
}

// Candidates are the operators that take a normalized number, by
// priority: the longest matching prefix's operators, else the default.
func (r *Router) Candidates(number string) []*store.Operator {
	if rt := r.route(number); rt != nil {
		return rt.ops
	}
	return nil
}

func (r *Router) route(number string) *route {
	for n := min(len(number), r.longest); n > 0; n-- {
		if rt, ok := r.byPrefix[number[:n]]; ok {
			return rt
		}
	}
	return r.def
}

// RouteHealthy returns the operator for a normalized number: among the
// candidates of the best priority that has a healthy one (healthy nil:
// all are), the one whose turn it is by weight; when none is healthy,
// the best priority's (its messages wait for it, or for failover).
func (r *Router) RouteHealthy(number string, healthy func(id int64) bool) (*store.Operator, error) {
	rt := r.route(number)
	if rt == nil {
		return nil, fmt.Errorf("%w for %s", ErrNoRoute, number)
	}
	cands := rt.ops
	ok := func(o *store.Operator) bool { return healthy == nil || healthy(o.ID) }
	for i := 0; i < len(cands); {
		j := i
		for j < len(cands) && cands[j].Priority == cands[i].Priority {
			j++
		}
		if o := rt.next(cands[i:j], ok); o != nil {
			return o, nil
		}
		i = j
	}
	return cands[0], nil
}

// next is the operator whose turn it is among those that pass ok, by
// smooth weighted round robin (as nginx shares upstreams: each one's
// current weight grows by its weight, the largest is chosen and loses
// the total), or nil when none passes.
func (rt *route) next(os []*store.Operator, ok func(*store.Operator) bool) *store.Operator {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var best *store.Operator
	total := 0
	for _, o := range os {
		if !ok(o) {
			continue
		}
		w := max(o.Weight, 1)
		total += w
		rt.cur[o.ID] += w
		if best == nil || rt.cur[o.ID] > rt.cur[best.ID] {
			best = o
		}
	}
	if best != nil {
		rt.cur[best.ID] -= total
	}
	return best
}
