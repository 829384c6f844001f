package console

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// smsUsers may see the SMS pages: an sms account sees its own client's
// batches and messages, an administrator every client's.
func smsUsers(r store.AccountRole) bool { return r == store.RoleSMSClient || r == store.RoleAdmin }

// MaxBatchBytes is the largest CSV file the console takes (the API's
// limit too).
const MaxBatchBytes = 32 << 20

// adminClient receives the batches an administrator loads without naming
// a client (the API's choice too).
const adminClient = "api"

// scope is whose SMS records a session sees: all (an administrator), or
// one client's (clientID 0 while that client has sent nothing).
type scope struct {
	all      bool
	client   string
	clientID int64
}

func (s *Server) smsScope(ctx context.Context) (scope, error) {
	sess := sessionOf(ctx)
	if sess.role == store.RoleAdmin {
		return scope{all: true}, nil
	}
	sc := scope{client: sess.client}
	c, err := s.Store.ClientByName(ctx, sess.client)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sc, nil
	case err != nil:
		return sc, err
	}
	sc.clientID = c.ID
	return sc, nil
}

// sees reports whether the scope covers a record of clientID.
func (sc scope) sees(clientID int64) bool {
	return sc.all || sc.clientID != 0 && sc.clientID == clientID
}

// filter is the client id to filter lists by (0: all).
func (sc scope) filter() int64 {
	if sc.all {
		return 0
	}
	return sc.clientID
}

type batchRow struct {
	store.Batch
	Client string
}

// smsHome shows the upload form, the batches (newest first), the last
// day's messages per hour by state, the status form and the latest
// replies.
func (s *Server) smsHome(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc, err := s.smsScope(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	data := map[string]any{"All": sc.all, "Client": sc.client, "Gateway": s.Gateway != nil, "MaxMB": MaxBatchBytes >> 20}
	var batches []batchRow
	var before int64
	if n, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64); err == nil && n > 0 {
		before = n
	}
	if sc.all || sc.clientID != 0 {
		bs, err := s.Store.Batches(ctx, store.BatchFilter{ClientID: sc.filter(), BeforeID: before, Limit: 20})
		if err != nil {
			s.fail(w, err)
			return
		}
		names := map[int64]string{}
		for _, b := range bs {
			if _, ok := names[b.ClientID]; !ok {
				c, err := s.Store.Client(ctx, b.ClientID)
				if err != nil {
					s.fail(w, err)
					return
				}
				names[b.ClientID] = c.Name
			}
			batches = append(batches, batchRow{Batch: b, Client: names[b.ClientID]})
		}
		if len(bs) == 20 {
			data["Next"] = bs[len(bs)-1].ID
		}
		now := s.now()
		from := now.Truncate(time.Hour).Add(-23 * time.Hour)
		hours, err := s.Store.TransmissionHours(ctx, store.HourQuery{ClientID: sc.filter(), From: from})
		if err != nil {
			s.fail(w, err)
			return
		}
		data["Chart"] = hourChart(hours, from, 24)
		mos, err := s.recentMOs(ctx, sc, 20)
		if err != nil {
			s.fail(w, err)
			return
		}
		data["MOs"] = mos
	}
	data["Batches"] = batches
	s.render(w, r, "sms", http.StatusOK, data)
}

// recentMOs returns the last day's replies the scope sees, newest first,
// at most n.
func (s *Server) recentMOs(ctx context.Context, sc scope, n int) ([]store.MO, error) {
	var all []store.MO
	f := store.MOFilter{Since: s.now().Add(-24 * time.Hour), Limit: 1000}
	for {
		page, err := s.Store.MOs(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			ok := sc.all
			if !ok && m.TransmissionID != 0 {
				t, err := s.Store.Transmission(ctx, m.TransmissionID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				ok = err == nil && sc.sees(t.ClientID)
			}
			if ok {
				all = append(all, m)
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.AfterID = page[len(page)-1].ID
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all, nil
}

// upload loads a CSV file as a batch, with gateway.LoadCSV's rules, and
// shows its report line by line.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if s.Gateway == nil {
		http.Error(w, "the SMS gateway is not running in this server", http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	sc, err := s.smsScope(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	client := sc.client
	if sc.all {
		client = cmp.Or(strings.TrimSpace(r.FormValue("client")), adminClient)
	}
	name := strings.TrimSpace(r.FormValue("name"))
	f, hdr, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "choose a CSV file to upload", http.StatusBadRequest)
		return
	}
	defer f.Close()
	if hdr.Size > MaxBatchBytes {
		http.Error(w, fmt.Sprintf("the file is larger than %d MiB", MaxBatchBytes>>20), http.StatusRequestEntityTooLarge)
		return
	}
	if name == "" {
		name = hdr.Filename // the file's name: uploading it again sends only new rows
	}
	if len(name) > 200 || len(client) > 200 {
		http.Error(w, "a batch's or client's name has at most 200 bytes", http.StatusBadRequest)
		return
	}
	rep, err := s.Gateway.LoadCSV(ctx, gateway.Batch{Client: client, Name: name, CSV: f})
	if errors.Is(err, gateway.ErrBatchTooLarge) {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "loaded", http.StatusOK, map[string]any{"Report": rep, "Name": name, "Client": client,
		"Queued": rep.Inserted - rep.Unroutable, "Delimiter": delimiterName(rep.Delimiter)})
}

func delimiterName(d rune) string {
	switch d {
	case ';':
		return "semicolons"
	case '\t':
		return "tabs"
	}
	return "commas"
}

// visibleBatch reads the batch of the request's {id}, or answers 404 for
// one that does not exist or that the session may not see.
func (s *Server) visibleBatch(w http.ResponseWriter, r *http.Request) (store.BatchSummary, scope, bool) {
	ctx := r.Context()
	sc, err := s.smsScope(ctx)
	if err != nil {
		s.fail(w, err)
		return store.BatchSummary{}, sc, false
	}
	sum, err := s.Store.BatchSummary(ctx, pathID(r, "id"))
	if errors.Is(err, store.ErrNotFound) || err == nil && !sc.sees(sum.Batch.ClientID) {
		http.Error(w, "no such batch", http.StatusNotFound)
		return sum, sc, false
	}
	if err != nil {
		s.fail(w, err)
		return sum, sc, false
	}
	return sum, sc, true
}

// batchPage shows a batch's progress (live with the page's script) and
// its results by state.
func (s *Server) batchPage(w http.ResponseWriter, r *http.Request) {
	sum, _, ok := s.visibleBatch(w, r)
	if !ok {
		return
	}
	p, err := s.batchProgress(r.Context(), sum)
	if err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.Store.Client(r.Context(), sum.Batch.ClientID)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "batch", http.StatusOK, map[string]any{"Batch": sum.Batch, "Client": c.Name, "P": p, "States": resultStates})
}

// resultStates are the states a batch's results are shown in, in order.
var resultStates = []store.TransmissionState{store.TxQueued, store.TxSubmitting, store.TxSent, store.TxDelivered,
	store.TxUndeliverable, store.TxExpired, store.TxRejected, store.TxUnknown, store.TxFailed}

// failedState reports the final states of messages that did not arrive.
func failedState(st store.TransmissionState) bool { return st.Final() && st != store.TxDelivered }

// progress is a batch's progress as the page and its script show it.
type progress struct {
	Total     int            `json:"total"`
	ByState   map[string]int `json:"by_state"`
	Handled   int            `json:"handled"` // sent to the SMSC or ended: no longer waiting in the queue
	Percent   int            `json:"percent"`
	Delivered int            `json:"delivered"`
	Failed    int            `json:"failed"`
	Final     bool           `json:"final"` // every message has its outcome
	// Waiting says why queued messages are not going out ("" when they
	// are, or none is queued).
	Waiting []string `json:"waiting"`
}

func (s *Server) batchProgress(ctx context.Context, sum store.BatchSummary) (progress, error) {
	p := progress{Total: sum.Batch.Total, ByState: map[string]int{}, Final: true, Waiting: []string{}}
	for st, n := range sum.ByState {
		p.ByState[string(st)] = n
		p.Final = p.Final && (n == 0 || st.Final())
		if st != store.TxQueued && st != store.TxSubmitting {
			p.Handled += n
		}
		switch {
		case st == store.TxDelivered:
			p.Delivered += n
		case failedState(st):
			p.Failed += n
		}
	}
	p.Percent = 100
	if p.Total > 0 {
		p.Percent = p.Handled * 100 / p.Total
	}
	if sum.ByState[store.TxQueued] == 0 {
		return p, nil
	}
	var err error
	p.Waiting, err = s.whyWaiting(ctx, sum.Batch.ID, sessionOf(ctx).role == store.RoleAdmin)
	return p, err
}

// whyWaiting explains what a batch's queued messages wait for, per
// operator: no gateway reporting it, its sessions down, retries ahead.
// The sessions' last error (which may name the SMSC) is for
// administrators only.
func (s *Server) whyWaiting(ctx context.Context, batchID int64, admin bool) ([]string, error) {
	groups, err := s.Store.BatchQueue(ctx, batchID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	healths, err := s.Store.OperatorHealths(ctx, now.Add(-10*time.Minute))
	if err != nil {
		return nil, err
	}
	why := []string{}
	for _, g := range groups {
		if g.OperatorID == 0 {
			why = append(why, fmt.Sprintf("%d not routed: no operator takes their numbers", g.Count))
			continue
		}
		op, err := s.Store.Operator(ctx, g.OperatorID)
		if errors.Is(err, store.ErrNotFound) {
			why = append(why, fmt.Sprintf("%d wait for operator %d, which no longer exists", g.Count, g.OperatorID))
			continue
		}
		if err != nil {
			return nil, err
		}
		h, live := liveHealth(healths, op.ID, now)
		switch {
		case !op.Enabled:
			why = append(why, fmt.Sprintf("%d wait for operator %s, which is disabled", g.Count, op.Name))
		case !live:
			why = append(why, fmt.Sprintf("%d wait for operator %s: no gateway is running it (no recent report)", g.Count, op.Name))
		case h.Bound == 0:
			msg := fmt.Sprintf("%d wait for operator %s: not connected to its SMSC", g.Count, op.Name)
			if !h.UnboundSince.IsZero() {
				msg += " since " + h.UnboundSince.Local().Format("15:04:05")
			}
			if h.LastError != "" && admin {
				msg += " (" + h.LastError + ")"
			}
			why = append(why, msg)
		case g.NextAttempt.After(now):
			why = append(why, fmt.Sprintf("%d wait for operator %s to retry them after temporary errors, from %s",
				g.Count, op.Name, g.NextAttempt.Local().Format("15:04:05")))
		}
	}
	return why, nil
}

// liveHealth merges the live reports on an operator (of every process
// running it): bound sessions add up; a report older than three of its
// intervals, or a stopped one, is not live.
func liveHealth(hs []store.OperatorHealth, opID int64, now time.Time) (store.OperatorHealth, bool) {
	var out store.OperatorHealth
	live := false
	for _, h := range hs {
		if h.OperatorID != opID || h.Stopped || now.Sub(h.ReportedAt) > 3*cmp.Or(h.Interval, 10*time.Second) {
			continue
		}
		if !live || h.UnboundSince.Before(out.UnboundSince) {
			out.UnboundSince = h.UnboundSince
		}
		live = true
		out.Bound += h.Bound
		out.Binds += h.Binds
		out.Throughput += h.Throughput
		out.LastError = cmp.Or(out.LastError, h.LastError)
	}
	return out, live
}

// progressJSON answers a batch's progress for the page's script.
func (s *Server) progressJSON(w http.ResponseWriter, r *http.Request) {
	sum, _, ok := s.visibleBatch(w, r)
	if !ok {
		return
	}
	p, err := s.batchProgress(r.Context(), sum)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, p)
}

// failedCSV downloads the batch's messages that did not arrive: the
// client's id, number, text, state, error code and reason, to correct
// and load again.
func (s *Server) failedCSV(w http.ResponseWriter, r *http.Request) {
	sum, _, ok := s.visibleBatch(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="batch-%d-failed.csv"`, sum.Batch.ID))
	cw := csv.NewWriter(w)
	cw.Write([]string{"external_id", "number", "text", "source", "state", "error_code", "reason"})
	var after int64
	for {
		ts, err := s.Store.BatchTransmissions(r.Context(), sum.Batch.ID, after, 1000)
		if err != nil {
			s.logger().Error("console: failed rows", "batch", sum.Batch.ID, "err", err)
			return // the download ends short; the browser reports it
		}
		for _, t := range ts {
			if failedState(t.State) {
				cw.Write([]string{csvSafe(t.ExternalID), csvSafe(t.Destination), csvSafe(t.Text), csvSafe(t.Source),
					string(t.State), strconv.Itoa(t.ErrorCode), csvSafe(t.Reason)})
			}
		}
		if len(ts) < 1000 {
			break
		}
		after = ts[len(ts)-1].ID
	}
	cw.Flush()
}

// csvSafe keeps a field that a spreadsheet would run as a formula (=, +,
// -, @ first) as text.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// numberStatus shows the last message sent to a number and the replies
// from it.
func (s *Server) numberStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc, err := s.smsScope(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	number := strings.TrimSpace(r.URL.Query().Get("number"))
	data := map[string]any{"Number": number}
	if number != "" && len(number) <= 32 {
		var t store.Transmission
		switch {
		case sc.all:
			t, err = s.Store.LastTransmissionTo(ctx, number)
		case sc.clientID != 0:
			t, err = s.Store.LastClientTransmissionTo(ctx, sc.clientID, number)
		default:
			err = store.ErrNotFound
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			s.fail(w, err)
			return
		default:
			data["Last"] = t
			mos, err := s.Store.MOs(ctx, store.MOFilter{From: number, Since: t.CreatedAt, Limit: 50})
			if err != nil {
				s.fail(w, err)
				return
			}
			var mine []store.MO
			for _, m := range mos {
				if m.TransmissionID == t.ID || sc.all {
					mine = append(mine, m)
				}
			}
			data["Replies"] = mine
		}
		data["Looked"] = true
	}
	s.render(w, r, "number", http.StatusOK, data)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
