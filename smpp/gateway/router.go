package gateway

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/switchboard-go/switchboard/store"
)

// ErrNoRoute is returned (wrapped) for a number no operator takes.
var ErrNoRoute = errors.New("gateway: no route")

// Router picks an operator by the longest destination prefix, else the
// default operator. Several operators may take a prefix: the lowest
// Priority is preferred, and among operators of equal priority the
// messages are shared by Weight. Only enabled operators that can transmit
// route. A Router is immutable: the gateway builds a new one on every
// reload.
type Router struct {
	byPrefix map[string][]*store.Operator // by priority, then id
	longest  int
	def      *store.Operator
}

// NewRouter builds a router over ops.
func NewRouter(ops []store.Operator) *Router {
	r := &Router{byPrefix: map[string][]*store.Operator{}}
	for i := range ops {
		o := &ops[i]
		if !o.Enabled || o.BindMode == store.BindReceiver {
			continue
		}
		for _, p := range o.Prefixes {
			r.byPrefix[p] = append(r.byPrefix[p], o)
			r.longest = max(r.longest, len(p))
		}
		if o.Default {
			r.def = o
		}
	}
	for _, os := range r.byPrefix {
		slices.SortFunc(os, func(a, b *store.Operator) int {
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
	for n := min(len(number), r.longest); n > 0; n-- {
		if os, ok := r.byPrefix[number[:n]]; ok {
			return os
		}
	}
	if r.def != nil {
		return []*store.Operator{r.def}
	}
	return nil
}

// RouteHealthy returns the operator for a normalized number: among the
// candidates of the best priority that has a healthy one (healthy nil:
// all are), one drawn by weight; when none is healthy, the best priority's
// (its messages wait for it, or for failover).
func (r *Router) RouteHealthy(number string, healthy func(id int64) bool) (*store.Operator, error) {
	cands := r.Candidates(number)
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w for %s", ErrNoRoute, number)
	}
	ok := func(o *store.Operator) bool { return healthy == nil || healthy(o.ID) }
	for i := 0; i < len(cands); {
		j := i
		for j < len(cands) && cands[j].Priority == cands[i].Priority {
			j++
		}
		if o := pickByWeight(cands[i:j], ok); o != nil {
			return o, nil
		}
		i = j
	}
	return pickByWeight(cands[:1], nil), nil
}

// pickByWeight draws one of the operators that pass ok (nil: all), in
// proportion to their weights (0 counts as 1), or returns nil.
func pickByWeight(os []*store.Operator, ok func(*store.Operator) bool) *store.Operator {
	total := 0
	for _, o := range os {
		if ok == nil || ok(o) {
			total += max(o.Weight, 1)
		}
	}
	if total == 0 {
		return nil
	}
	n := rand.IntN(total)
	for _, o := range os {
		if ok != nil && !ok(o) {
			continue
		}
		if n -= max(o.Weight, 1); n < 0 {
			return o
		}
	}
	return nil
}
