// Package browsertest starts headless Chromium for tests (driven by
// github.com/chromedp/chromedp): a fresh profile per browser, bound to
// 127.0.0.1, stopped with the test.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// Path finds Chromium: $CHROMIUM, or chromium / chromium-browser /
// google-chrome on PATH. "" if there is none.
func Path() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium and returns a context for chromedp that
// lives until the test ends (the browser is stopped then). Without
// Chromium the test is skipped, or fails when CI=true.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := Path()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed (apt-get install chromium); CI=true needs it")
		}
		t.Skip("Chromium is not installed (apt-get install chromium)")
	}
	// The profile is removed by hand: the browser's helper processes may
	// still write to it for a moment after it was stopped.
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", os.Geteuid() == 0), // root has no user namespace sandbox
		chromedp.Flag("remote-debugging-address", "127.0.0.1"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 768),
		remote.WebSocket,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		if t.Failed() {
			Screenshot(t, ctx, "failed")
		}
		cancel()
		cancelAlloc() // stops the browser process it started, and waits for it
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if err := os.RemoveAll(profile); err == nil || time.Now().After(deadline) {
				return
			}
		}
	})
	// Launch now, on the context itself: the browser lives as long as the
	// context of the first call (a timeout there would stop it), and the
	// first step of the test then has its timeout to itself.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Chromium did not start within a minute")
	}
	return ctx
}

// Screenshot writes a PNG of the page to $SCREENSHOTS (default: a
// switchboard-screenshots folder in the temporary directory) as
// TEST-name.png and logs its path. New takes one of every failed test.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchboard-screenshots")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err = os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// Tour writes a screenshot of the page's viewport as $TOUR_DIR/name.png
// when TOUR_DIR is set (the README's tour is made so: TOUR_DIR=$PWD/docs/tour
// go test ./examples/internal/widget ./examples/internal/console); otherwise
// it does nothing.
func Tour(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("TOUR_DIR")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	if err != nil {
		t.Errorf("tour screenshot %s: %v", name, err)
	}
}
