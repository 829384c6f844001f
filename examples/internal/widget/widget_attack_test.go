package widget

import (
	"bytes"
	"image/color"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
)

// A hostile operator (or a compromised operator account) writes HTML and
// script into its display name, its messages and its file names, and
// sends an SVG with script: the page shows them as text, runs nothing,
// and adds no element but the ones the widget makes.
func TestAttackWidgetRendersOperatorMarkupAsText(t *testing.T) {
	const evilName = `<img src=x onerror="window.pwned='name'">`
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			d := s.Operators.(chat.StaticDirectory)
			a := d["luis"]
			a.Name = evilName
			d["luis"] = a
		}})
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", Handler(srv.Chat, chatws.Handler{})))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	ctx := browsertest.New(t)
	in := &operatorInbox{assigned: make(chan int64, 4)}
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: in.handle})
	require.NoError(t, err)
	defer op.Close()
	run(t, ctx, "open the widget and start",
		chromedp.Navigate(hs.URL+"/chat/"),
		chromedp.Evaluate[chromedp.Void](`window.violations = []; document.addEventListener("securitypolicyviolation", e => violations.push(e.violatedDirective)); 0`),
		chromedp.SendKeys(`#start input[name=name]`, `<script>alert(1)</script>`),
		chromedp.SendKeys(`#start input[name=email]`, "ana@example.com"),
		chromedp.Click(`#start button`),
	)
	var conv int64
	select {
	case conv = <-in.assigned:
	case <-time.After(20 * time.Second):
		t.Fatal("not assigned")
	}
	texts := []string{`<img src=x onerror="window.pwned='text'">`, `<script>window.pwned='script'</script>`,
		`javascript:window.pwned='url'`, `<a href="javascript:window.pwned='a'">click</a>`}
	for _, s := range texts {
		_, err := op.SendTo(ctx, conv, "", s)
		require.NoError(t, err)
	}
	_, err = op.SendFile(ctx, conv, `"><img src=x onerror="window.pwned='file'">.png`,
		bytes.NewReader(pngBytes(t, color.RGBA{0, 200, 0, 255})), 1<<20, nil)
	require.NoError(t, err)
	svg := `<svg xmlns="http://www.w3.org/2000/svg" onload="window.top.pwned='svg'"><script>window.top.pwned='svg2'</script></svg>`
	_, err = op.SendFile(ctx, conv, "logo.svg", strings.NewReader(svg), 1<<20, nil)
	if err != nil {
		t.Logf("the SVG was refused: %v", err)
	}
	poll(t, ctx, "every message shown", `document.getElementById("messages").textContent.includes("click</a>")`)
	poll(t, ctx, "the picture", `[...document.querySelectorAll("#messages img")].some(i => i.complete && i.naturalWidth === 8)`)
	time.Sleep(500 * time.Millisecond)

	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		pwned: String(window.pwned),
		imgs: document.querySelectorAll("#messages img").length,
		scripts: document.querySelectorAll("#messages script, #messages svg, #messages a[href^=javascript]").length,
		status: document.getElementById("status").textContent,
		violations: violations.join(","),
		text: document.getElementById("messages").textContent,
		links: [...document.querySelectorAll("#messages a")].map(a => a.textContent),
	})`))
	require.NoError(t, err)
	t.Logf("%v", got)
	assert.Equal(t, "undefined", got["pwned"])
	assert.Equal(t, float64(1), got["imgs"], "one picture, no injected <img>")
	assert.Equal(t, float64(0), got["scripts"])
	assert.Equal(t, "", got["violations"], "nothing tried to run")
	for _, s := range texts {
		assert.Contains(t, got["text"], s, "shown as text")
	}
	assert.Contains(t, got["status"], evilName, "the operator's name as text")
}

// The operator writes the longest message allowed; the customer reloads
// the page. The widget resumes with its token; when the server's WELCOME
// and the catch-up come in one WebSocket message, switchboard-chat.js
// refuses the 16 KiB POST (its frame limit before the WELCOME is read)
// and connect fails, which the widget takes for an expired token: it
// forgets the conversation and shows the start form again.
//
// The control serves the same script with the Framer's first limit raised
// to 1 MiB: it keeps the conversation through every reload.
func TestAttackWidgetForgetsConversationAfterLongMessage(t *testing.T) {
	t.Run("control: script with a larger first frame limit", func(t *testing.T) {
		patched := strings.Replace(string(chatws.Script), "new Framer(16 << 10)", "new Framer(1 << 20)", 1)
		require.NotEqual(t, string(chatws.Script), patched)
		widgetReloads(t, patched)
	})
	t.Run("switchboard-chat.js", func(t *testing.T) { widgetReloads(t, "") })
}

func widgetReloads(t *testing.T, script string) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", Handler(srv.Chat, chatws.Handler{})))
	if script != "" {
		mux.HandleFunc("GET /chat/switchboard-chat.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(script))
		})
	}
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx := browsertest.New(t)
	in := &operatorInbox{assigned: make(chan int64, 4)}
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: in.handle})
	require.NoError(t, err)
	defer op.Close()
	// Record why a connect fails (the widget does not show it on resume).
	_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => { let S;
			Object.defineProperty(window, "SwitchboardChat", {configurable: true, get: () => S, set: v => { S = v;
				const connect = v.prototype.connect;
				v.prototype.connect = function () { return connect.call(this).catch(e => {
					localStorage.setItem("why", (localStorage.getItem("why") || "") + e.message + "; "); throw e; }); };
			}}); })()`})
	require.NoError(t, err)
	run(t, ctx, "start",
		chromedp.Navigate(hs.URL+"/chat/"),
		chromedp.SendKeys(`#start input[name=name]`, "Ana"),
		chromedp.SendKeys(`#start input[name=email]`, "ana@example.com"),
		chromedp.Click(`#start button`),
	)
	var conv int64
	select {
	case conv = <-in.assigned:
	case <-time.After(20 * time.Second):
		t.Fatal("not assigned")
	}
	_, err = op.SendTo(ctx, conv, "", strings.Repeat("ñ", chat.MaxText/2))
	require.NoError(t, err)
	poll(t, ctx, "the long message", `document.querySelectorAll("#messages li.operator").length >= 1`)
	// A busy server (here: spinning goroutines on every processor) writes
	// the WELCOME and the catch-up in one message more often.
	var stop atomic.Bool
	defer stop.Store(true)
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for !stop.Load() { // spin
			}
		}()
	}
	for i := range 60 { // the server writes the WELCOME and the catch-up in one message some of the time
		run(t, ctx, "reload", chromedp.Reload())
		poll(t, ctx, "the page settled", `sessionStorage.getItem("switchboard-chat") === null ||
			(!document.getElementById("conversation").hidden && document.querySelectorAll("#messages li.operator").length >= 1)`)
		form, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`sessionStorage.getItem("switchboard-chat") === null`))
		require.NoError(t, err)
		if form {
			msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem("why") || ""`))
			t.Fatalf("reload %d: the widget forgot the conversation and shows the form again (%q)", i, msg)
		}
	}
}
