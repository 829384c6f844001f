package gateway

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/store"
)

// ErrNoRoute is returned (wrapped) for a number no operator takes.
var ErrNoRoute = errors.New("gateway: no route")

// Router picks an operator by the longest destination prefix, else the
// default operator. Only enabled operators that can transmit route. A
// Router is immutable: the gateway builds a new one on every reload.
type Router struct {
	byPrefix map[string]*store.Operator
	longest  int
	def      *store.Operator
}

// NewRouter builds a router over ops.
func NewRouter(ops []store.Operator) *Router {
	r := &Router{byPrefix: map[string]*store.Operator{}}
	for i := range ops {
		o := &ops[i]
		if !o.Enabled || o.BindMode == store.BindReceiver {
			continue
		}
		for _, p := range o.Prefixes {
			r.byPrefix[p] = o
			r.longest = max(r.longest, len(p))
		}
		if o.Default {
			r.def = o
		}
	}
	return r
}

// Route returns the operator for a normalized number.
func (r *Router) Route(number string) (*store.Operator, error) {
	for n := min(len(number), r.longest); n > 0; n-- {
		if o, ok := r.byPrefix[number[:n]]; ok {
			return o, nil
		}
	}
	if r.def != nil {
		return r.def, nil
	}
	return nil, fmt.Errorf("%w for %s", ErrNoRoute, number)
}
