package inspect_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/weirflow/weir/hosts/inspect"
)

// get fetches url with the header pairs and returns the status, the
// headers and the body.
func get(t *testing.T, method, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// getJSON fetches an API path and decodes its answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, _, body := get(t, "GET", url)
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), v), body)
}

// TestAPI reads a finished batch through the JSON the pages get: the
// runs, the batch with its failed line and latencies, one line with its
// inputs and nodes, and the flow with its tools' contracts.
func TestAPI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{TraceURL: "https://tracing.example/trace/{trace_id}"})
	fx.finished(t, "greet-1", people...)

	var runs struct {
		Runs []struct {
			ID, Kind, Flow, Status string
			Succeeded, Failed      int
		}
		Flows []string
	}
	getJSON(t, fx.url+"api/runs", &runs)
	require.Len(t, runs.Runs, 1)
	assert.Equal(t, "greet-1", runs.Runs[0].ID)
	assert.Equal(t, "completed", runs.Runs[0].Status)
	assert.Equal(t, "batch", runs.Runs[0].Kind)
	assert.Equal(t, []int{2, 1}, []int{runs.Runs[0].Succeeded, runs.Runs[0].Failed})
	assert.Equal(t, []string{"greet"}, runs.Flows)
	getJSON(t, fx.url+"api/runs?status=failed", &runs)
	assert.Empty(t, runs.Runs, "a completed run is not failed")
	getJSON(t, fx.url+"api/runs?flow=greet&status=completed&kind=batch", &runs)
	assert.Len(t, runs.Runs, 1)
	getJSON(t, fx.url+"api/runs?kind=serve", &runs)
	assert.Empty(t, runs.Runs)

	var run struct {
		Lines []struct {
			Line   int
			Status string
		}
		LinesTotal  int `json:"lines_total"`
		FailedLines []struct {
			Line      int
			Error     string
			ErrorKind string `json:"error_kind"`
		} `json:"failed_lines"`
		Histogram []struct{ Count int }
		Metrics   struct {
			Nodes []struct{ Node string }
		}
	}
	getJSON(t, fx.url+"api/runs/greet-1", &run)
	assert.Equal(t, 3, run.LinesTotal)
	assert.Len(t, run.Lines, 3)
	require.Len(t, run.FailedLines, 1)
	assert.Equal(t, 2, run.FailedLines[0].Line)
	assert.Equal(t, "tool", run.FailedLines[0].ErrorKind)
	assert.Equal(t, `node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"`, run.FailedLines[0].Error)
	counted := 0
	for _, b := range run.Histogram {
		counted += b.Count
	}
	assert.Equal(t, 3, counted, "every line is in the histogram")
	var nodes []string
	for _, n := range run.Metrics.Nodes {
		nodes = append(nodes, n.Node)
	}
	assert.Equal(t, []string{"gate", "nap", "greet"}, nodes)

	var line struct {
		Status string
		Inputs map[string]any
		Nodes  []struct {
			Node, Status, Error string
			Inputs              map[string]any
			StartMS             *float64 `json:"start_ms"`
		}
	}
	getJSON(t, fx.url+"api/runs/greet-1/lines/2", &line)
	assert.Equal(t, "failed", line.Status)
	assert.Equal(t, map[string]any{"name": "Grace", "wait": "soon", "hold": false}, line.Inputs)
	require.Len(t, line.Nodes, 3)
	var statuses []string
	for _, n := range line.Nodes {
		statuses = append(statuses, n.Node+":"+n.Status)
	}
	assert.Equal(t, []string{"gate:succeeded", "nap:failed", "greet:canceled"}, statuses)
	assert.Equal(t, `input "duration": time: invalid duration "soon"`, line.Nodes[1].Error)
	// A failed line keeps its nodes' values and start times.
	assert.Equal(t, map[string]any{"hold": false}, line.Nodes[0].Inputs)
	assert.Equal(t, map[string]any{"duration": "soon", "value": false}, line.Nodes[1].Inputs)
	assert.NotNil(t, line.Nodes[0].StartMS)
	assert.Nil(t, line.Nodes[2].StartMS, "greet never started")

	var flow struct {
		Name  string
		Nodes []struct {
			Name     string
			Contract struct{ Name string }
		}
	}
	getJSON(t, fx.url+"api/runs/greet-1/flow", &flow)
	assert.Equal(t, "greet", flow.Name)
	var contracts []string
	for _, n := range flow.Nodes {
		contracts = append(contracts, n.Name+":"+n.Contract.Name)
	}
	assert.Equal(t, []string{"gate:hold", "nap:sleep", "greet:template"}, contracts)

	code, hd, svg := get(t, "GET", fx.url+"api/runs/greet-1/graph.svg")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "image/svg+xml", hd.Get("Content-Type"))
	for _, id := range []string{"node&#45;nap", "node&#45;gate", "node&#45;greet", "inputs.name", "outputs.greeting"} {
		assert.Contains(t, svg, `<g id="`+id+`" class="node">`, "Graphviz keeps the ids the page finds the boxes by")
	}

	for _, c := range []struct{ path, body string }{
		{"api/runs/nope", `{"error":"no run \"nope\" in the record; see weir runs list"}`},
		{"api/runs/greet-1/lines/9", `{"error":"run \"greet-1\" has no line 9"}`},
		{"api/runs/nope/graph.svg", `{"error":"no run \"nope\" in the record; see weir runs list"}`},
		{"api/nothing", `{"error":"no route /api/nothing"}`},
		{"api/deployments", `{"error":"no deployments here: the inspector shows them inside weir serve"}`},
	} {
		code, _, body := get(t, "GET", fx.url+c.path)
		assert.Equal(t, http.StatusNotFound, code, c.path)
		assert.Equal(t, c.body+"\n", body, c.path)
	}
	code, _, body := get(t, "GET", fx.url+"api/runs/greet-1/lines/x")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error":"line \"x\": want a whole number from 1"}`+"\n", body)
}

// TestNoLoader shows runs without flows: no graph, and the pages say why.
func TestNoLoader(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{})
	fx.finished(t, "greet-1", people[0])
	h, err := inspect.New(inspect.Options{Store: fx.store})
	require.NoError(t, err)
	req, err := http.NewRequest("GET", "/api/runs/greet-1/flow", nil)
	require.NoError(t, err)
	req.Host = "127.0.0.1"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, `{"error":"this inspector does not load flows"}`+"\n", w.Body.String())
}

// TestEvents follows a running batch: a progress event at once, another
// as its counts change, and an end event when it ends.
func TestEvents(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, inspect.Options{})
	b := fx.batch(t, "held", `{"name":"Ada","hold":true}`)
	resp, err := http.Get(fx.url + "api/runs/held/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		var ev []string
		for events.Scan() && events.Text() != "" {
			ev = append(ev, events.Text())
		}
		return strings.Join(ev, "\n")
	}
	duration := regexp.MustCompile(`"duration_ms":[0-9.e+-]+`)
	clean := func(s string) string { return duration.ReplaceAllString(s, `"duration_ms":D`) }
	assert.Equal(t, "event: progress\ndata: {\"status\":\"running\",\"succeeded\":0,\"failed\":0,\"duration_ms\":D}", clean(next()))
	close(fx.release)
	_, err = b.Wait(nil)
	require.NoError(t, err)
	// Finishing writes the counts, then the status: the stream may see
	// both steps, or only the last.
	var last string
	ev := clean(next())
	for ; strings.HasPrefix(ev, "event: progress\n"); ev = clean(next()) {
		last = ev
	}
	assert.Equal(t, "event: progress\ndata: {\"status\":\"completed\",\"succeeded\":1,\"failed\":0,\"duration_ms\":D}", last)
	assert.Equal(t, "event: end\ndata: {\"status\":\"completed\",\"succeeded\":1,\"failed\":0,\"duration_ms\":D}", ev)
	assert.False(t, events.Scan(), "the stream ends with the run")
}

// TestSecurity: every answer has a content security policy that the pages
// need no exception of; the handler is read-only; without a token it
// answers loopback names only, and with one it wants it.
func TestSecurity(t *testing.T) {
	t.Parallel()
	open := newFixture(t, inspect.Options{})
	locked := newFixture(t, inspect.Options{Token: "s3cret"})

	const policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	for _, path := range []string{"", "run.html", "common.js", "style.css", "api/runs", "api/nothing"} {
		code, hd, _ := get(t, "GET", open.url+path)
		assert.Contains(t, []int{200, 404}, code, path)
		assert.Equal(t, policy, hd.Get("Content-Security-Policy"), path)
		assert.Equal(t, "nosniff", hd.Get("X-Content-Type-Options"), path)
	}

	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		code, hd, body := get(t, method, open.url+"api/runs")
		assert.Equal(t, http.StatusMethodNotAllowed, code, method)
		assert.Equal(t, "GET, HEAD", hd.Get("Allow"))
		assert.Equal(t, `{"error":"the inspector is read-only: `+method+` is not allowed"}`+"\n", body)
	}

	cases := []struct {
		name   string
		url    string
		header []string
		code   int
		body   string
		auth   string
	}{
		{name: "loopback", url: open.url, code: 200},
		{name: "localhost", url: open.url, header: []string{"Host", "localhost:8090"}, code: 200},
		{name: "another name", url: open.url, header: []string{"Host", "weir.example:8090"}, code: 403,
			body: `{"error":"the inspector has no token, so it answers requests for localhost only, not for Host \"weir.example:8090\""}`},
		{name: "no token", url: locked.url, code: 401, auth: `Basic realm="weir inspector", charset="UTF-8"`,
			body: `{"error":"missing token: send Authorization: Bearer TOKEN, or the token as the password"}`},
		{name: "bearer", url: locked.url, header: []string{"Authorization", "Bearer s3cret", "Host", "weir.example"}, code: 200},
		{name: "basic", url: locked.url, header: []string{"Authorization", "Basic " + basic("anyone", "s3cret")}, code: 200},
		{name: "wrong bearer", url: locked.url, header: []string{"Authorization", "Bearer nope"}, code: 401,
			auth: `Basic realm="weir inspector", charset="UTF-8"`, body: `{"error":"wrong token"}`},
		{name: "wrong password", url: locked.url, header: []string{"Authorization", "Basic " + basic("s3cret", "nope")}, code: 401,
			auth: `Basic realm="weir inspector", charset="UTF-8"`, body: `{"error":"wrong token"}`},
	}
	for _, c := range cases {
		code, hd, body := get(t, "GET", c.url+"api/runs", c.header...)
		assert.Equal(t, c.code, code, c.name)
		assert.Equal(t, c.auth, hd.Get("WWW-Authenticate"), c.name)
		if c.body != "" {
			assert.Equal(t, c.body+"\n", body, c.name)
		}
	}
}

// TestNoInlineScript checks the pages against the policy's rule: scripts
// from files only, and no event handler or style attribute.
func TestNoInlineScript(t *testing.T) {
	t.Parallel()
	script := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	scripts := script.FindAllStringSubmatch(inspect.PageHTML, -1)
	require.Len(t, scripts, 2)
	for _, m := range scripts {
		assert.Contains(t, m[1], ` src="`, "a script without src")
		assert.Empty(t, strings.TrimSpace(m[2]), "an inline script")
	}
	assert.NotRegexp(t, `(?i)\son[a-z]+\s*=`, inspect.PageHTML, "an inline event handler")
	assert.NotContains(t, inspect.PageHTML, "style=", "an inline style")
	js, err := fs.Glob(inspect.Assets, "assets/*.js")
	require.NoError(t, err)
	require.NotEmpty(t, js)
	for _, p := range js {
		b, err := fs.ReadFile(inspect.Assets, p)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "innerHTML", "%s: pages build DOM nodes, never HTML text", p)
		assert.NotContains(t, string(b), "eval(", p)
		assert.NotContains(t, string(b), `setAttribute("style"`, p)
	}
}

func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// TestTraceLink links a traced line's trace id to the trace viewer.
func TestTraceLink(t *testing.T) {
	t.Parallel()
	fx := newTracedFixture(t, inspect.Options{TraceURL: "https://tracing.example/trace/{trace_id}"}, sdktrace.NewTracerProvider())
	fx.finished(t, "traced", people[0])
	var line struct {
		TraceID  string `json:"trace_id"`
		TraceURL string `json:"trace_url"`
	}
	getJSON(t, fx.url+"api/runs/traced/lines/1", &line)
	require.Regexp(t, `^[0-9a-f]{32}$`, line.TraceID)
	assert.Equal(t, "https://tracing.example/trace/"+line.TraceID, line.TraceURL)
}
