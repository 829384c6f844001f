package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
)

// tab drives one browser page in a test: each step has its own time
// limit, and a failure names the step.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func newTab(t *testing.T) *tab { return &tab{t: t, ctx: browsertest.New(t)} }

// do runs steps within 30 s.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(c, steps...), what)
}

// poll waits (20 s at most) until the JavaScript expression is true,
// across the page navigating meanwhile (a form sent, a link followed).
func (b *tab) poll(what, js string) {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(c, chromedp.Poll[bool](js))
		if err != nil && (strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "Cannot find context")) && c.Err() == nil {
			time.Sleep(50 * time.Millisecond) // the next page is loading
			continue
		}
		require.NoError(b.t, err, "%s: %s", what, js)
		return
	}
}

// eval returns the value of a JavaScript expression (awaited if it is a
// promise).
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, js)
	return v
}

// login opens url, which asks for a login, and logs in.
func (b *tab) login(url, login, password string) {
	b.t.Helper()
	b.do("log in as "+login,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`form.login`),
		chromedp.SendKeys(`input[name=login]`, login),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form.login button`),
		chromedp.WaitVisible(`header form.logout`), // logged in: the header of the console's pages
	)
}
