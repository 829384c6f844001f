package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Page drives one browser (see New) in a test: each step has its own
// time limit, and a failure names the browser and the step.
type Page struct {
	T    testing.TB
	Ctx  context.Context
	Name string // the browser's part in the test, e.g. "operator"
}

// NewPage starts a browser for the test.
func NewPage(t testing.TB, name string) Page { return Page{T: t, Ctx: New(t), Name: name} }

// Do runs steps within 30 s.
func (p Page) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	c, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	require.NoError(p.T, chromedp.Do(c, steps...), "%s: %s", p.Name, what)
}

// Poll waits (20 s at most) until the JavaScript expression is true,
// across the page navigating meanwhile (a form sent, a link followed).
func (p Page) Poll(what, js string) {
	p.T.Helper()
	c, cancel := context.WithTimeout(p.Ctx, 20*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(c, chromedp.Poll[bool](js))
		if err != nil && c.Err() == nil && (strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "Cannot find context")) {
			time.Sleep(50 * time.Millisecond) // the next page is loading
			continue
		}
		require.NoError(p.T, err, "%s: %s: %s", p.Name, what, js)
		return
	}
}

// Eval returns the value of a JavaScript expression (awaited if it is a
// promise).
func Eval[T any](p Page, js string) T {
	p.T.Helper()
	c, cancel := context.WithTimeout(p.Ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(p.T, err, "%s: %s", p.Name, js)
	return v
}
