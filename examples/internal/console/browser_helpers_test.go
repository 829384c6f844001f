package console

import (
	"github.com/chromedp/chromedp"

	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
)

// login opens url, which asks for a login, and logs in.
func login(b browsertest.Page, url, login, password string) {
	b.T.Helper()
	b.Do("log in as "+login,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`form.login`),
		chromedp.SendKeys(`input[name=login]`, login),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form.login button`),
		chromedp.WaitVisible(`header form.logout`), // logged in: the header of the console's pages
	)
}
