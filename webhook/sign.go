package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a request's signature.
const SignatureHeader = "Switchboard-Signature"

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no valid signature header")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: signature time too far from now")
)

// maxHeader bounds the signature header Verify reads.
const maxHeader = 1024

// Sign returns the signature header value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signature header value against body: one of its v1
// values (a sender may send several while secrets are rotated) must be
// the HMAC of body under secret, and its time must be within tolerance
// of now (tolerance 0 means 5 minutes). It returns ErrNoSignature for a
// missing or malformed header, ErrStale, or ErrBadSignature. The
// comparison takes constant time.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	if header == "" || len(header) > maxHeader {
		return ErrNoSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrNoSignature
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrNoSignature
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrNoSignature
			}
			sigs = append(sigs, sig)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 || strconv.FormatInt(unix, 10) != ts {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal(sig, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// ReadRequest reads r's body, at most maxBody bytes (0 means 1 MiB), and
// verifies its signature at the current time with Verify's default
// tolerance. A receiver's handler calls it first and answers 400 or 401
// on an error; the body is returned only when the signature holds.
func ReadRequest(r *http.Request, secret string, maxBody int64) ([]byte, error) {
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	if r.Body == nil { // a server's requests always have one; a test's may not
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: read body: %w", err)
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("webhook: body over %d bytes", maxBody)
	}
	if err := Verify(secret, r.Header.Get(SignatureHeader), body, time.Now(), 0); err != nil {
		return nil, err
	}
	return body, nil
}
