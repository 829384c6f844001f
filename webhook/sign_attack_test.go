package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Forgeries, stale times and malformed headers: Verify refuses each
// with the documented error and never panics.
func TestAttackVerifyRefusesForgeries(t *testing.T) {
	body := []byte(`{"id":"ticket_event:1"}`)
	now := time.Unix(1767225600, 0)
	good := Sign(secret, now, body)
	_, v1, _ := strings.Cut(good, ",")
	sig := strings.TrimPrefix(v1, "v1=")
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == '0' {
			b[0] = '1'
		} else {
			b[0] = '0'
		}
		return string(b)
	}
	for _, tc := range []struct {
		header string
		want   error
	}{
		{good, nil},
		{"t=1767225600," + v1 + ",v1=" + flip(sig), nil}, // one good among several
		{"t=1767225600,v1=" + flip(sig), ErrBadSignature},
		{"t=1767225600,v1=" + strings.ToUpper(sig), nil}, // hex is case-insensitive
		{"t=1767225601," + v1, ErrBadSignature},          // the time is signed
		{"t=1767225000," + v1, ErrStale},
		{"t=1767226000," + v1, ErrStale},
		{"t=+1767225600," + v1, ErrNoSignature},
		{"t=01767225600," + v1, ErrNoSignature},
		{"t=1767225600.0," + v1, ErrNoSignature},
		{"t=9223372036854775807," + v1, ErrStale},
		{"t=-9223372036854775808," + v1, ErrStale},
		{"t=99999999999999999999," + v1, ErrNoSignature},
		{"t=1767225600,t=1767225600," + v1, ErrNoSignature},
		{"t=1767225600", ErrNoSignature},
		{v1, ErrNoSignature},
		{"t=1767225600,v1=", ErrNoSignature},
		{"t=1767225600,v1=zz", ErrNoSignature},
		{"t=1767225600,v1=" + sig[:62], ErrNoSignature},
		{"t=1767225600,v1=" + sig + "00", ErrNoSignature},
		{"t=1767225600,,", ErrNoSignature},
		{",,,", ErrNoSignature},
		{"=", ErrNoSignature},
		{"t", ErrNoSignature},
		{"", ErrNoSignature},
		{"t=1767225600,v0=" + sig, ErrNoSignature},
		{strings.Repeat("v1="+sig+",", 20) + "t=1767225600", ErrNoSignature}, // over the header limit
		{"t=1767225600,v1=" + sig + "\x00", ErrNoSignature},
		{"t=1767225600 , v1=" + sig, nil}, // spaces around the parts are tolerated
	} {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Verify(%q) panicked: %v", tc.header, r)
				}
			}()
			err = Verify(secret, tc.header, body, now, 0)
		}()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Verify(%q) = %v, want %v", tc.header, err, tc.want)
		}
	}
	if err := Verify("another-secret-0123456789", good, body, now, 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another secret: %v", err)
	}
	if err := Verify(secret, good, append(body, ' '), now, 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another body: %v", err)
	}
	if err := Verify(secret, good, body, now, -time.Hour); err != nil {
		t.Errorf("negative tolerance means the default: %v", err)
	}
}

// ReadRequest on a request whose Body is nil (one made with
// http.NewRequest(..., nil), as a receiver's own unit test does) panics
// instead of answering an error.
func TestAttackReadRequestNilBody(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set(SignatureHeader, Sign(secret, time.Now(), nil))
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("ReadRequest panicked on a nil body: %v", p)
		}
	}()
	if _, err := ReadRequest(r, secret, 0); err != nil {
		t.Logf("error: %v", err)
	}
}

// A body one byte over the limit is refused; at the limit, read.
func TestAttackReadRequestBodyLimit(t *testing.T) {
	for _, n := range []int{10, 11} {
		body := strings.Repeat("a", n)
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
		r.Header.Set(SignatureHeader, Sign(secret, time.Now(), []byte(body)))
		_, err := ReadRequest(r, secret, 10)
		if (err == nil) != (n == 10) {
			t.Errorf("body of %d bytes, limit 10: %v", n, err)
		}
	}
}
