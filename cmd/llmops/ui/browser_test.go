package ui_test

// The browser side of the end-to-end tests: Debian's headless Chromium
// driven by chromedp, with every console error and uncaught exception of
// the pages collected, and a screenshot of each page written under
// $LLMOPS_UI_SCREENSHOTS (or a temporary directory named in the log).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// HowToRunChromium says how to give the browser tests a browser.
const HowToRunChromium = "the browser tests need Chromium: apt-get install -y chromium (or set LLMOPS_CHROMIUM to a Chrome or Chromium binary)"

// chromiumPath finds Chromium, or skips t saying how to get it (fails it
// under LLMOPS_REQUIRE_SERVICES=1).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LLMOPS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
		t.Fatalf("LLMOPS_REQUIRE_SERVICES=1 and no Chromium: %s", HowToRunChromium)
	}
	t.Skip("skipped: " + HowToRunChromium)
	return ""
}

// browser is one headless Chromium with one tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	errors  []string // console errors and exceptions of the pages
	shotDir string
}

var (
	shotsOnce sync.Once
	shotsDir  string
)

// screenshotDir is where screenshots go: $LLMOPS_UI_SCREENSHOTS, else a
// directory kept after the tests (its path is logged).
func screenshotDir(t *testing.T) string {
	shotsOnce.Do(func() {
		shotsDir = os.Getenv("LLMOPS_UI_SCREENSHOTS")
		if shotsDir == "" {
			shotsDir, _ = os.MkdirTemp("", "llmops-ui-screenshots-")
		}
		_ = os.MkdirAll(shotsDir, 0o755)
	})
	return shotsDir
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, shotDir: screenshotDir(t)}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// visit opens url and waits until sel is visible.
func (b *browser) visit(url, sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("%s: waiting for %s: %v\npage text: %s", url, sel, err, b.text("main"))
	}
}

// text returns the text of the first element sel matches ("" on error).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	return s
}

// eval evaluates a JavaScript expression into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true, failing with what
// it waited for after timeout.
func (b *browser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		b.t.Fatalf("waiting %s for %s (%s): %v\npage text: %s", timeout, what, expr, err, b.text("main"))
	}
}

// screenshot saves the whole page as NAME.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shotDir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// expectConsoleError waits until the console reported an error that
// contains substr (a page that is meant to fail), then forgets the errors
// seen so far.
func (b *browser) expectConsoleError(substr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		found := false
		for _, e := range b.errors {
			found = found || strings.Contains(e, substr)
		}
		if found || time.Now().After(deadline) {
			b.errors = nil
		}
		b.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no console error with %q within %s", substr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noConsoleErrors fails the test with the console errors seen so far.
func (b *browser) noConsoleErrors(page string) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errors
	b.errors = nil
	b.mu.Unlock()
	if len(errs) > 0 {
		b.t.Errorf("%s: console errors:\n  %s", page, strings.Join(errs, "\n  "))
	}
}
