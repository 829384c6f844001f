package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

// Hostile forms and queries on the administrators' and SMS routes: a
// 4xx, never a 500 (the console's own failure) and no panic.
func TestAttack2AdminHostileInput(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ana, tok := s.as(t, "ana")
	long := strings.Repeat("é", 30000)
	type post struct {
		path string
		form url.Values
	}
	posts := []post{
		{"/console/users", url.Values{"login": {""}, "role": {"agent"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"a b"}, "role": {"agent"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x"}, "role": {"god"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x"}, "role": {"agent"}, "client": {"acme"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x"}, "role": {"sms"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x"}, "role": {"agent"}, "name": {long}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x2"}, "role": {"sms"}, "client": {long}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x3"}, "role": {"agent"}, "name": {"\x00\x01\xff"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x4"}, "role": {"sms"}, "client": {"\x00"}, "password": {"12345678"}}},
		{"/console/users", url.Values{"login": {"x5"}, "role": {"agent"}, "password": {"\x00\x00\x00\x00\x00\x00\x00\x00"}}},
		{"/console/users", url.Values{"login": {"ana"}, "role": {"admin"}, "disabled": {"on"}}},
		{"/console/users", url.Values{"login": {strings.Repeat("a", 65)}, "role": {"agent"}, "password": {"12345678"}}},
		{"/console/tokens", url.Values{"name": {"\x00"}}},
		{"/console/tokens", url.Values{"name": {"t1"}, "client": {"\x00\xff"}}},
		{"/console/tokens", url.Values{"name": {"t2"}, "client": {strings.Repeat("c", 200)}}},
		{"/console/tokens", url.Values{"name": {"\xff\xfe"}}},
		{"/console/tokens/revoke", url.Values{"name": {""}}},
		{"/console/tokens/revoke", url.Values{"name": {"\x00"}}},
		{"/console/webhooks", url.Values{"name": {""}, "url": {"https://x.example"}, "events": {"sms"}}},
		{"/console/webhooks", url.Values{"name": {"w1"}, "url": {"http://[::1"}, "events": {"sms"}}},
		{"/console/webhooks", url.Values{"name": {"w2"}, "url": {"https://x.example"}, "events": {"nope"}}},
		{"/console/webhooks", url.Values{"name": {"w3"}, "url": {"https://x.example"}, "events": {"sms"}, "client": {long}}},
		{"/console/webhooks", url.Values{"name": {"w4"}, "url": {"https://x.example"}, "events": {"sms"}, "client": {"\x00"}}},
		{"/console/webhooks", url.Values{"name": {"w5"}, "url": {"https://x.example/" + strings.Repeat("p", 3000)}, "events": {"sms"}}},
		{"/console/webhooks", url.Values{"name": {"w6"}, "url": {"https://x.example"}, "events": {"ticket"}, "client": {"acme"}}},
		{"/console/webhooks", url.Values{"name": {"w7"}, "url": {"javascript:alert(1)//"}, "events": {"sms"}}},
		{"/console/webhooks", url.Values{"name": {"w8"}, "url": {"https://x.example\x00"}, "events": {"sms"}}},
		{"/console/webhooks/delete", url.Values{"name": {""}}},
		{"/console/webhooks/deliveries/0/replay", url.Values{}},
		{"/console/webhooks/deliveries/-1/replay", url.Values{}},
		{"/console/webhooks/deliveries/abc/replay", url.Values{}},
		{"/console/webhooks/deliveries/99999999999999999999/replay", url.Values{}},
		{"/console/webhooks/deliveries/9223372036854775807/replay", url.Values{}},
		{"/console/sms/operators/0", url.Values{}},
		{"/console/sms/operators/-5", url.Values{}},
		{"/console/sms/operators/9223372036854775807", url.Values{}},
		{fmt.Sprintf("/console/sms/operators/%d", s.op.ID), url.Values{"priority": {"1"}, "weight": {"1"}, "tps": {"1"}, "binds": {"1"}, "window": {"1"}, "prefixes": {"58414 58414"}}},
		{fmt.Sprintf("/console/sms/operators/%d", s.op.ID), url.Values{"priority": {"1"}, "weight": {"1"}, "tps": {"1"}, "binds": {"1"}, "window": {"1"}, "prefixes": {"+"}}},
		{fmt.Sprintf("/console/sms/operators/%d", s.op.ID), url.Values{"priority": {"99999999999999999999"}}},
		{fmt.Sprintf("/console/sms/operators/%d", s.op.ID), url.Values{"priority": {"1"}, "weight": {"1"}, "tps": {"1"}, "binds": {"1"}, "window": {"1"}, "prefixes": {strings.Repeat("5 ", 20000)}}},
		{"/console/sms/batches", url.Values{"name": {"x"}}},
	}
	for _, p := range posts {
		p.form.Set("csrf", tok)
		resp, body := s.post(t, ana, p.path, s.host, p.form)
		assert.Less(t, resp.StatusCode, 500, "%s %.80v: %.300s", p.path, p.form, body)
	}
	for _, g := range []string{"/console/webhooks?state=bogus", "/console/webhooks?before=-1", "/console/webhooks?before=99999999999999999999",
		"/console/webhooks?endpoint=%00", "/console/sms?before=-1", "/console/sms/number?number=%00", "/console/sms/number?number=" + strings.Repeat("5", 32),
		"/console/login?next=%2F%2Fevil.example", "/console/login?next=/%5Cevil.example", "/console/static/../console.go", "/console/static/%2e%2e/console.go",
		"/console/static/", "/console/nope", "/console/sms/batches/1/failed.csv/x"} {
		resp, body := s.get(t, ana, g)
		assert.Less(t, resp.StatusCode, 500, "%s: %.200s", g, body)
		assert.NotContains(t, body, "package console", g)
	}
	// login hostile input
	for _, f := range []url.Values{{"login": {long}, "password": {"x"}}, {"login": {"ana"}, "password": {strings.Repeat("p", 73)}},
		{"login": {"ana"}, "password": {"\x00"}}, {"login": {"ana\x00"}, "password": {"clave de ana"}}, {"next": {"javascript:alert(1)"}, "login": {"ana"}, "password": {"clave de ana"}}} {
		c := s.client(t)
		resp, body := s.post(t, c, "/console/login", s.host, f)
		assert.Less(t, resp.StatusCode, 500, "%.80v: %.200s", f, body)
		if loc := resp.Header.Get("Location"); loc != "" {
			assert.True(t, strings.HasPrefix(loc, "/console/"), loc)
		}
	}
	// An admin still is an admin after the forms (she could not disable herself).
	resp, _ := s.get(t, ana, "/console/users")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
