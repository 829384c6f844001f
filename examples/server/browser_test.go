package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

func picture(t *testing.T, dir, name string, c color.Color) string {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

// The whole chat in two real browsers against the example server: an
// operator in the console, a customer in the widget. Text and a picture
// go both ways, the customer reloads in the middle and loses and repeats
// nothing, the operator downloads the transcript and closes; a second
// customer is transferred to a colleague.
func TestConsoleAndWidgetInTwoBrowsers(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	require.NoError(t, err)
	for _, a := range []store.Account{{Login: "marta", Name: "Marta", Role: store.RoleChatOperator}, {Login: "luis", Name: "Luis", Role: store.RoleChatOperator}} {
		h, err := bcrypt.GenerateFromPassword([]byte("clave de "+a.Login), bcrypt.MinCost)
		require.NoError(t, err)
		a.PasswordHash = string(h)
		require.NoError(t, st.PutAccount(ctx, &a))
	}
	require.NoError(t, st.Close())
	logs := &syncBuffer{}
	_, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-chat-addr", "127.0.0.1:0"}, logs)
	defer stop()
	waitFor(t, logs, "chat widget")
	find := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(logs.String())
		require.NotNil(t, m, re)
		return m[1]
	}
	consoleURL, widgetURL, chatAddr := find(`msg="web console" url=(\S+)`), find(`msg="chat widget" url=(\S+)`), find(`msg="chat listening" addr=(\S+)`)

	// Luis, the colleague, on a program; away, so that customers go to Marta.
	var lmu sync.Mutex
	var luisGot []int64
	luis, err := chat.Dial(ctx, chatAddr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "clave de luis",
		Handler: func(m chat.Message) {
			if a, ok := m.(*chat.Assigned); ok {
				lmu.Lock()
				luisGot = append(luisGot, a.ConversationID)
				lmu.Unlock()
			}
		}})
	require.NoError(t, err)
	defer luis.Close()
	require.NoError(t, luis.SetPresence(chat.Away))

	op := browsertest.NewPage(t, "operator")
	cu := browsertest.NewPage(t, "customer")
	op.Do("log in", chromedp.Navigate(consoleURL+"chat"), chromedp.WaitVisible(`form.login`),
		chromedp.SendKeys(`input[name=login]`, "marta"), chromedp.SendKeys(`input[name=password]`, "clave de marta"),
		chromedp.Click(`form.login button`), chromedp.WaitVisible(`#console-chat`))
	op.Poll("connected", `document.getElementById("chat-status").textContent === "Connected."`)

	cu.Do("start", chromedp.Navigate(widgetURL), chromedp.SendKeys(`#start input[name=name]`, "Ana Pérez"),
		chromedp.SendKeys(`#start input[name=email]`, "ana@example.com"), chromedp.Click(`#start button`))
	op.Poll("Ana's tab", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.startsWith("Ana"))`)
	cu.Poll("the operator named", `document.getElementById("status").textContent.includes("Marta")`)

	cu.Do("write", chromedp.SendKeys(`#compose textarea`, "Hola, mi pedido no llegó\n"))
	op.Poll("her message", `document.querySelector(".panel:not([hidden]) .messages").textContent.includes("mi pedido no llegó")`)
	op.Do("answer", chromedp.SendKeys(`.panel:not([hidden]) textarea`, "Lo reviso ahora mismo\n"))
	cu.Poll("the answer", `document.getElementById("messages").textContent.includes("Lo reviso ahora mismo")`)

	files := t.TempDir()
	cu.Do("a picture from her", chromedp.SetUploadFiles(`#compose input[type=file]`, []string{picture(t, files, "factura.png", color.RGBA{200, 0, 0, 255})}),
		chromedp.Click(`#compose button`))
	op.Poll("her picture", `[...document.querySelectorAll(".panel:not([hidden]) img")].some(i => i.complete && i.naturalWidth === 8)`)
	op.Do("a picture from the operator", chromedp.SetUploadFiles(`.panel:not([hidden]) input[name=file]`, []string{picture(t, files, "etiqueta.png", color.RGBA{0, 0, 200, 255})}),
		chromedp.Click(`.panel:not([hidden]) .compose button`))
	cu.Poll("the operator's picture", `[...document.querySelectorAll("#messages li.operator img")].some(i => i.complete && i.naturalWidth === 8)`)

	// She reloads in the middle: the same conversation, each message once.
	before := browsertest.Eval[[]string](cu, `[...document.querySelectorAll("#messages li")].map(li => li.dataset.seq)`)
	cu.Do("reload", chromedp.Reload())
	cu.Poll("the conversation again", `document.querySelectorAll("#messages li").length >= `+strconv.Itoa(len(before)))
	assert.Equal(t, before, browsertest.Eval[[]string](cu, `[...document.querySelectorAll("#messages li")].map(li => li.dataset.seq)`))
	assert.Equal(t, 1, strings.Count(browsertest.Eval[string](cu, `document.getElementById("messages").textContent`), "Lo reviso ahora mismo"))
	op.Do("after her reload", chromedp.SendKeys(`.panel:not([hidden]) textarea`, "Ya lo encontré\n"))
	cu.Poll("live after the reload", `document.getElementById("messages").textContent.includes("Ya lo encontré")`)

	op.Do("transcript", chromedp.Click(`.panel:not([hidden]) button.transcript`))
	op.Poll("the transcript", `window.lastTranscript !== undefined`)
	text := browsertest.Eval[string](op, `window.lastTranscript.blob.text()`)
	for _, said := range []string{"mi pedido no llegó", "Lo reviso ahora mismo", "Ya lo encontré", "factura.png"} {
		assert.Contains(t, text, said)
	}
	op.Do("close", chromedp.Click(`.panel:not([hidden]) button.close`))
	cu.Poll("ended", `document.getElementById("status").textContent.includes("ended")`)

	// A second customer, transferred to Luis.
	cu.Do("start again", chromedp.Reload(), chromedp.WaitVisible(`#start`), chromedp.SendKeys(`#start input[name=name]`, "Bea"),
		chromedp.SendKeys(`#start input[name=email]`, "bea@example.com"), chromedp.Click(`#start button`))
	op.Poll("Bea's tab", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.startsWith("Bea"))`)
	op.Do("open Bea's and transfer", chromedp.Click(`#tabs button:last-child`),
		chromedp.SendKeys(`.panel:not([hidden]) input[name=to]`, "luis"), chromedp.Click(`.panel:not([hidden]) button.transfer`))
	require.Eventually(t, func() bool { lmu.Lock(); defer lmu.Unlock(); return len(luisGot) == 1 }, 20*time.Second, 20*time.Millisecond,
		"Luis gets her conversation")
	cu.Poll("told", `document.getElementById("status").textContent.includes("Luis")`)
	op.Poll("the tab says so", `[...document.querySelectorAll("#tabs button")].some(b => b.textContent.includes("transferred"))`)
}
