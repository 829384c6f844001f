package api

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/examples/internal/metrics"
)

// TestAttackAuthHeaders: spellings of the Authorization header.
func TestAttackAuthHeaders(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	other := a.token("other", "")
	for _, c := range []struct {
		name    string
		headers []string
		code    int
	}{
		{"lower-case scheme", []string{"bearer " + tok}, 200},
		{"upper-case scheme", []string{"BEARER " + tok}, 200},
		{"two spaces", []string{"Bearer  " + tok}, 401},
		{"tab", []string{"Bearer\t" + tok}, 401},
		{"trailing junk", []string{"Bearer " + tok + " x"}, 401},
		{"token twice", []string{"Bearer " + tok + "," + tok}, 401},
		{"upper-case token", []string{"Bearer " + strings.ToUpper(tok)}, 401},
		{"prefix only", []string{"Bearer sbt_"}, 401},
		{"only scheme", []string{"Bearer"}, 401},
		{"valid then invalid", []string{"Bearer " + tok, "Bearer sbt_nope"}, 200},
		{"invalid then valid", []string{"Bearer sbt_nope", "Bearer " + tok}, 401},
		{"two valid", []string{"Bearer " + tok, "Bearer " + other}, 200},
		{"huge", []string{"Bearer " + tok + strings.Repeat("A", 60<<10)}, 401},
	} {
		req, _ := http.NewRequest("GET", a.url+"/api/v1/tickets", nil)
		for _, h := range c.headers {
			req.Header.Add("Authorization", h)
		}
		code, hdr, body := rawDo(t, req)
		assert.Equal(t, c.code, code, "%s: %s", c.name, body)
		if code == 401 {
			assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"), c.name)
		}
	}
	// Tokens in the query string or a cookie are not credentials.
	for _, req := range []*http.Request{
		must(http.NewRequest("GET", a.url+"/api/v1/tickets?access_token="+tok, nil)),
		must(http.NewRequest("GET", a.url+"/api/v1/tickets", nil)),
	} {
		req.AddCookie(&http.Cookie{Name: "token", Value: tok})
		code, _, _ := rawDo(t, req)
		assert.Equal(t, 401, code)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestAttackRevokedVersusUnknown: a revoked token and an unknown one get
// the same answer, refused at once, and take about as long.
func TestAttackRevokedVersusUnknown(t *testing.T) {
	a := newTestAPI(t)
	revoked := a.token("gone", "")
	require.NoError(t, a.st.RevokeAPIToken(context.Background(), "gone", time.Time{}))
	unknown, _ := NewToken("x", "")
	// A new token with the revoked one's name works; the old one stays refused.
	fresh := a.token("gone", "")
	code, _ := a.get("/api/v1/tickets", fresh)
	assert.Equal(t, 200, code)

	answer := func(tok string) (int, string, time.Duration) {
		start := time.Now()
		code, hdr, body := rawDo(t, authGet(t, a.url+"/api/v1/tickets", tok))
		return code, hdr.Get("WWW-Authenticate") + body, time.Since(start)
	}
	c1, b1, _ := answer(revoked)
	c2, b2, _ := answer(unknown)
	assert.Equal(t, 401, c1)
	assert.Equal(t, c2, c1)
	assert.Equal(t, b2, b1)
	median := func(tok string) time.Duration {
		var ds []time.Duration
		for range 150 {
			_, _, d := answer(tok)
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for range 20 { // warm up
		answer(revoked)
		answer(unknown)
	}
	mr, mu := median(revoked), median(unknown)
	t.Logf("median time: revoked %v, unknown %v", mr, mu)
	ratio := float64(mr) / float64(mu)
	assert.True(t, ratio > 0.5 && ratio < 2, "revoked %v vs unknown %v", mr, mu)
}

// TestAttackMetricsMethodCardinality: the HTTP latency histogram is
// labelled with r.Method, which the client chooses: anybody, without a
// token, makes one new series per method name (a histogram of 12 buckets
// each), without bound.
func TestAttackMetricsMethodCardinality(t *testing.T) {
	m := metrics.New()
	a := newTestAPIWith(t, func(s *Server) { s.Metrics = m.Handler() })
	// Serve the same API wrapped by Instrument, as the server does.
	api := &Server{Store: a.st, Metrics: m.Handler()}
	srv := httptest.NewServer(m.Instrument(api.Handler()))
	t.Cleanup(srv.Close)
	tok := a.token("prom", "")

	const n = 40
	for i := range n {
		req, _ := http.NewRequest(fmt.Sprintf("X%04d", i), srv.URL+"/anything", nil)
		code, _, _ := rawDo(t, req)
		assert.Equal(t, 404, code)
	}
	resp, err := http.DefaultClient.Do(authGet(t, srv.URL+"/metrics", tok))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	f := fams["switchboard_http_request_duration_seconds"]
	require.NotNil(t, f)
	methods := map[string]bool{}
	for _, s := range f.Metric {
		methods[labelOf(s, "method")] = true
	}
	var names []string
	for k := range methods {
		names = append(names, k)
	}
	sort.Strings(names)
	assert.Less(t, len(methods), 10, "unauthenticated requests made %d method label values: %v...", len(methods), names[:min(5, len(names))])
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestAttackRawRequests: raw HTTP oddities get a 4xx, never
// a panic or a 500.
func TestAttackRawRequests(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	addr := strings.TrimPrefix(a.url, "http://")
	send := func(raw string) string {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte(raw))
		require.NoError(t, err)
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	for _, c := range []struct{ name, raw, want string }{
		{"nul in token", "GET /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\x00\r\n\r\n", " 400 "},
		{"absolute uri", "GET http://evil.example/api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n", " 200 "},
		{"chunked json", "POST /api/v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\n{\"to\"\r\n0\r\n\r\n", " 400 "},
		{"content-length lies short", "POST /api/v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: 5\r\n\r\n" +
			`{"to":"04141234567","text":"x"}`, " 400 "},
	} {
		assert.Contains(t, send(c.raw), c.want, c.name)
	}
}
