// Package browsertest drives headless Chromium (Debian's chromium) from Go
// tests, for the tests of the run inspector's pages: a tab, waiting on the
// page, screenshots, and the errors the pages wrote to the console.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tab is a tab of headless Chromium, and what its pages wrote to the
// console as errors: a policy violation, a script that threw, a fetch that
// failed. Its methods are for the test's goroutine.
type Tab struct {
	Ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// New starts Chromium, headless, for the test t, and returns its tab; the
// browser ends with the test. Without Chromium the test fails, saying how
// to install it.
func New(t *testing.T) *Tab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the browser tests need Chromium: apt-get install -y chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container has no user namespace to sandbox with
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	tb := &Tab{Ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tb.mu.Lock()
				tb.errors = append(tb.errors, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

// Do runs the actions, and fails the test on an error.
func (tb *Tab) Do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(tb.Ctx, actions...))
}

// Text returns the text of the element sel, trimmed, once it is in the
// page. It asks the page for the element each time rather than holding a
// DOM node, which a page that draws itself again would replace.
func (tb *Tab) Text(t *testing.T, sel string) string {
	t.Helper()
	q := jsString(sel)
	require.NoError(t, chromedp.Do(tb.Ctx, Until(`document.querySelector(`+q+`) !== null`)))
	s, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[string](`document.querySelector(`+q+`).innerText`))
	require.NoError(t, err)
	return strings.TrimSpace(s)
}

// Visible waits until the element sel is in the page and shown, asking
// the page each time as Text does.
func Visible(sel string) chromedp.Action[chromedp.Void] {
	return Until(`(e => e !== null && e.getClientRects().length > 0)(document.querySelector(` + jsString(sel) + `))`)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Eval returns the value of a JavaScript expression in the page.
func Eval[T any](t *testing.T, tb *Tab, expression string) T {
	t.Helper()
	v, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[T](expression))
	require.NoError(t, err)
	return v
}

// Until waits for the JavaScript expression to hold. Its bound only keeps
// a broken page from hanging the test.
func Until(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingTimeout(2*time.Minute))
}

// Screenshot saves the whole page as name.png in the test's output
// folder: $WEIR_TEST_OUT/TestName when set, else a temporary folder.
func (tb *Tab) Screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := t.TempDir()
	if out := os.Getenv("WEIR_TEST_OUT"); out != "" {
		dir = filepath.Join(out, t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// NoErrors checks that the pages wrote no error to the console.
func (tb *Tab) NoErrors(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	assert.Empty(t, tb.errors, "errors in the console")
}
