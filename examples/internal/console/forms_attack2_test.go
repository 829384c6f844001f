package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// A state-changing form from anywhere but the site itself, or without
// the session's own token in its body, changes nothing.
func TestAttack2OriginAndTokenVariants(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	admin, tok := s.as(t, "ana")
	u, _ := url.Parse(s.host)
	hostport := u.Host
	host, port := u.Hostname(), u.Port()

	made := 0
	try := func(what string, mod func(r *http.Request)) {
		t.Helper()
		made++
		name := fmt.Sprintf("t%d", made)
		req, err := http.NewRequest(http.MethodPost, s.host+"/console/tokens", strings.NewReader(url.Values{"csrf": {tok}, "name": {name}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mod(req)
		resp, err := admin.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, what)
		ts, err := s.st.APITokens(ctx)
		require.NoError(t, err)
		for _, tk := range ts {
			assert.NotEqual(t, name, tk.Name, "made by %s", what)
		}
	}
	origins := []string{"null", "https://" + hostport, "http://" + host, "http://" + host + ":" + port + "0", "http://" + hostport + ".",
		"http://" + host + ".:" + port, "http://" + hostport + ".evil.example", "http://" + hostport + "@evil.example",
		"http://evil.example#" + hostport, "http://localhost:" + port, "HTTP://" + strings.ToUpper(hostport) + "x", "http://" + hostport + "\\@evil.example",
		"http://" + hostport + "%2f", "file://", "http://" + host + ":0" + port + "x"}
	for _, o := range origins {
		try("Origin "+o, func(r *http.Request) { r.Header.Set("Origin", o) })
	}
	try("no Origin, no Referer", func(r *http.Request) {})
	try("Origin null with a same-site Referer", func(r *http.Request) {
		r.Header.Set("Origin", "null")
		r.Header.Set("Referer", s.host+"/console/tokens")
	})
	try("cross-site Origin with a same-site Referer", func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Referer", s.host+"/console/tokens")
	})
	for _, ref := range []string{"http://" + hostport + ".evil.example/", "http://" + hostport + "@evil.example/", "https://" + hostport + "/",
		"http://evil.example/?" + s.host + "/", "http://" + hostport + "0/"} {
		try("Referer "+ref, func(r *http.Request) { r.Header.Set("Referer", ref) })
	}
	try("Host header of the attacker's origin", func(r *http.Request) {
		r.Host = "evil.example"
		r.Header.Set("Origin", s.host)
	})

	// Tokens elsewhere than the body.
	for what, mk := range map[string]func() *http.Request{
		"token in the query only": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, s.host+"/console/tokens?csrf="+url.QueryEscape(tok)+"&name=q1", strings.NewReader(""))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
		"token in a text/plain body": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, s.host+"/console/tokens?name=q2", strings.NewReader("csrf="+tok+"&name=q2"))
			r.Header.Set("Content-Type", "text/plain")
			return r
		},
		"token in a header": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, s.host+"/console/tokens", strings.NewReader("name=q3"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-CSRF-Token", tok)
			return r
		},
		"token cut short": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, s.host+"/console/tokens", strings.NewReader(url.Values{"csrf": {tok[:len(tok)-1]}, "name": {"q4"}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
		"empty token first, good one second": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, s.host+"/console/tokens", strings.NewReader("csrf=&csrf="+tok+"&name=q5"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
	} {
		r := mk()
		r.Header.Set("Origin", s.host)
		resp, err := admin.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, what)
	}
	ts, err := s.st.APITokens(ctx)
	require.NoError(t, err)
	assert.Empty(t, ts, "no token made by any forged request")

	// A token outlives no session: after logging out and in again, the
	// old token is refused.
	resp, _ := s.post(t, admin, "/console/logout", s.host, url.Values{"csrf": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	s.login(t, admin, "ana")
	resp, _ = s.post(t, admin, "/console/tokens", s.host, url.Values{"csrf": {tok}, "name": {"old"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the previous session's token")
}

// chunkedPost posts body without a length (chunked), from the site.
func chunkedPost(t *testing.T, c *http.Client, u, ctype string, body io.Reader) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodPost, u, io.NopCloser(body))
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", ctype)
	u2, _ := url.Parse(u)
	req.Header.Set("Origin", "http://"+u2.Host)
	resp, err := c.Do(req)
	require.NoError(t, err)
	return resp, readAll(resp)
}

// A CSV file over MaxBatchBytes is refused (413) and nothing of it is
// stored, even when the request as a whole fits the upload route's limit
// (the file's limit plus 64 KiB of form).
func TestAttack2UploadJustOverTheFileLimit(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	c := s.client(t)
	s.login(t, c, "pedro")
	// one good row first, then lines that are each rejected (one field),
	// to MaxBatchBytes + 40 KiB.
	var b strings.Builder
	b.WriteString("number,text\n04141234567,fila buena\n")
	line := strings.Repeat("x", 199) + "\n"
	for b.Len() < MaxBatchBytes+40<<10 {
		b.WriteString(line)
	}
	file := b.String()
	require.Greater(t, len(file), MaxBatchBytes)
	resp, body := s.upload(t, c, s.host, s.csrf(t, c), "big", file)
	if len(body) > 300 {
		body = body[:300]
	}
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "a %d-byte file (limit %d): %s", len(file), MaxBatchBytes, body)
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	assert.Empty(t, bs, "a batch stored from a file over the limit")
}

// An upload over the limit, sent chunked, is refused (413) and leaves no
// temporary file behind; a multipart form with thousands of parts or a
// huge part header is refused without a 500.
func TestAttack2UploadChunkedAndManyParts(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := newSMSSite(t, false, smpptest.Outcomes{})
	c := s.client(t)
	s.login(t, c, "pedro")
	tok := s.csrf(t, c)

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", tok)
		fw, _ := mw.CreateFormFile("file", "big.csv")
		chunk := []byte(strings.Repeat("04141234567,"+strings.Repeat("y", 87)+"\n", 10000))
		for sent := 0; sent < 40<<20; sent += len(chunk) {
			if _, err := fw.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
	}()
	resp, body := chunkedPost(t, c, s.host+"/console/sms/batches", mw.FormDataContentType(), pr)
	pr.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "temporary files left by the refused upload")

	// many files, each spilled to disk, then many tiny parts.
	var mb bytes.Buffer
	mw2 := multipart.NewWriter(&mb)
	mw2.WriteField("csrf", tok)
	for i := range 3 {
		fw, _ := mw2.CreateFormFile("file", fmt.Sprintf("f%d.csv", i))
		fw.Write([]byte(strings.Repeat("x", 9<<20)))
	}
	mw2.Close()
	resp, body = chunkedPost(t, c, s.host+"/console/sms/batches", mw2.FormDataContentType(), &mb)
	assert.Less(t, resp.StatusCode, 500, body)
	var mb3 bytes.Buffer // a new body each time: the client may still be writing the last
	mw3 := multipart.NewWriter(&mb3)
	mw3.WriteField("csrf", tok)
	for i := range 5000 {
		mw3.WriteField(fmt.Sprintf("f%d", i), "v")
	}
	fw, _ := mw3.CreateFormFile("file", "x.csv")
	fw.Write([]byte("04141234567,hola\n"))
	mw3.Close()
	resp, body = chunkedPost(t, c, s.host+"/console/sms/batches", mw3.FormDataContentType(), &mb3)
	assert.Less(t, resp.StatusCode, 500, body)
	var mb4 bytes.Buffer
	mw4 := multipart.NewWriter(&mb4)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="csrf"`}
	h["X-Big"] = []string{strings.Repeat("h", 1<<20)}
	pw4, _ := mw4.CreatePart(h)
	pw4.Write([]byte(tok))
	mw4.Close()
	resp, body = chunkedPost(t, c, s.host+"/console/sms/batches", mw4.FormDataContentType(), &mb4)
	assert.Less(t, resp.StatusCode, 500, body)
	assert.Eventually(t, func() bool { left, _ = os.ReadDir(tmp); return len(left) == 0 }, 5*time.Second, 50*time.Millisecond,
		"temporary files left behind")
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	assert.Empty(t, bs)
}

// Every other POST route refuses a form over 64 KiB, urlencoded,
// multipart or chunked, with 413, before doing anything.
func TestAttack2FormLimitOtherRoutes(t *testing.T) {
	s := newSite(t)
	admin, tok := s.as(t, "ana")
	big := strings.Repeat("z", 65<<10)
	ctx := context.Background()
	for _, route := range []string{"/console/tokens", "/console/users", "/console/webhooks", "/console/logout"} {
		form := url.Values{"csrf": {tok}, "name": {"big1"}, "login": {"big1"}, "role": {"agent"}, "password": {"12345678"}, "pad": {big}}
		resp, body := s.post(t, admin, route, s.host, form)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "urlencoded %s: %.200s", route, body)
		resp, body = chunkedPost(t, admin, s.host+route, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "chunked %s: %.200s", route, body)
		var mb bytes.Buffer
		mw := multipart.NewWriter(&mb)
		for k, vs := range form {
			mw.WriteField(k, vs[0])
		}
		mw.Close()
		resp, body = chunkedPost(t, admin, s.host+route, mw.FormDataContentType(), &mb)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "multipart %s: %.200s", route, body)
		// A new buffer: the client may still be writing the last one (the
		// server answered before reading it all).
		var mb2 bytes.Buffer
		mw = multipart.NewWriter(&mb2)
		mw.WriteField("csrf", tok)
		mw.WriteField("name", "big2")
		fw, _ := mw.CreateFormFile("file", "x")
		fw.Write([]byte(big))
		mw.Close()
		resp, body = chunkedPost(t, admin, s.host+route, mw.FormDataContentType(), &mb2)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "multipart file %s: %.200s", route, body)
	}
	ts, err := s.st.APITokens(ctx)
	require.NoError(t, err)
	assert.Empty(t, ts)
	_, err = s.st.Account(ctx, "big1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	resp, _ := s.get(t, admin, "/console/")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "still logged in")
}

// An accepted upload whose file is over the 8 MiB kept in memory spills
// to a temporary file; the console mounted under its prefix (through
// http.StripPrefix, as the example server does) must still remove it.
func TestAttack2UploadLeavesTemporaryFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := newSMSSite(t, false, smpptest.Outcomes{})
	c := s.client(t)
	s.login(t, c, "pedro")
	var b strings.Builder
	b.WriteString("number,text\n04141234567,hola\n")
	line := strings.Repeat("x", 199) + "\n"
	for b.Len() < 9<<20 {
		b.WriteString(line)
	}
	resp, body := s.upload(t, c, s.host, s.csrf(t, c), "nueve", b.String())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
	time.Sleep(time.Second)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		info, _ := e.Info()
		names = append(names, fmt.Sprintf("%s (%d bytes)", e.Name(), info.Size()))
	}
	assert.Empty(t, names, "temporary files an accepted 9 MiB upload left on disk")
}
