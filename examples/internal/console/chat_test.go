package console

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// inbox records what a Go chat client gets.
type inbox struct {
	mu   sync.Mutex
	msgs []chat.Message
}

func (b *inbox) handle(m chat.Message) { b.mu.Lock(); b.msgs = append(b.msgs, m); b.mu.Unlock() }

func (b *inbox) has(match func(chat.Message) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if match(m) {
			return true
		}
	}
	return false
}

// An operator serves customers from the console in a real browser: takes
// one from the line, reads and answers, gets a picture, reloads the page
// and finds the conversation whole, downloads the transcript, transfers
// it to a colleague, and closes another.
func TestOperatorChatInABrowser(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	h, err := bcrypt.GenerateFromPassword([]byte("clave de marta"), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, st.PutAccount(ctx, &store.Account{Login: "marta", Name: "Marta", Role: store.RoleChatOperator, PasswordHash: string(h)}))
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"marta": "unused", "luis": "pw-luis"}})
	defer srv.Close()
	c := &Server{Store: st, Prefix: "/console", Chat: srv.Chat}
	handler, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", handler))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	b := browsertest.NewPage(t, "operator")
	login(b, hs.URL+"/console/chat", "marta", "clave de marta")
	b.Poll("connected", `document.getElementById("chat-status").textContent === "Connected."`)
	b.Do("away: new customers wait in line", chromedp.Click(`#available`))
	time.Sleep(200 * time.Millisecond) // the presence reaches the server

	ana := &inbox{}
	cust, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com", Handler: ana.handle})
	require.NoError(t, err)
	defer cust.Close()
	conv := cust.ConversationID()
	b.Poll("Ana in the line", `[...document.querySelectorAll("#line li")].some(li => li.textContent.includes("Ana"))`)
	b.Do("accept her", chromedp.Click(`#line li button.accept`))
	b.Poll("her tab", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.startsWith("Ana"))`)

	_, err = cust.Send(ctx, "hola, ¿hay alguien?")
	require.NoError(t, err)
	b.Poll("her message", `document.querySelector(".panel:not([hidden]) .messages").textContent.includes("hola, ¿hay alguien?")`)
	b.Do("answer", chromedp.SendKeys(`.panel:not([hidden]) textarea`, "Buenas, soy Marta\n"))
	require.Eventually(t, func() bool {
		return ana.has(func(m chat.Message) bool { p, ok := m.(*chat.Post); return ok && p.Text == "Buenas, soy Marta" })
	}, 20*time.Second, 20*time.Millisecond, "the customer gets the answer")
	b.Poll("read mark", `document.querySelector(".panel:not([hidden]) li.mine") !== null`)

	img := image.NewRGBA(image.Rect(0, 0, 5, 5))
	img.Set(1, 1, color.RGBA{0, 128, 0, 255})
	var pic bytes.Buffer
	require.NoError(t, png.Encode(&pic, img))
	_, err = cust.SendFile(ctx, 0, "foto.png", bytes.NewReader(pic.Bytes()), 1<<20, nil)
	require.NoError(t, err)
	b.Poll("her picture", `[...document.querySelectorAll(".panel:not([hidden]) img")].some(i => i.complete && i.naturalWidth === 5)`)
	browsertest.Tour(t, b.Ctx, "console-chat")

	// A reload: the conversation comes back whole, each message once.
	before, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".panel .messages li")].map(li => li.dataset.seq)`))
	require.NoError(t, err)
	b.Do("reload", chromedp.Reload(), chromedp.WaitVisible(`#console-chat`))
	b.Poll("after the reload", `document.querySelectorAll(".panel .messages li").length >= `+strconv.Itoa(len(before)))
	after, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".panel .messages li")].map(li => li.dataset.seq)`))
	require.NoError(t, err)
	assert.Equal(t, before, after)

	b.Do("transcript", chromedp.Click(`.panel:not([hidden]) button.transcript`))
	b.Poll("the transcript", `window.lastTranscript !== undefined`)
	text, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`window.lastTranscript.blob.text()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Contains(t, text, "hola, ¿hay alguien?")
	assert.Contains(t, text, "Buenas, soy Marta")

	// A colleague takes her over.
	luisIn := &inbox{}
	luis, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: luisIn.handle})
	require.NoError(t, err)
	defer luis.Close()
	b.Do("transfer", chromedp.SendKeys(`.panel:not([hidden]) input[name=to]`, "luis"), chromedp.Click(`.panel:not([hidden]) button.transfer`))
	require.Eventually(t, func() bool {
		return luisIn.has(func(m chat.Message) bool { a, ok := m.(*chat.Assigned); return ok && a.ConversationID == conv })
	}, 20*time.Second, 20*time.Millisecond, "luis gets the conversation")
	b.Poll("the tab says so", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.includes("transferred"))`)

	// Available again, and luis gone (else the next customer may be his):
	// the next customer comes straight to her, and she closes.
	require.NoError(t, luis.Close())
	b.Do("available", chromedp.Click(`#available`))
	bea := &inbox{}
	cust2, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Bea", Email: "bea@example.com", Handler: bea.handle})
	require.NoError(t, err)
	defer cust2.Close()
	b.Poll("Bea's tab", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.startsWith("Bea"))`)
	b.Do("open and close Bea's", chromedp.Click(`#tabs button:last-child`), chromedp.Click(`.panel:not([hidden]) button.close`))
	require.Eventually(t, func() bool {
		return bea.has(func(m chat.Message) bool { e, ok := m.(*chat.Event); return ok && e.Kind == chat.EventClosed })
	}, 20*time.Second, 20*time.Millisecond, "Bea is told the conversation closed")
}
