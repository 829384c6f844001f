package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// validText reports whether s can be stored as text by every store:
// UTF-8 without NUL.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// checkText refuses a parameter or field that is not validText.
func checkText(field, s string) error {
	if !validText(s) {
		return badField(field, field+": not UTF-8 text, or with a NUL character")
	}
	return nil
}

// checkQuery refuses a request whose query parameters are not all
// validText, naming the first.
func checkQuery(r *http.Request) error {
	for k, vs := range r.URL.Query() {
		if err := checkText(k, k); err != nil {
			return badField("", "a query parameter's name is not UTF-8 text")
		}
		for _, v := range vs {
			if err := checkText(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkStrings refuses a decoded request body one of whose string fields
// (or *string) holds a NUL (JSON decoding makes any string UTF-8),
// naming its JSON field.
func checkStrings(v any) error {
	rv := reflect.Indirect(reflect.ValueOf(v))
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rv.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		if f.Kind() != reflect.String {
			continue
		}
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if err := checkText(name, f.String()); err != nil {
			return err
		}
	}
	return nil
}

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
		return checkStrings(v)
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("body larger than %d bytes", MaxBody)}
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return badField("", "body: want a JSON object")
	case errors.As(err, &typeErr):
		return badField(typeErr.Field, fmt.Sprintf("%s: want a %s", typeErr.Field, jsonKind(typeErr.Type)))
	default:
		field := ""
		if f, ok := unknownField(err); ok {
			field = f
		}
		return badField(field, "body: "+err.Error())
	}
}

// jsonKind names a Go type as the JSON value it is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	}
	return "JSON object"
}

// unknownField is the field json names in an "unknown field" error.
func unknownField(err error) (string, bool) {
	var f string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &f); scanErr == nil {
		return f, true
	}
	return "", false
}
