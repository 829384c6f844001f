package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "whsec_0123456789abcdef"

func TestSignVerify(t *testing.T) {
	now := time.Unix(1767225600, 0)
	body := []byte(`{"id":"sms:1:delivered"}`)
	h := Sign(secret, now, body)
	assert.Regexp(t, `^t=1767225600,v1=[0-9a-f]{64}$`, h)
	assert.NoError(t, Verify(secret, h, body, now, 0))
	assert.NoError(t, Verify(secret, h, body, now.Add(4*time.Minute), 0))
	assert.NoError(t, Verify(secret, h, body, now.Add(-4*time.Minute), 0))

	assert.ErrorIs(t, Verify(secret, h, append(body, ' '), now, 0), ErrBadSignature, "body changed")
	assert.ErrorIs(t, Verify(secret+"x", h, body, now, 0), ErrBadSignature, "other secret")
	assert.ErrorIs(t, Verify(secret, h, body, now.Add(6*time.Minute), 0), ErrStale, "replayed later")
	assert.ErrorIs(t, Verify(secret, h, body, now.Add(-6*time.Minute), 0), ErrStale, "from the future")
	assert.NoError(t, Verify(secret, h, body, now.Add(time.Hour), 2*time.Hour), "wider tolerance")

	// The time is signed: moving it breaks the signature.
	moved := strings.Replace(h, "t=1767225600", "t=1767225601", 1)
	assert.ErrorIs(t, Verify(secret, moved, body, now, 0), ErrBadSignature)

	// During a rotation a sender may sign with both secrets.
	other := Sign("whsec_the_old_secret_value", now, body)
	both := h + "," + other[strings.Index(other, "v1="):]
	assert.NoError(t, Verify(secret, both, body, now, 0))
	assert.NoError(t, Verify("whsec_the_old_secret_value", both, body, now, 0))

	sig := h[strings.Index(h, "v1="):]
	for _, bad := range []string{
		"", "garbage", "t=1767225600", sig, "t=," + sig, "t=x," + sig, "t=+1767225600," + sig,
		"t=01767225600," + sig, "t=1767225600,v1=zz", "t=1767225600,v1=abcd",
		"t=1767225600,t=1767225600," + sig, "t=1767225600," + sig + ",junk",
		"t=1767225600," + sig + strings.Repeat(",v0=1", 300),
	} {
		assert.ErrorIs(t, Verify(secret, bad, body, now, 0), ErrNoSignature, "header %q", bad)
	}
	// Unknown schemes are ignored, as long as a v1 is there.
	assert.NoError(t, Verify(secret, h+",v0=whatever", body, now, 0))
}

func TestReadRequest(t *testing.T) {
	body := []byte(`{"id":"chat:1:waiting::0"}`)
	req := func(b []byte, sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(b))
		r.Header.Set(SignatureHeader, sig)
		return r
	}
	got, err := ReadRequest(req(body, Sign(secret, time.Now(), body)), secret, 0)
	require.NoError(t, err)
	assert.Equal(t, body, got)

	_, err = ReadRequest(req(body, Sign("another secret!!", time.Now(), body)), secret, 0)
	assert.ErrorIs(t, err, ErrBadSignature)
	_, err = ReadRequest(req(body, ""), secret, 0)
	assert.ErrorIs(t, err, ErrNoSignature)
	big := bytes.Repeat([]byte("x"), 100)
	_, err = ReadRequest(req(big, Sign(secret, time.Now(), big)), secret, 99)
	assert.ErrorContains(t, err, "over 99 bytes")
}

// FuzzVerify: no header makes Verify panic, and none but one carrying
// the body's true HMAC is accepted.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1767225600, 0)
	f.Add(Sign(secret, now, []byte("a")), []byte("a"))
	f.Add("t=1767225600,v1=00", []byte(""))
	f.Add("t=1767225600,v1="+strings.Repeat("ab", 32)+",v1=", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(secret, header, body, now, 0)
		if err != nil {
			return
		}
		want := Sign(secret, now, body)
		if !strings.Contains(header, want[strings.Index(want, "v1="):]) {
			// Accepted with another time within tolerance: it must carry
			// that time's HMAC.
			var tsv string
			for _, p := range strings.Split(header, ",") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(p), "t="); ok {
					tsv = v
				}
			}
			sec, perr := strconv.ParseInt(tsv, 10, 64)
			require.NoError(t, perr)
			w := Sign(secret, time.Unix(sec, 0), body)
			require.Contains(t, header, w[strings.Index(w, "v1="):], "accepted without the body's HMAC: %q", header)
		}
	})
}
