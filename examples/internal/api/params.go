package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// page is a list request's window.
type page struct {
	after int64
	limit int
}

// pageOf reads "after" and "limit".
func pageOf(r *http.Request) (page, error) {
	p := page{limit: DefaultLimit}
	q := r.URL.Query()
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, badField("after", "after: want an id (a non-negative integer)")
		}
		p.after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return p, badField("limit", fmt.Sprintf("limit: want 1 to %d", MaxLimit))
		}
		p.limit = n
	}
	return p, nil
}

// next is the "after" of the page that follows one of n items whose last
// id is last: 0 when the page was not full.
func (p page) next(n int, last int64) int64 {
	if n < p.limit {
		return 0
	}
	return last
}

// pathID reads the path value name as an id.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, badField(name, name+": want a positive integer")
	}
	return n, nil
}

// timeParam reads an RFC 3339 time; "" is the zero time.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, badField(name, name+": want an RFC 3339 time such as 2026-12-01T00:00:00Z")
	}
	return t, nil
}

// decodeBody reads a JSON object of at most MaxBody bytes into v,
// refusing unknown fields and trailing data.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the JSON object")
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("body larger than %d bytes", MaxBody)}
	case errors.As(err, &typeErr):
		return badField(typeErr.Field, fmt.Sprintf("%s: want a %s", typeErr.Field, typeErr.Type))
	default:
		field := ""
		if f, ok := unknownField(err); ok {
			field = f
		}
		return badField(field, "body: "+err.Error())
	}
}

// unknownField is the field json names in an "unknown field" error.
func unknownField(err error) (string, bool) {
	var f string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &f); scanErr == nil {
		return f, true
	}
	return "", false
}
