package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/leaktest"
	"github.com/weirflow/weir/internal/testbuild"
)

// leakFlow hands its two secrets to a tool that echoes them into its
// outputs, its log and, asked to, its error: as a whole typed reference,
// interpolated, and through its plugin's config.
const leakFlow = `name: "leak"
secrets: {
	key: env: "WEIR_LEAK_KEY"
	token: file: "keys/token"
}
plugins: leaky: {wasm: "leaky.wasm", config: key: "${secrets.key}"}
inputs: fail: bool | *false
nodes: {
	echo:  {tool: "leaky.leak", inputs: {text: "prefix ${secrets.key} suffix", fail: "${inputs.fail}"}}
	token: {tool: "leaky.leak", inputs: {text: "${secrets.token}", fail: false}}
}
outputs: {echo: "${echo.output}", token: "${token.output.echo}", direct: "${secrets.key}"}
`

// leakDir writes leakFlow, its plugin, the token's file and a dataset
// into a new folder, and returns it.
func leakDir(t *testing.T, root, token string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, testbuild.GoWasm(filepath.Join(root, "cmd", "weir", "testdata", "leak", "leaky"), filepath.Join(dir, "leaky.wasm")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(leakFlow), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", "token"), []byte(token+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte("{\"fail\":false}\n{\"fail\":true}\n"), 0o644))
	return dir
}

// runEnv runs the binary in dir with env added to this process's.
func runEnv(t *testing.T, bin, dir string, env []string, args ...string) result {
	t.Helper()
	return runBinaryEnv(t, bin, dir, "", env, args...)
}

// TestSecretLeak plants two random secrets and runs a flow whose tool
// echoes them everywhere it can, with its spans written to standard error,
// through every way the binary runs a flow: weir run (-o json and the
// table, a success and a failure), weir batch and its record, weir runs,
// weir bundle, weir serve (a run, a streamed run, /score, a failure, the
// OpenAPI document, the metrics) and weir deploy --host local. No output,
// file under --home, bundle, log, trace or HTTP body may hold a secret;
// where the tool put one, "***" stands.
func TestSecretLeak(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	key, token := "sk-leak-"+rand.Text(), "tok-leak-"+rand.Text()
	dir := leakDir(t, root, token)
	home, cache := t.TempDir(), t.TempDir()
	env := []string{"WEIR_LEAK_KEY=" + key, "OTEL_TRACES_EXPORTER=console", "WEIR_HOME=" + home, "WEIR_CACHE_DIR=" + cache}
	var seen []string // every output and body, searched at the end
	run := func(args ...string) result {
		t.Helper()
		r := runEnv(t, bin, dir, env, args...)
		seen = append(seen, strings.Join(args, " ")+"\n"+r.stdout+"\n"+r.stderr)
		return r
	}

	r := run("run", "-o", "json", "flow.cue")
	require.Equal(t, 0, r.code, r.stderr)
	var outputs map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &outputs), r.stdout)
	assert.Equal(t, map[string]any{
		"echo":   map[string]any{"echo": "prefix *** suffix", "config": "***"},
		"token":  "***",
		"direct": "***",
	}, outputs)
	// What the test searches holds what would leak: the tool's log line
	// and the spans.
	assert.Contains(t, r.stderr, "leaking prefix *** suffix and ***")
	assert.Contains(t, r.stderr, `"weir.node.name"`)

	r = run("run", "flow.cue")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "prefix *** suffix")

	r = run("run", "-o", "json", "--input", "fail=true", "flow.cue")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `weir: node "echo" (tool leaky.leak, plugin leaky): refused prefix *** suffix with ***`)
	assert.Contains(t, r.stderr, `"exception.message"`)

	r = run("batch", "--data", "data.jsonl", "flow.cue")
	assert.Equal(t, 1, r.code, "one line fails")
	assert.Contains(t, r.stderr, "line 2: node \"echo\" (tool leaky.leak, plugin leaky): refused prefix *** suffix with ***")
	id := regexp.MustCompile(`\bleak-\d{8}-\d{6}-[0-9a-f]{4}\b`).FindString(r.stderr)
	require.NotEmpty(t, id, r.stderr)
	for _, args := range [][]string{{"runs", "list"}, {"runs", "show", id}, {"runs", "outputs", id}} {
		r = run(args...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	assert.Contains(t, r.stdout, "prefix *** suffix")

	// Checking and bundling need no secret.
	noSecrets := []string{"WEIR_HOME=" + home}
	r = runEnv(t, bin, dir, noSecrets, "validate", "flow.cue")
	assert.Equal(t, result{0, "flow.cue: ok: flow \"leak\", 2 nodes\n", ""}, r)
	r = runEnv(t, bin, dir, noSecrets, "bundle", "-o", "leak.weir", "flow.cue")
	require.Equal(t, 0, r.code, r.stderr)
	bundle, err := os.ReadFile(filepath.Join(dir, "leak.weir"))
	require.NoError(t, err)

	seen = append(seen, serveLeak(t, bin, dir, env)...)

	// Deploy reads the secrets here and hands them to the child.
	r = runEnv(t, bin, dir, noSecrets, "deploy", "--host", "local", "flow.cue")
	assert.Equal(t, result{1, "", "flow.cue:3:2: secret \"key\": environment variable WEIR_LEAK_KEY is not set\n"}, r)
	r = run("deploy", "--host", "local", "flow.cue")
	require.Equal(t, 0, r.code, r.stderr)
	url := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { runEnv(t, bin, dir, env, "deployments", "delete", "leak") })
	code, body := post(t, url+"/score", "application/json", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"echo":{"echo":"prefix *** suffix","config":"***"},"token":"***","direct":"***"}`, body)
	seen = append(seen, body)
	r = run("deployments", "logs", "leak")
	require.Equal(t, 0, r.code, r.stderr)
	// A server deployed to reads its own environment: the deploying
	// machine needs no value.
	r = runEnv(t, bin, dir, noSecrets, "deploy", "--host", "endpoint", "--url", url, "--name", "leak-v2", "flow.cue")
	require.Equal(t, 0, r.code, r.stderr)
	seen = append(seen, r.stdout+r.stderr)
	code, body = post(t, url+"/score", "application/json", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	seen = append(seen, body)

	for _, secret := range []string{key, token} {
		for i, s := range seen {
			leaktest.Bytes(t, secret, "output "+firstLine(seen[i]), []byte(s))
		}
		leaktest.Bytes(t, secret, "the bundle", bundle)
		assert.Positive(t, leaktest.Tree(t, secret, home), "files under WEIR_HOME")
		leaktest.Tree(t, secret, cache)
		leaktest.Tree(t, secret, filepath.Join(dir, "leak.weir"))
	}
}

// serveLeak runs leakFlow on weir serve with env, asks it every way a
// client can, and returns the bodies and what it wrote on standard error
// (its log and its spans).
func serveLeak(t *testing.T, bin, dir string, env []string) []string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "flow.cue")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var stderr strings.Builder
	sc := bufio.NewScanner(pipe)
	sc.Buffer(nil, 1<<20)
	url := ""
	for url == "" && sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	require.NotEmpty(t, url, "weir serve did not start: %s", stderr.String())
	rest := make(chan string)
	go func() {
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		rest <- b.String()
	}()

	var bodies []string
	call := func(method, path, accept, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		bodies = append(bodies, method+" "+path+"\n"+string(b))
		return resp.StatusCode, string(b)
	}
	code, body := call("POST", "/v1/flows/leak/runs", "", `{"inputs":{}}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"prefix *** suffix"`)
	code, body = call("POST", "/v1/flows/leak/runs", "text/event-stream", `{"inputs":{}}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "event: ")
	_, body = call("POST", "/v1/flows/leak/runs", "text/event-stream", `{"inputs":{"fail":true}}`)
	assert.Contains(t, body, "refused prefix *** suffix with ***")
	code, body = call("POST", "/score", "", `{"fail":true}`)
	assert.NotEqual(t, http.StatusOK, code, body)
	assert.Contains(t, body, "refused prefix *** suffix with ***")
	code, _ = call("POST", "/score", "", `{}`)
	assert.Equal(t, http.StatusOK, code)
	for _, path := range []string{"/openapi.json", "/metrics", "/readyz"} {
		code, body = call("GET", path, "", "")
		assert.Equal(t, http.StatusOK, code, "%s: %s", path, body)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	stderr.WriteString(<-rest)
	require.NoError(t, cmd.Wait())
	assert.Contains(t, stderr.String(), "leaking prefix *** suffix and ***", "the tool's log")
	assert.Contains(t, stderr.String(), `"weir.node.name"`, "the spans")
	return append(bodies, "weir serve's standard error\n"+stderr.String())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
