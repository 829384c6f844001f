package widget

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/store"
)

// pngBytes is a small picture.
func pngBytes(t *testing.T, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// run and poll are browsertest.Page's steps on the customer's browser.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Page{T: t, Ctx: ctx, Name: "customer"}.Do(what, steps...)
}

func poll(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	browsertest.Page{T: t, Ctx: ctx, Name: "customer"}.Poll(what, js)
}

// operatorInbox records what a Go operator gets.
type operatorInbox struct {
	mu       sync.Mutex
	posts    []*chat.Post
	assigned chan int64
}

func (o *operatorInbox) handle(m chat.Message) {
	switch m := m.(type) {
	case *chat.Assigned:
		o.assigned <- m.ConversationID
	case *chat.Post:
		o.mu.Lock()
		o.posts = append(o.posts, m)
		o.mu.Unlock()
	}
}

func (o *operatorInbox) find(match func(*chat.Post) bool) *chat.Post {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.posts {
		if match(p) {
			return p
		}
	}
	return nil
}

// A customer uses the widget in a real browser: starts a conversation,
// reads the operator's answer, writes, sends a picture, gets one back,
// reloads the page in the middle and finds the conversation as it was,
// every message once.
func TestWidgetInABrowser(t *testing.T) {
	var mailedMu sync.Mutex
	mailed := map[string]store.Transcript{}
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			s.MailTranscript = func(_ context.Context, t store.Transcript, to string) error {
				mailedMu.Lock()
				defer mailedMu.Unlock()
				mailed[to] = t
				return nil
			}
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
		chromedp.SendKeys(`#start input[name=name]`, "Ana Pérez"),
		chromedp.SendKeys(`#start input[name=email]`, "ana@example.com"),
		chromedp.Click(`#start button`),
	)
	var conv int64
	select {
	case conv = <-in.assigned:
	case <-time.After(20 * time.Second):
		t.Fatal("the operator was never given the widget's customer")
	}
	poll(t, ctx, "status names the operator", `document.getElementById("status").textContent.includes("luis")`)
	poll(t, ctx, "the form is gone", `document.getElementById("start").offsetParent === null`)

	_, err = op.SendTo(ctx, conv, "", "¿En qué puedo ayudarle?")
	require.NoError(t, err)
	poll(t, ctx, "the operator's answer", `[...document.querySelectorAll("#messages li.operator")].some(li => li.textContent.includes("¿En qué puedo ayudarle?"))`)

	run(t, ctx, "write", chromedp.SendKeys(`#compose textarea`, "Mi pedido no llegó"), chromedp.Click(`#compose button`))
	require.Eventually(t, func() bool { return in.find(func(p *chat.Post) bool { return p.Text == "Mi pedido no llegó" }) != nil },
		20*time.Second, 20*time.Millisecond, "the operator gets the customer's message")

	// A picture from the customer: the operator gets it, byte for byte.
	red := pngBytes(t, color.RGBA{200, 0, 0, 255})
	file := filepath.Join(t.TempDir(), "factura.png")
	require.NoError(t, os.WriteFile(file, red, 0o644))
	run(t, ctx, "attach", chromedp.SetUploadFiles(`#compose input[type=file]`, []string{file}), chromedp.Click(`#compose button`))
	var up *chat.Post
	require.Eventually(t, func() bool {
		up = in.find(func(p *chat.Post) bool { return p.Kind == chat.PostAttachment && p.SenderRole == chat.RoleCustomer })
		return up != nil
	}, 20*time.Second, 20*time.Millisecond, "the operator gets the picture")
	assert.Equal(t, "factura.png", up.FileName)
	assert.Equal(t, "image/png", up.MediaType)
	var got bytes.Buffer
	_, err = op.Fetch(ctx, up.AttachmentID, &got)
	require.NoError(t, err)
	assert.Equal(t, red, got.Bytes())

	// A picture from the operator shows in the page.
	_, err = op.SendFile(ctx, conv, "etiqueta.png", bytes.NewReader(pngBytes(t, color.RGBA{0, 0, 200, 255})), 1<<20, nil)
	require.NoError(t, err)
	poll(t, ctx, "the operator's picture", `[...document.querySelectorAll("#messages li.operator img")].some(i => i.complete && i.naturalWidth === 8)`)
	browsertest.Tour(t, ctx, "widget")

	// A reload in the middle: the same conversation, every message once.
	before, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li")].map(li => li.dataset.seq)`))
	require.NoError(t, err)
	run(t, ctx, "reload", chromedp.Reload())
	poll(t, ctx, "the conversation after the reload", fmt.Sprintf(`document.querySelectorAll("#messages li").length >= %d`, len(before)))
	after, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li")].map(li => li.dataset.seq)`))
	require.NoError(t, err)
	assert.Equal(t, before, after, "every message once, in order, after the reload")
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("messages").textContent`))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(texts, "Mi pedido no llegó"))
	assert.Equal(t, 1, strings.Count(texts, "¿En qué puedo ayudarle?"))
	_, err = op.SendTo(ctx, conv, "", "Ya lo encontré")
	require.NoError(t, err)
	poll(t, ctx, "live again after the reload", `document.getElementById("messages").textContent.includes("Ya lo encontré")`)

	// The operator closes: the page says so; the customer has the
	// conversation mailed to the address she gave.
	require.NoError(t, op.CloseConversation(ctx, conv))
	poll(t, ctx, "closed", `document.getElementById("status").textContent.includes("ended")`)
	run(t, ctx, "mail me the transcript", chromedp.Click(`#mail-transcript`))
	poll(t, ctx, "mailed", `document.getElementById("mailed").textContent === "Sent to a***@example.com."`)
	mailedMu.Lock()
	tr, ok := mailed["ana@example.com"]
	mailedMu.Unlock()
	require.True(t, ok, "the transcript went to her address")
	var said []string
	for _, m := range tr.Messages {
		said = append(said, m.Text)
	}
	assert.Contains(t, said, "Mi pedido no llegó")
	assert.Contains(t, said, "Ya lo encontré")
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("mail-transcript").disabled`))
	require.NoError(t, err)
	assert.True(t, disabled, "one a minute: the button waits")
}

// A site that signs its customers' identity passes the token to the
// widget (embed.js data-token): no form, and the operator sees the
// customer as verified.
func TestWidgetWithSiteToken(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", Handler(srv.Chat, chatws.Handler{})))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx := browsertest.New(t)
	got := make(chan *chat.Assigned, 1)
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Handler: func(m chat.Message) {
			if a, ok := m.(*chat.Assigned); ok {
				got <- a
			}
		}})
	require.NoError(t, err)
	defer op.Close()
	token := srv.Customer("c-9", "Bea Ruiz", "bea@example.com")
	run(t, ctx, "open with a token", chromedp.Navigate(hs.URL+"/chat/?token="+token))
	select {
	case a := <-got:
		assert.Equal(t, "Bea Ruiz", a.CustomerName)
		assert.True(t, a.Verified)
	case <-time.After(20 * time.Second):
		t.Fatal("no conversation from the signed customer")
	}
	poll(t, ctx, "no form", `document.getElementById("start").hidden && !document.getElementById("conversation").hidden`)
}
