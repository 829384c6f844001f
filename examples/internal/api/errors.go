package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/switchboard-go/switchboard/store"
)

// apiError is an error with its status and the field at fault.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badField(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: msg, Field: field}
}

func notFound(msg string) *apiError { return &apiError{Status: http.StatusNotFound, Message: msg} }

func forbidden(msg string) *apiError { return &apiError{Status: http.StatusForbidden, Message: msg} }

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// writeError writes err as the API's JSON error. Errors that are not an
// *apiError are the store's or the server's: a missing record is a 404,
// the rest a 500 whose detail goes to the log, not to the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = notFound("not found")
	default:
		s.logger().Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Message: "internal error"}
	}
	writeJSON(w, ae.Status, ae)
}
