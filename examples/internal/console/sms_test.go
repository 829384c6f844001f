package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// smsSite is the console with a gateway sending through an SMSC
// simulator (operator "movil" takes 58414), an administrator (ana) and
// two clients' sms accounts: pedro of acme and olga of otra.
type smsSite struct {
	consoleSite
	gw  *gateway.Gateway
	sim *smpptest.Server
	op  store.Operator
}

func newSMSSite(t *testing.T, run bool, outcomes smpptest.Outcomes) *smsSite {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, a := range []store.Account{{Login: "ana", Role: store.RoleAdmin}, {Login: "pedro", Role: store.RoleSMSClient, Client: "acme"},
		{Login: "olga", Role: store.RoleSMSClient, Client: "otra"}, {Login: "luis", Role: store.RoleAgent}} {
		h, err := bcrypt.GenerateFromPassword([]byte("clave de "+a.Login), bcrypt.MinCost)
		require.NoError(t, err)
		a.PasswordHash = string(h)
		require.NoError(t, st.PutAccount(ctx, &a))
	}
	sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 5 * time.Millisecond, Outcomes: outcomes})
	t.Cleanup(sim.Close)
	host, port, _ := net.SplitHostPort(sim.Addr)
	p, _ := strconv.Atoi(port)
	op := store.Operator{Name: "movil", Host: host, Port: p, SystemID: "gw", Password: "pw", BindMode: store.BindTransceiver,
		Enabled: true, WindowSize: 10, TPS: 40, Prefixes: []string{"58414"}}
	require.NoError(t, st.CreateOperator(ctx, &op))
	gw, err := gateway.New(gateway.Config{Store: st, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"},
		ReloadInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	if run {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- gw.Run(runCtx) }()
		t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })
	}
	c := &Server{Store: st, Prefix: "/console", Gateway: gw}
	h, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &smsSite{consoleSite: consoleSite{st: st, url: srv.URL + "/console/", host: srv.URL}, gw: gw, sim: sim, op: op}
}

// upload posts a CSV file to the upload form as a browser does, with
// more fields as name, value pairs.
func (s *smsSite) upload(t *testing.T, c *http.Client, origin, csrf, name, body string, fields ...string) (*http.Response, string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", csrf)
	mw.WriteField("name", name)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	fw, err := mw.CreateFormFile("file", "list.csv")
	require.NoError(t, err)
	fw.Write([]byte(body))
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, s.host+"/console/sms/batches", strings.NewReader(b.String()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out strings.Builder
	_, _ = fmt.Fprint(&out, readAll(resp))
	return resp, out.String()
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func (s *smsSite) csrf(t *testing.T, c *http.Client) string {
	_, body := s.get(t, c, "/console/sms")
	m := csrfField.FindStringSubmatch(body)
	require.NotNil(t, m, "a CSRF field on the SMS page")
	return m[1]
}

// The SMS pages show a client's own records only, take uploads only with
// the session's CSRF token from this site, keep the upload's limit, and
// let only administrators change operators.
func TestSMSPagesScopeAndForms(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	pedro, olga, ana, luis := s.client(t), s.client(t), s.client(t), s.client(t)
	s.login(t, pedro, "pedro")
	s.login(t, olga, "olga")
	s.login(t, ana, "ana")
	s.login(t, luis, "luis")
	resp, _ := s.get(t, luis, "/console/sms")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an agent has no SMS pages")

	tok := s.csrf(t, pedro)
	resp, _ = s.upload(t, pedro, s.host, "", "a", "number,text\n04141234567,hola\n")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an upload without the CSRF token")
	resp, _ = s.upload(t, pedro, "https://evil.example", tok, "a", "number,text\n04141234567,hola\n")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an upload from another site")
	resp, _ = s.upload(t, pedro, s.host, s.csrf(t, olga), "a", "number,text\n04141234567,hola\n")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another session's token")

	list := "number,text\n04141234567,hola\n,sin número\n04161234567,sin operador\n04141234568,\"=HYPERLINK(\"\"http://evil\"\")\"\n"
	resp, body := s.upload(t, pedro, s.host, tok, "enero", list)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "<strong>2</strong> queued to send")
	assert.Contains(t, body, "<strong>1</strong> to numbers no operator takes")
	assert.Contains(t, body, "<strong>1</strong> rejected")
	assert.Regexp(t, `<td>3</td><td>[^<]*number`, body, "the rejected row's line and reason")
	resp, body = s.upload(t, pedro, s.host, tok, "enero", list)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "<strong>0</strong> queued to send", "the same file again sends nothing")
	assert.Contains(t, body, "already loaded before")

	otherTok := s.csrf(t, olga)
	resp, body = s.upload(t, olga, s.host, otherTok, "x", "04141112222,de otra\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	require.Len(t, bs, 2)
	olgas, pedros := bs[0], bs[1]

	_, page := s.get(t, pedro, "/console/sms")
	assert.Contains(t, page, "enero")
	assert.NotContains(t, page, fmt.Sprintf(`/sms/batches/%d"`, olgas.ID), "another client's batch listed")
	for _, path := range []string{"", "/progress", "/failed.csv"} {
		resp, _ = s.get(t, pedro, fmt.Sprintf("/console/sms/batches/%d%s", olgas.ID, path))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another client's batch%s", path)
		resp, _ = s.get(t, ana, fmt.Sprintf("/console/sms/batches/%d%s", olgas.ID, path))
		assert.Equal(t, http.StatusOK, resp.StatusCode, "an administrator sees every batch%s", path)
	}
	_, page = s.get(t, pedro, "/console/sms/number?number=04141112222")
	assert.Contains(t, page, "No message to 04141112222", "another client's message to a number")
	_, page = s.get(t, olga, "/console/sms/number?number=584141112222")
	assert.Contains(t, page, "de otra")

	// The failed rows: the unroutable one, its formula-looking text kept
	// as text by a spreadsheet.
	resp, failed := s.get(t, pedro, fmt.Sprintf("/console/sms/batches/%d/failed.csv", pedros.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(strings.NewReader(failed)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2, failed)
	assert.Equal(t, "584161234567", rows[1][1])
	assert.Equal(t, "failed", rows[1][4])
	require.NoError(t, s.st.FailTransmission(context.Background(), lastTo(t, s.st, "584141234568").ID, 0, "test", time.Now()))
	_, failed = s.get(t, pedro, fmt.Sprintf("/console/sms/batches/%d/failed.csv", pedros.ID))
	assert.Contains(t, failed, `'=HYPERLINK(`, "a formula is written as text")

	// Operators: everyone of the SMS pages sees them; only an
	// administrator changes one.
	_, page = s.get(t, pedro, "/console/sms/operators")
	assert.Contains(t, page, "movil")
	assert.NotContains(t, page, s.op.Host+":", "a client sees no operator's address")
	form := url.Values{"csrf": {tok}, "enabled": {"on"}, "priority": {"1"}, "weight": {"1"}, "tps": {"10"}, "binds": {"1"}, "window": {"5"}, "prefixes": {"58414"}}
	resp, _ = s.post(t, pedro, fmt.Sprintf("/console/sms/operators/%d", s.op.ID), s.host, form)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, page = s.get(t, ana, "/console/sms/operators")
	form.Set("csrf", csrfField.FindStringSubmatch(page)[1])
	form.Set("tps", "-3")
	resp, page = s.post(t, ana, fmt.Sprintf("/console/sms/operators/%d", s.op.ID), s.host, form)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "tps: want a whole number")
	form.Set("tps", "10")
	form.Set("prefixes", "+58414, 58424")
	resp, _ = s.post(t, ana, fmt.Sprintf("/console/sms/operators/%d", s.op.ID), s.host, form)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	op, err := s.st.Operator(context.Background(), s.op.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"58414", "58424"}, op.Prefixes)
	assert.Equal(t, 10, op.TPS)
	assert.Equal(t, "pw", op.Password, "the rest of the operator is kept")

	// A modem: its form has no binds nor window, and saving keeps its
	// device and PIN.
	stick := store.Operator{Name: "stick", Kind: store.KindModem, Enabled: true, Prefixes: []string{"58416"},
		Modem: store.ModemSettings{Device: "/dev/ttyUSB0", PIN: "1234"}}
	require.NoError(t, s.st.CreateOperator(context.Background(), &stick))
	_, page = s.get(t, ana, "/console/sms/operators")
	assert.Contains(t, page, "GSM modem on /dev/ttyUSB0")
	assert.NotContains(t, page, "1234", "the PIN is not shown")
	form = url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "enabled": {"on"}, "priority": {"0"}, "weight": {"2"}, "tps": {"1"},
		"prefixes": {"58416"}}
	resp, _ = s.post(t, ana, fmt.Sprintf("/console/sms/operators/%d", stick.ID), s.host, form)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	stick, err = s.st.Operator(context.Background(), stick.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, stick.Weight)
	assert.Equal(t, store.ModemSettings{Device: "/dev/ttyUSB0", PIN: "1234"}, stick.Modem)
}

func lastTo(t *testing.T, st store.Store, number string) store.Transmission {
	tr, err := st.LastTransmissionTo(context.Background(), number)
	require.NoError(t, err)
	return tr
}

// An upload larger than the limit is refused before it is read whole.
func TestSMSUploadLimit(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	c := s.client(t)
	s.login(t, c, "pedro")
	big := strings.Repeat("04141234567,"+strings.Repeat("x", 100)+"\n", MaxBatchBytes/110+1000)
	resp, body := s.upload(t, c, s.host, s.csrf(t, c), "big", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	assert.Empty(t, bs)
}

// An sms user uploads a CSV in the browser, follows the batch until every
// message has its outcome, reads the results by state and downloads the
// ones that did not arrive.
func TestSMSBatchInABrowser(t *testing.T) {
	s := newSMSSite(t, true, smpptest.Outcomes{Delivered: 4, Undeliverable: 1})
	const n = 120
	var list strings.Builder
	list.WriteString("number;text;external_id\n")
	for i := range n {
		fmt.Fprintf(&list, "0414%07d;Su cita es mañana a las %d;c-%d\n", i, 8+i%10, i)
	}
	list.WriteString("04161234567;sin operador;c-x\n")
	file := filepath.Join(t.TempDir(), "citas.csv")
	require.NoError(t, os.WriteFile(file, []byte(list.String()), 0o600))

	b := browsertest.NewPage(t, "browser")
	login(b, s.url+"sms", "pedro", "clave de pedro")
	b.Do("upload", chromedp.SetUploadFiles(`input[name=file]`, []string{file}), chromedp.Click(`form.upload button`),
		chromedp.WaitVisible(`ul.report`))
	report := browsertest.Eval[string](b, `document.querySelector("ul.report").textContent`)
	assert.Contains(t, report, fmt.Sprintf("%d queued to send", n))
	assert.Contains(t, report, "1 to numbers no operator takes")
	assert.Contains(t, report, "separated by semicolons")
	b.Do("follow it", chromedp.Click(`a.button`), chromedp.WaitVisible(`#progress`))
	b.Poll("a rate while it runs", `document.getElementById("rate").textContent.includes("a second") || document.getElementById("percent").textContent === "100%"`)
	b.Poll("100%", `document.getElementById("percent").textContent === "100%" && document.getElementById("bar").value === 100`)
	b.Poll("every outcome", `!document.getElementById("done").hidden`)
	browsertest.Tour(t, b.Ctx, "console-sms-batch")
	count := func(state string) int {
		return browsertest.Eval[int](b, `Number(document.querySelector('td[data-state="`+state+`"]').textContent)`)
	}
	delivered, undeliverable := count("delivered"), count("undeliverable")
	assert.Equal(t, n, delivered+undeliverable, "every routed message delivered or not")
	assert.Greater(t, delivered, 0)
	assert.Equal(t, 1, count("failed"), "the unroutable one")
	assert.Equal(t, 0, count("queued")+count("sent")+count("submitting"))
	assert.Equal(t, n, len(s.sim.Submitted()), "each message submitted once")

	csvText := browsertest.Eval[string](b, `fetch(document.querySelector("a[download]").href).then(r => r.text())`)
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+undeliverable+1, "a header, the undeliverable ones and the unroutable one")

	b.Do("the SMS page", chromedp.Navigate(s.url+"sms"), chromedp.WaitVisible(`svg.chart`), chromedp.ScrollIntoView(`svg.chart`))
	total := browsertest.Eval[string](b, `document.querySelector("details summary").textContent`)
	assert.Contains(t, total, fmt.Sprintf("(%d messages)", n+1))
	browsertest.Tour(t, b.Ctx, "console-sms")
}

// A batch whose operator's SMSC cannot be reached says why it waits.
func TestSMSBatchSaysWhyItWaits(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	c := s.client(t)
	s.login(t, c, "pedro")
	resp, body := s.upload(t, c, s.host, s.csrf(t, c), "w", "04141234567,hola\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	progress := func() string {
		_, body := s.get(t, c, fmt.Sprintf("/console/sms/batches/%d/progress", bs[0].ID))
		return body
	}
	assert.Contains(t, progress(), "no gateway is running it", "nothing runs the operator")
	require.NoError(t, s.st.ReportOperatorHealth(context.Background(), store.OperatorHealth{OperatorID: s.op.ID, Process: "p",
		Binds: 1, UnboundSince: time.Now().Add(-time.Minute), LastError: "connection refused", ReportedAt: time.Now(), Interval: time.Minute}))
	assert.Contains(t, progress(), "not connected to its SMSC")
	assert.NotContains(t, progress(), "connection refused", "the SMSC's error is for administrators")
	admin := s.client(t)
	s.login(t, admin, "ana")
	_, body = s.get(t, admin, fmt.Sprintf("/console/sms/batches/%d/progress", bs[0].ID))
	assert.Contains(t, body, "connection refused")
}
