package inspect_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/inspect"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/browsertest"
)

// TestBrowserBatchLive opens the page of a batch while it runs, and sees
// its counts move, without reloading, until it ends.
func TestBrowserBatchLive(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{Poll: 50 * time.Millisecond})
	// Five naps of 250ms outlast the second between two flushes of the
	// record, so the index counts some lines while the last one holds.
	var lines []string
	for i := 1; i <= 5; i++ {
		lines = append(lines, fmt.Sprintf(`{"name":"P%d","wait":"250ms"}`, i))
	}
	lines = append(lines, `{"name":"Last","hold":true}`)
	b := fx.batch(t, "live", lines...)
	var waitErr error
	waited := make(chan struct{})
	go func() {
		_, waitErr = b.Wait(nil)
		close(waited)
	}()
	release := sync.OnceFunc(func() { close(fx.release) })
	t.Cleanup(func() {
		release()
		<-waited
	})

	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(fx.url+"run.html?run=live"), browsertest.Visible("#counts"),
		chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	assert.Equal(t, "running", tb.Text(t, "#run-status"))
	tb.Do(t, browsertest.Until(`Number(document.getElementById("done").textContent) >= 4`))
	assert.Equal(t, "running", tb.Text(t, "#run-status"), "the last line holds")
	tb.Screenshot(t, "running")

	release()
	<-waited
	require.NoError(t, waitErr)
	// The table of nodes comes with the metrics, at the end: the page
	// is whole from then on.
	tb.Do(t, browsertest.Until(`document.getElementById("nodes") !== null`))
	assert.Equal(t, "completed", tb.Text(t, "#run-status"))
	assert.Equal(t, "6", tb.Text(t, "#done"))
	assert.Equal(t, "6", tb.Text(t, "#succeeded"))
	assert.True(t, browsertest.Eval[bool](t, tb, `window.sameDocument === true`), "the page followed the run without a reload")
	tb.Do(t, browsertest.Visible("#histogram"))
	assert.Contains(t, tb.Text(t, "#lines"), "line 6")
	tb.Screenshot(t, "completed")
	tb.NoErrors(t)
}

// TestBrowserFailedLine opens a failed line: its failing node is marked in
// the DAG with its error shown, and a click on a node shows its data and
// the lines its tool logged.
func TestBrowserFailedLine(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{})
	fx.finished(t, "greet-1", people...)

	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(fx.url+"line.html?run=greet-1&line=2"), browsertest.Visible("#node-nap.st-failed"))
	assert.Equal(t, `tool error: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"`, tb.Text(t, "#line-error"))
	// The failing node is shown first, with its error.
	assert.Equal(t, `input "duration": time: invalid duration "soon"`, tb.Text(t, "#node-error"))
	assert.Equal(t, "Node nap", tb.Text(t, "#node-detail h2"))
	assert.Equal(t, "node st-succeeded", browsertest.Eval[string](t, tb, `document.getElementById("node-gate").getAttribute("class")`))
	tb.Screenshot(t, "failed-line")

	tb.Do(t, chromedp.Click("#node-gate"), browsertest.Until(`document.querySelector("#node-detail h2").textContent === "Node gate"`))
	assert.Contains(t, tb.Text(t, "#node-detail"), "tool test.hold")
	assert.JSONEq(t, `{"hold": false}`, tb.Text(t, "#node-detail pre"), "the node's inputs")
	assert.Regexp(t, `^\d\d:\d\d:\d\d\.\d{3}\s+INFO\s+the gate is open\s+hold=false$`, tb.Text(t, "#node-logs"), "the lines its tool logged")
	// The timeline has a bar for each node that started.
	assert.Equal(t, 2, browsertest.Eval[int](t, tb, `document.querySelectorAll("#gantt rect").length`))
	tb.Screenshot(t, "clicked-node")
	tb.NoErrors(t)
}

// TestBrowserPages visits the runs, filters them, and the flow of a run
// with its tools' contracts.
func TestBrowserPages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{})
	fx.finished(t, "greet-1", people...)
	fx.finished(t, "greet-2", people[0])

	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(fx.url), browsertest.Visible("#runs"))
	runs := tb.Text(t, "#runs tbody")
	assert.Contains(t, runs, "greet-1")
	assert.Contains(t, runs, "greet-2")
	tb.Do(t, chromedp.SetValue("#filter-status", "failed"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("filter-status").dispatchEvent(new Event("change"))`),
		browsertest.Until(`document.querySelector("main p.muted") !== null`))
	assert.Equal(t, "No run in the record matches. weir batch, and weir run --record, add runs.", tb.Text(t, "main p.muted"))
	tb.Screenshot(t, "runs")

	tb.Do(t, chromedp.Navigate(fx.url+"flow.html?run=greet-1"), browsertest.Visible("#card-gate"), browsertest.Visible("#node-gate"))
	assert.Contains(t, tb.Text(t, "#card-gate"), "Waits for the test when hold is set.")
	assert.Contains(t, tb.Text(t, "#inputs"), "wait")
	tb.Screenshot(t, "flow")
	tb.NoErrors(t)
}

// TestBrowserDeployments shows what weir serve passes in: its deployments
// with their traffic split, each version's flow, and its pool's workers
// and queue. weir serve's own test (cmd/weir) reads the real ones.
func TestBrowserDeployments(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var deployed *engine.Flow // the fixture's, once it has one
	fx := newFixture(t, inspect.Options{
		Deployments: func() []endpoint.Deployment {
			return []endpoint.Deployment{
				{Flow: "greet", Version: "blue", Weight: 90, Default: true, Created: created},
				{Flow: "greet", Version: "green", Weight: 10, Default: true, Digest: "sha256:0123456789abcdef0123", Created: created},
			}
		},
		DeployedFlow: func(flow, version string) (*engine.Flow, bool) {
			return deployed, flow == "greet" && (version == "blue" || version == "green")
		},
		Pool: func(context.Context) (*pool.Status, error) {
			return &pool.Status{Name: "scoring", Queued: 3, InFlight: 2, Workers: []pool.WorkerInfo{
				{ID: "w1", Host: "box-1", Concurrency: 4, Running: 2, Lines: 40, Heartbeat: time.Now()},
			}}, nil
		},
	})
	deployed = fx.flow
	tb := browsertest.New(t)
	tb.Do(t, chromedp.Navigate(fx.url+"deployments.html"), browsertest.Visible("#pool"))
	row := strings.Join(strings.Fields(tb.Text(t, "#deployments tbody tr:nth-child(1)")), " ")
	assert.True(t, strings.HasPrefix(row, "greet blue 90% yes from a file "), row)
	assert.Equal(t, "10px", browsertest.Eval[string](t, tb, `document.querySelectorAll(".split-bar")[1].style.width`), "the bar of the split")
	assert.Equal(t, "1 workers 3 queued 2 in flight 0 redelivered 0 dead letters", strings.Join(strings.Fields(tb.Text(t, "#pool")), " "))
	assert.Contains(t, tb.Text(t, "main"), "box-1")
	tb.Screenshot(t, "deployments")

	// A version's flow, with no run of it in the record.
	link := browsertest.Eval[string](t, tb, `document.querySelectorAll("#deployments tbody a")[1].getAttribute("href")`)
	assert.Equal(t, "flow.html?flow=greet&version=green", link, "the version links to its flow")
	tb.Do(t, chromedp.Navigate(fx.url+link), browsertest.Visible("#card-gate"), browsertest.Visible("#node-gate"))
	assert.Equal(t, "Flow greet", tb.Text(t, "main h1"))
	assert.True(t, strings.HasPrefix(tb.Text(t, "main p.meta"), "version green as deployed · "), tb.Text(t, "main p.meta"))
	assert.Contains(t, tb.Text(t, "#card-gate"), "Waits for the test when hold is set.")
	tb.Screenshot(t, "deployed-flow")
	tb.NoErrors(t)

	code, _, body := get(t, "GET", fx.url+"api/deployments/greet/red/flow")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, `{"error":"not deployed: flow \"greet\" has no version \"red\" deployed"}`+"\n", body)
}
