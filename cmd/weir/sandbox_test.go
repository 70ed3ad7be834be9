package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watGuests assembles the WAT guests of plugins/wasm/testdata/wat and
// returns their folder, or skips loudly (fails under WEIR_REQUIRE_TOOLS)
// without wat2wasm.
func watGuests(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../plugins/wasm/testdata/wat")
	require.NoError(t, err)
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatal("wat2wasm not found: apt-get install wabt")
		}
		t.Skip("SKIP LOUDLY: wat2wasm not found: apt-get install wabt")
	}
	out, err := exec.Command("make", "-s", "-C", dir).CombinedOutput()
	require.NoError(t, err, "make %s: %s", dir, out)
	return dir
}

// hostileFlows writes two flows over the hostile WAT guests: "bounds",
// whose input tool picks one of bounds.wat's tools, under a 16 MiB memory
// limit with 8 instances, and "badout", over badout.wat's outputs.
func hostileFlows(t *testing.T) string {
	wat := watGuests(t)
	dir := t.TempDir()
	var nodes, outputs strings.Builder
	for _, tool := range []string{"fill", "recurse", "table", "tablegrow"} {
		fmt.Fprintf(&nodes, "\t%s: {tool: \"b.%s\", when: {ref: \"${inputs.tool}\", is: %q}}\n", tool, tool, tool)
		fmt.Fprintf(&outputs, "\t%s: \"${%s.output}\"\n", tool, tool)
	}
	bounds := fmt.Sprintf(`name: "bounds"
plugins: b: {wasm: %q, limits: {memory: "16MiB", instances: 8, timeout: "20s"}}
inputs: tool: string
nodes: {
%s}
outputs: {
%s}
`, filepath.Join(wat, "bounds.wasm"), nodes.String(), outputs.String())
	nodes.Reset()
	outputs.Reset()
	for _, tool := range []string{"nul", "deep", "utf8", "trailing"} {
		fmt.Fprintf(&nodes, "\t%s: {tool: \"bad.%s\", when: {ref: \"${inputs.tool}\", is: %q}}\n", tool, tool, tool)
		fmt.Fprintf(&outputs, "\t%s: \"${%s.output}\"\n", tool, tool)
	}
	badout := fmt.Sprintf(`name: "badout"
plugins: bad: wasm: %q
inputs: tool: string
nodes: {
%s}
outputs: {
%s}
`, filepath.Join(wat, "badout.wasm"), nodes.String(), outputs.String())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bounds.cue"), []byte(bounds), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "badout.cue"), []byte(badout), 0o644))
	return dir
}

// drain keeps reading what weir serve prints, so that its logs never block it.
func (s *served) drain() {
	go func() {
		for range s.lines {
		}
	}()
}

// peakRSS is the kernel's high-water mark of a process's resident memory.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// Eight hostile calls at once, under a 16 MiB limit, for each way a guest
// can reach for memory (linear memory touched page by page, the call
// stack, tables): weir serve stays within a stated bound, measured by the
// kernel, and serves the next call.
func TestServeHostileMemoryIsBounded(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("SKIP LOUDLY: no /proc to read the peak RSS from")
	}
	s := startServe(t, hostileFlows(t), nil, 1, "--max-concurrent", "64", "bounds.cue")
	s.drain()
	want := map[string]string{
		"fill":    "limits.memory (16 MiB) exceeded: the memory could not grow past 16 MiB",
		"recurse": "limits.memory (16 MiB) exceeded: the call stack passed its share of 1 MiB",
		"table":   "limits.memory (16 MiB) exceeded: a table could not grow past 262144 elements",
	}
	for _, tool := range []string{"fill", "recurse", "table", "tablegrow"} {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body := post(t, s.url+"/score", "application/json", fmt.Sprintf(`{"tool":%q}`, tool))
				if tool == "tablegrow" {
					assert.Equal(t, http.StatusOK, code, body)
					return
				}
				// A sandbox limit is the host's: /score says SystemError.
				assert.Equal(t, http.StatusInternalServerError, code)
				assert.Contains(t, body, fmt.Sprintf(`node \"%s\" (tool b.%s, plugin b): %s`, tool, tool, want[tool]))
			}()
		}
		wg.Wait()
	}
	peak := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("peak RSS of weir serve: %d MiB", peak>>20)
	assert.Less(t, peak, int64(200<<20), "8 hostile calls at a 16 MiB limit")
	code, body := post(t, s.url+"/score", "application/json", `{"tool":"tablegrow"}`)
	assert.Equal(t, http.StatusOK, code, body)
}

// A tool's output that is not one valid JSON object fails its node, on
// every route of weir serve, with the byte it went wrong at; the server
// answers valid JSON every time and serves the next call.
func TestServeInvalidToolOutputs(t *testing.T) {
	s := startServe(t, hostileFlows(t), nil, 1, "badout.cue")
	s.drain()
	cases := map[string]string{
		"nul":      `node \"nul\" (tool bad.nul, plugin bad): invalid output: control character 0x00 in a string at byte 7`,
		"deep":     `node \"deep\" (tool bad.deep, plugin bad): invalid output: JSON nested deeper than 1000 at byte 1004`,
		"utf8":     `node \"utf8\" (tool bad.utf8, plugin bad): invalid output: invalid UTF-8 in a string at byte 6`,
		"trailing": `node \"trailing\" (tool bad.trailing, plugin bad): invalid output: data after the JSON object at byte 8`,
	}
	for tool, want := range cases {
		code, body := post(t, s.url+"/score", "application/json", fmt.Sprintf(`{"tool":%q}`, tool))
		// The tool's own fault: /score says UserError, as prompt flow.
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, body, want)
		assert.True(t, jsonValid(body), body)

		code, body = post(t, s.url+"/v1/flows/badout/runs", "application/json", fmt.Sprintf(`{"inputs":{"tool":%q}}`, tool))
		assert.Equal(t, http.StatusBadGateway, code)
		assert.Contains(t, body, want)
		assert.True(t, jsonValid(body), body)

		req, err := http.NewRequest(http.MethodPost, s.url+"/v1/flows/badout/runs", strings.NewReader(fmt.Sprintf(`{"inputs":{"tool":%q}}`, tool)))
		require.NoError(t, err)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		events := readEvents(t, resp)
		require.NotEmpty(t, events)
		last := events[len(events)-1]
		assert.Contains(t, last, want, "the stream ends with the run's error")
		for _, e := range events {
			_, data, _ := strings.Cut(e, "data: ")
			assert.True(t, jsonValid(data), "event %q", e)
		}
	}
	code, body := post(t, s.url+"/score", "application/json", `{"tool":"none"}`)
	assert.Equal(t, http.StatusOK, code, body)
}

// readEvents reads a server-sent event stream to its end, an event a string.
func readEvents(t *testing.T, resp *http.Response) []string {
	t.Helper()
	defer resp.Body.Close()
	var events []string
	var cur strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == "" {
			if cur.Len() > 0 {
				events = append(events, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteString(sc.Text() + "\n")
	}
	require.NoError(t, sc.Err())
	return events
}

// A batch line whose tool output is invalid fails alone, and the record
// reads back whole.
func TestBatchInvalidToolOutput(t *testing.T) {
	bin, _ := weirBinary(t)
	dir := hostileFlows(t)
	home := t.TempDir()
	data := filepath.Join(dir, "data.jsonl")
	require.NoError(t, os.WriteFile(data, []byte(`{"tool":"none"}`+"\n"+`{"tool":"nul"}`+"\n"+`{"tool":"none"}`+"\n"), 0o644))
	res := runBinaryIn(t, bin, dir, "", "batch", "--home", home, "--data", data, "badout.cue")
	assert.Equal(t, 1, res.code, res.stderr)
	res = runBinaryIn(t, bin, dir, "", "runs", "outputs", "--home", home, "-o", "jsonl", lastRun(t, home))
	require.Equal(t, 0, res.code, res.stderr)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, 3)
	// Lines come in line order, whatever order they ended in.
	for i, l := range lines {
		assert.True(t, jsonValid(l), l)
		assert.True(t, strings.HasPrefix(l, fmt.Sprintf(`{"line":%d,`, i+1)), l)
	}
	assert.Contains(t, lines[0], `"status":"succeeded"`)
	assert.Equal(t, `{"line":2,"status":"failed","error":"node \"nul\" (tool bad.nul, plugin bad): invalid output: control character 0x00 in a string at byte 7","error_kind":"tool"}`, lines[1])
	assert.Contains(t, lines[2], `"status":"succeeded"`)
}

func jsonValid(s string) bool { return json.Valid([]byte(strings.TrimSpace(s))) }

// A plugin whose loading never ends (weir_describe loops) fails weir
// validate at limits.timeout, and SIGTERM stops a load that would take
// longer.
func TestValidateHostileLoad(t *testing.T) {
	bin, _ := weirBinary(t)
	wat := watGuests(t)
	dir := t.TempDir()
	flow := func(timeout string) string {
		return fmt.Sprintf("name: \"load\"\nplugins: p: {wasm: %q, limits: timeout: %q}\nnodes: n: tool: \"p.x\"\n",
			filepath.Join(wat, "loadloop.wasm"), timeout)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fast.cue"), []byte(flow("300ms")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "slow.cue"), []byte(flow("1h")), 0o644))

	res := runBinary(t, bin, dir, "validate", "fast.cue")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "loadloop.wasm: weir_describe: limits.timeout (300ms) exceeded: the guest was stopped")

	cmd := exec.Command(bin, "validate", "slow.cue")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Give it time to reach the guest; SIGTERM before that stops it too.
	select {
	case <-done:
		t.Fatalf("weir validate ended before SIGTERM: %s", stderr.String())
	case <-time.After(time.Second):
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.NotEqual(t, 0, exit.ExitCode())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("weir validate ignored SIGTERM while loading a plugin")
	}
}
