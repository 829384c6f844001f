package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

type rowErrorJSON struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// loadBatch loads a CSV body as a client's batch (see gateway.Batch: a
// named batch loaded again sends only its new or changed rows).
func (s *Server) loadBatch(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	g, err := s.gateway()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	client, err := clientFor(callerOf(r.Context()), q.Get("client"))
	if err != nil {
		return err
	}
	name := q.Get("name")
	if len(name) > 200 {
		return badField("name", "name: at most 200 bytes")
	}
	limit := cmp.Or(s.MaxBatchBytes, MaxBatchBody)
	rep, err := g.LoadCSV(r.Context(), gateway.Batch{Client: client, Name: name, CSV: http.MaxBytesReader(w, r.Body, limit)})
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("batch larger than %d bytes", limit)}
	case errors.Is(err, gateway.ErrBatchTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: err.Error()}
	}
	if err != nil {
		return err
	}
	rejected := make([]rowErrorJSON, 0, len(rep.Errors))
	for _, e := range rep.Errors {
		rejected = append(rejected, rowErrorJSON{Line: e.Line, Reason: e.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch_id": rep.BatchID, "client": client, "rows": rep.Rows,
		"queued": rep.Inserted - rep.Unroutable, "unroutable": rep.Unroutable, "already_loaded": rep.Duplicates,
		"rejected_count": rep.Rejected, "rejected": rejected})
	return nil
}

type batchJSON struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name,omitempty"`
	Total     int            `json:"total"`
	CreatedAt time.Time      `json:"created_at"`
	ByState   map[string]int `json:"by_state"`
	Final     bool           `json:"final"` // every message has its outcome
}

// getBatch counts a batch's messages by state.
func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sum, err := s.Store.BatchSummary(r.Context(), id)
	if err != nil {
		return err
	}
	if ok, err := s.visible(r.Context(), callerOf(r.Context()), sum.Batch.ClientID); err != nil || !ok {
		return cmpErr(err, notFound("not found"))
	}
	out := batchJSON{ID: sum.Batch.ID, Name: sum.Batch.Name, Total: sum.Batch.Total, CreatedAt: sum.Batch.CreatedAt,
		ByState: map[string]int{}, Final: true}
	for st, n := range sum.ByState {
		out.ByState[string(st)] = n
		out.Final = out.Final && (n == 0 || st.Final())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type moJSON struct {
	ID             int64     `json:"id"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	Text           string    `json:"text"`
	ReceivedAt     time.Time `json:"received_at"`
	TransmissionID int64     `json:"reply_to,omitempty"` // the last message sent to From
}

// listMO lists received messages by id, from "since" on. A token of one
// client sees only the replies to its own messages.
func (s *Server) listMO(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	since, err := timeParam(r, "since")
	if err != nil {
		return err
	}
	ctx := r.Context()
	mos, err := s.Store.MOs(ctx, store.MOFilter{AfterID: p.after, Since: since, Limit: p.limit})
	if err != nil {
		return err
	}
	c := callerOf(ctx)
	items := make([]moJSON, 0, len(mos))
	var last int64
	for _, m := range mos {
		last = m.ID
		if c.client != "" {
			if m.TransmissionID == 0 {
				continue
			}
			t, err := s.Store.Transmission(ctx, m.TransmissionID)
			if err != nil {
				return err
			}
			if ok, err := s.visible(ctx, c, t.ClientID); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
		}
		items = append(items, moJSON{ID: m.ID, From: m.From, To: m.To, Text: m.Text, ReceivedAt: m.ReceivedAt, TransmissionID: m.TransmissionID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": p.next(len(mos), last)})
	return nil
}
