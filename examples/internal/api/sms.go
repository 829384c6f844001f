package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// smsJSON is a message as the API shows it.
type smsJSON struct {
	ID          int64      `json:"id"`
	BatchID     int64      `json:"batch_id"`
	ExternalID  string     `json:"external_id,omitempty"`
	To          string     `json:"to"`
	From        string     `json:"from,omitempty"`
	Text        string     `json:"text"`
	State       string     `json:"state"`
	Reason      string     `json:"reason,omitempty"`
	ErrorCode   int        `json:"error_code,omitempty"`
	Segments    int        `json:"segments"`
	MessageID   string     `json:"message_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
}

func smsOf(t store.Transmission) smsJSON {
	return smsJSON{ID: t.ID, BatchID: t.BatchID, ExternalID: t.ExternalID, To: t.Destination, From: t.Source, Text: t.Text,
		State: string(t.State), Reason: t.Reason, ErrorCode: t.ErrorCode, Segments: t.Segments, MessageID: t.MessageID,
		CreatedAt: t.CreatedAt, SubmittedAt: optTime(t.SubmittedAt), DoneAt: optTime(t.DoneAt)}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// defaultClient receives what a token for every client sends without
// naming a client.
const defaultClient = "api"

// clientFor is the client a request acts for: the token's, or the one it
// names (want), or defaultClient.
func clientFor(c caller, want string) (string, error) {
	switch {
	case c.client == "":
		if want == "" {
			return defaultClient, nil
		}
		return want, nil
	case want != "" && want != c.client:
		return "", forbidden("this token is limited to client " + c.client)
	}
	return c.client, nil
}

// visible reports whether a caller may see the records of clientID.
func (s *Server) visible(ctx context.Context, c caller, clientID int64) (bool, error) {
	if c.client == "" {
		return true, nil
	}
	cl, err := s.Store.ClientByName(ctx, c.client)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && cl.ID == clientID, err
}

func (s *Server) gateway() (*gateway.Gateway, error) {
	if s.Gateway == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Message: "the SMS gateway is not running"}
	}
	return s.Gateway, nil
}

type sendRequest struct {
	To         string `json:"to"`
	Text       string `json:"text"`
	From       string `json:"from"`
	Client     string `json:"client"`
	ExternalID string `json:"external_id"`
}

// sendSMS queues one message: 202 {"id": ...}. With an external_id, a
// repeated request (a program retrying after a timeout) is refused with
// 409 instead of sending again.
func (s *Server) sendSMS(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	g, err := s.gateway()
	if err != nil {
		return err
	}
	var req sendRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	client, err := clientFor(callerOf(r.Context()), req.Client)
	if err != nil {
		return err
	}
	if _, err := s.Numbering.Normalize(req.To); err != nil {
		return badField("to", "to: "+err.Error())
	}
	if strings.TrimSpace(req.Text) == "" {
		return badField("text", "text: empty (spaces around a text are not sent)")
	}
	if _, err := gateway.CheckMessage(s.Numbering, req.To, req.Text, "", s.MaxParts); err != nil {
		return badField("text", "text: "+err.Error())
	}
	if _, err := gateway.CheckMessage(s.Numbering, req.To, req.Text, req.From, s.MaxParts); err != nil {
		return badField("from", "from: "+err.Error())
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"number", "text", "source", "external_id"})
	_ = cw.Write([]string{req.To, req.Text, req.From, req.ExternalID})
	cw.Flush()
	rep, err := g.LoadCSV(r.Context(), gateway.Batch{Client: client, CSV: &b})
	if err != nil {
		return err
	}
	switch {
	case len(rep.Errors) > 0: // to, text and from were checked: what is left is external_id's
		field := "external_id"
		if !strings.Contains(rep.Errors[0].Reason, "external_id") {
			field = "text"
		}
		return badField(field, field+": "+rep.Errors[0].Reason)
	case rep.Duplicates > 0:
		return &apiError{Status: http.StatusConflict, Field: "external_id",
			Message: fmt.Sprintf("external_id %q was sent before by client %s", req.ExternalID, client)}
	case rep.FirstID == 0:
		return errors.New("api: a message was loaded without an id")
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/sms/%d", rep.FirstID))
	writeJSON(w, http.StatusAccepted, map[string]any{"id": rep.FirstID, "batch_id": rep.BatchID, "unroutable": rep.Unroutable > 0})
	return nil
}

// getSMS shows one message; another client's is not found.
func (s *Server) getSMS(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.Store.Transmission(r.Context(), id)
	if err != nil {
		return err
	}
	if ok, err := s.visible(r.Context(), callerOf(r.Context()), t.ClientID); err != nil || !ok {
		return cmpErr(err, notFound("not found"))
	}
	writeJSON(w, http.StatusOK, smsOf(t))
	return nil
}

// numberStatus shows the last message sent to a number.
func (s *Server) numberStatus(w http.ResponseWriter, r *http.Request) error {
	if err := allow(callerOf(r.Context()), areaSMS); err != nil {
		return err
	}
	g, err := s.gateway()
	if err != nil {
		return err
	}
	number := r.PathValue("number")
	if _, err := s.Numbering.Normalize(number); err != nil {
		return badField("number", "number: "+err.Error())
	}
	c := callerOf(r.Context())
	var t store.Transmission
	if c.client == "" {
		t, err = g.Status(r.Context(), number)
	} else { // the client's own last message, whatever others sent since
		var cl store.Client
		if cl, err = s.Store.ClientByName(r.Context(), c.client); err == nil {
			dest, _ := s.Numbering.Normalize(number)
			t, err = s.Store.LastClientTransmissionTo(r.Context(), cl.ID, dest)
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, smsOf(t))
	return nil
}

// cmpErr is err, or alt when err is nil.
func cmpErr(err error, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
