package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/browsertest"
)

var inspectingURL = regexp.MustCompile(` at (http://127\.0\.0\.1:\d+)/$`)

// fetch GETs url with the header pairs and returns the status and body.
func fetch(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestUIShowsABatch: weir ui shows the batch that weir batch recorded,
// both through the built binary, in a browser.
func TestUIShowsABatch(t *testing.T) {
	t.Parallel()
	bin, _ := weirBinary(t)
	home := t.TempDir()
	out, err := exec.Command(bin, "batch", "--home", home, scores, "--data", scoresJSONL).CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "three of the lines fail: %s", out)
	id := runIDPattern.FindString(string(out))
	require.NotEmpty(t, id, string(out))

	ui := startListening(t, ".", nil, 1, inspectingURL, "ui", "--home", home, "--addr", "127.0.0.1:0")
	abs, err := filepath.Abs(home)
	require.NoError(t, err)
	assert.Equal(t, []string{"inspecting the run record " + abs + " at " + ui.url + "/"}, ui.start)
	code, body := fetch(t, ui.url+"/api/runs")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"id":"`+id+`"`)

	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(ui.url+"/run.html?run="+id), browsertest.Visible("#failed-lines"), browsertest.Visible("#nodes"))
	assert.Equal(t, "completed", tb.Text(t, "#run-status"))
	assert.Equal(t, "6", tb.Text(t, "#done"))
	assert.Equal(t, "3", tb.Text(t, "#failed"))
	assert.Contains(t, tb.Text(t, "#failed-lines"), `invalid duration "soon"`)
	tb.Screenshot(t, "batch")
	tb.Do(t, chromedp.Navigate(ui.url+"/line.html?run="+id+"&line=3"), browsertest.Visible("#node-nap.st-failed"))
	tb.Screenshot(t, "line")
	tb.NoErrors(t)

	exitCode, rest := ui.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exitCode)
	assert.Empty(t, rest)
}

func TestUIUsage(t *testing.T) {
	t.Parallel()
	runCases(t, []commandCase{
		{
			name:   "beyond loopback without a token",
			args:   []string{"ui", "--home", t.TempDir(), "--addr", "0.0.0.0:0"},
			code:   2,
			stderr: "weir: --addr 0.0.0.0:0 is not a loopback address: the inspector needs a token there (--token or $WEIR_ADMIN_TOKEN)\n" + usage("ui"),
		},
		{
			name:   "a trace URL without its place",
			args:   []string{"ui", "--home", t.TempDir(), "--addr", "127.0.0.1:0", "--trace-url", "https://tracing.example/trace"},
			code:   2,
			stderr: "weir: --trace-url: new inspector: the trace URL \"https://tracing.example/trace\" has no {trace_id} to replace\n" + usage("ui"),
		},
		{
			name:   "an argument",
			args:   []string{"ui", "runs"},
			code:   2,
			stderr: "weir: ui takes no arguments, got 1\n" + usage("ui"),
		},
	})
}

// TestServeUI: weir serve has the inspector at /ui/, with its deployments;
// on loopback it needs no token, beyond it the admin token.
func TestServeUI(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	home := t.TempDir()
	s := startServe(t, root, nil, 1, "--home", home, "examples/hello/flow.cue")
	code, body := fetch(t, s.url+"/ui/api/deployments")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\{"deployments":\[\{"flow":"hello","version":"v1","weight":100,"default":true,"created":"[^"]+"\}\]\}`+"\n$", body)
	code, body = fetch(t, s.url+"/ui/api/deployments/hello/v1/flow")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\{"name":"hello","file":"[^"]*examples/hello/flow.cue",`, body, "the deployed version's flow")
	code, body = fetch(t, s.url+"/ui/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<script src="runs.js" defer></script>`)
	code, _ = fetch(t, s.url+"/score")
	assert.Equal(t, http.StatusMethodNotAllowed, code, "the server's own routes are as they were")

	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(s.url+"/ui/deployments.html"), browsertest.Visible("#deployments"))
	assert.Contains(t, tb.Text(t, "#deployments tbody"), "hello")
	tb.Screenshot(t, "deployments")
	tb.NoErrors(t)

	// Every interface: the admin token, which turns the admin API on too.
	open := startListening(t, root, nil, 2, regexp.MustCompile(` at http://0\.0\.0\.0:(\d+)`),
		"serve", "--home", home, "--addr", "0.0.0.0:0", "--admin-token", "tok", "examples/hello/flow.cue")
	url := "http://127.0.0.1:" + open.url
	code, body = fetch(t, url+"/ui/api/runs")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, `{"error":"missing token: send Authorization: Bearer TOKEN, or the token as the password"}`+"\n", body)
	code, body = fetch(t, url+"/ui/api/runs", "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"flows":[],"runs":[]}`+"\n", body)
}
