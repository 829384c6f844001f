package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

type operatorRow struct {
	store.Operator
	Live    bool
	Health  store.OperatorHealth
	Counts  map[store.TransmissionState]int
	Created int
	Prefix  string // the prefixes as the form edits them
}

// operators shows every SMS operator with its health (from the gateways'
// reports) and the last day's messages by state. An administrator sees
// and edits its routing and limits; an sms account sees names, health
// and counts only.
func (s *Server) operators(w http.ResponseWriter, r *http.Request) {
	s.operatorsPage(w, r, http.StatusOK, "")
}

func (s *Server) operatorsPage(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx := r.Context()
	ops, err := s.Store.Operators(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	now := s.now()
	healths, err := s.Store.OperatorHealths(ctx, now.Add(-10*time.Minute))
	if err != nil {
		s.fail(w, err)
		return
	}
	counts, err := s.Store.OperatorCounts(ctx, now.Add(-24*time.Hour))
	if err != nil {
		s.fail(w, err)
		return
	}
	byOp := map[int64]store.OperatorCount{}
	for _, c := range counts {
		byOp[c.OperatorID] = c
	}
	rows := make([]operatorRow, 0, len(ops))
	for _, o := range ops {
		h, live := liveHealth(healths, o.ID, now)
		row := operatorRow{Operator: o, Live: live, Health: h, Counts: byOp[o.ID].ByState, Prefix: strings.Join(o.Prefixes, " ")}
		for _, n := range row.Counts {
			row.Created += n
		}
		rows = append(rows, row)
	}
	s.render(w, r, "operators", status, map[string]any{"Operators": rows, "Problem": problem,
		"Saved": r.URL.Query().Get("saved"), "States": resultStates})
}

// saveOperator changes an operator's routing and limits from the
// operators page (an administrator's): enabled, priority, weight, TPS,
// binds, window and prefixes. The gateway reloads it at once.
func (s *Server) saveOperator(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := s.Store.Operator(ctx, pathID(r, "id"))
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such operator", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	bad := func(msg string) { s.operatorsPage(w, r, http.StatusBadRequest, o.Name+": "+msg) }
	num := func(field string, lo, hi int) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(field)))
		if err != nil || n < lo || n > hi {
			bad(field + ": want a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
			return 0, false
		}
		return n, true
	}
	var ok bool
	if o.Priority, ok = num("priority", 0, 1000); !ok {
		return
	}
	if o.Weight, ok = num("weight", 0, 1000); !ok {
		return
	}
	if o.TPS, ok = num("tps", 0, 100000); !ok {
		return
	}
	if o.Kind != store.KindModem { // a modem has neither binds nor a window
		if o.Binds, ok = num("binds", 0, 64); !ok {
			return
		}
		if o.WindowSize, ok = num("window", 0, 10000); !ok {
			return
		}
	}
	o.Enabled = r.PostFormValue("enabled") == "on"
	var prefixes []string
	for _, p := range strings.Fields(strings.ReplaceAll(r.PostFormValue("prefixes"), ",", " ")) {
		p = strings.TrimPrefix(p, "+")
		if p == "" || len(p) > 15 || strings.Trim(p, "0123456789") != "" {
			bad("prefixes: digits only, separated by spaces (" + p + ")")
			return
		}
		prefixes = append(prefixes, p)
	}
	o.Prefixes = prefixes
	if err := s.Store.UpdateOperator(ctx, &o); err != nil {
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrDuplicate) {
			bad(err.Error())
			return
		}
		s.fail(w, err)
		return
	}
	if s.Gateway != nil {
		s.Gateway.Reload()
	}
	http.Redirect(w, r, s.path("/sms/operators?saved="+strconv.FormatInt(o.ID, 10)), http.StatusSeeOther)
}
