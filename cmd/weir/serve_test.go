package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
)

func TestServeUsage(t *testing.T) {
	t.Parallel()
	junk := filepath.Join(t.TempDir(), "junk.weir")
	require.NoError(t, os.WriteFile(junk, []byte("not a bundle"), 0o644))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{
			name:   "nothing to serve",
			args:   []string{"serve"},
			code:   2,
			stderr: "weir: serve needs a FLOW or BUNDLE.weir to serve, or --admin to take uploads\n" + usage("serve"),
		},
		{
			name:   "a size that is not one",
			args:   []string{"serve", "--max-body", "1XB", hello},
			code:   2,
			stderr: `weir: --max-body: "1XB" is not a size such as 1048576, 512KiB or 1MiB` + "\n" + usage("serve"),
		},
		{
			name:   "no deadline",
			args:   []string{"serve", "--request-timeout", "0s", hello},
			code:   2,
			stderr: "weir: --request-timeout must be positive, got 0s\n" + usage("serve"),
		},
		{
			name:   "a port without a colon",
			args:   []string{"serve", "--addr", "8081", hello},
			code:   2,
			stderr: "weir: --addr 8081: did you mean :8081 (every interface) or 127.0.0.1:8081 (this machine only)?\n" + usage("serve"),
		},
		{
			name:   "a host without a port",
			args:   []string{"serve", "--addr", "localhost", hello},
			code:   2,
			stderr: "weir: --addr localhost: want HOST:PORT, as 127.0.0.1:8080, or :8080 for every interface\n" + usage("serve"),
		},
		{
			name: "a port in use",
			args: []string{"serve", "--addr", taken.Addr().String(), hello},
			code: 1,
			stderr: "weir: serve: listen tcp " + taken.Addr().String() + ": bind: address already in use: " +
				"another program listens there (a weir serve still running?); pick another port with --addr, or --addr 127.0.0.1:0 for a free one\n",
		},
		{
			name:   "a flow with problems",
			args:   []string{"serve", "--addr", "127.0.0.1:0", "testdata/cycle.cue"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name:   "a bundle that is not one",
			args:   []string{"serve", "--addr", "127.0.0.1:0", junk},
			code:   1,
			stderr: "weir: " + junk + ": read bundle: not a weir bundle (a tar archive compressed with gzip)\n",
		},
		{
			name:   "a bundle that is not there",
			args:   []string{"serve", "--addr", "127.0.0.1:0", "nowhere.weir"},
			code:   1,
			stderr: "weir: read bundle: open nowhere.weir: no such file or directory\n",
		},
		{
			name:   "a certificate without its key",
			args:   []string{"serve", "--tls-cert", "server.pem", hello},
			code:   2,
			stderr: "weir: --tls-cert and --tls-key go together\n" + usage("serve"),
		},
		{
			name:   "a client CA without a certificate",
			args:   []string{"serve", "--tls-ca", "ca.pem", hello},
			code:   2,
			stderr: "weir: --tls-ca needs --tls-cert and --tls-key\n" + usage("serve"),
		},
		{
			name:   "a certificate that is not there",
			args:   []string{"serve", "--tls-cert", "nowhere.pem", "--tls-key", "nowhere-key.pem", hello},
			code:   1,
			stderr: "weir: --tls-cert nowhere.pem and --tls-key nowhere-key.pem: open nowhere.pem: no such file or directory\n",
		},
	}
	if os.Getenv("WEIR_ADMIN_TOKEN") == "" {
		tests = append(tests, struct {
			name   string
			args   []string
			code   int
			stderr string
		}{
			name:   "admin on every interface without a token",
			args:   []string{"serve", "--admin", "--addr", "0.0.0.0:0"},
			code:   2,
			stderr: "weir: --admin on 0.0.0.0:0 needs a token (--admin-token or $WEIR_ADMIN_TOKEN): only a loopback address may go without\n" + usage("serve"),
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := weir(t, "", tc.args...)
			assert.Equal(t, result{tc.code, "", tc.stderr}, got)
		})
	}
}

func TestServeHelp(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "serve", "--help")
	assert.Equal(t, 0, got.code)
	assert.Contains(t, got.stdout, "\nUsage:\n  weir serve [flags] [FLOW|BUNDLE.weir]...\n")
	ex := examples(got.stdout)
	require.NotEmpty(t, ex)
	for _, l := range ex {
		assert.True(t, strings.HasPrefix(l, "weir serve "), l)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "2GiB": 2 << 30, "10MB": 10e6, "1 KB": 1000, "7B": 7} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1", "0", "1.5MiB", "1TiB", "99999999999GiB"} {
		_, err := parseSize(in)
		assert.EqualError(t, err, `"`+in+`" is not a size such as 1048576, 512KiB or 1MiB`)
	}
}

// served is a weir serve child process listening on a loopback port.
type served struct {
	cmd   *exec.Cmd
	url   string
	start []string    // the lines it printed until it served
	lines chan string // the lines after those
	// waited is closed once the process exited and code is set.
	waited chan struct{}
	code   int
}

var servingURL = regexp.MustCompile(` at (http://127\.0\.0\.1:\d+)`)

// startServe starts weir serve on a free loopback port with args and
// returns once it serves; lines counts the lines it prints on stderr
// before that.
func startServe(t *testing.T, dir string, env []string, lines int, args ...string) *served {
	t.Helper()
	return startListening(t, dir, env, lines, servingURL, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
}

// startListening starts weir with args, a command that serves until a signal,
// and returns once it printed lines lines on stderr; the last match of
// listening's group among them is its URL.
func startListening(t *testing.T, dir string, env []string, lines int, listening *regexp.Regexp, args ...string) *served {
	t.Helper()
	bin, _ := weirBinary(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "OTEL_TRACES_EXPORTER=none"), env...)
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &served{cmd: cmd, lines: make(chan string, 64), waited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			s.code = exit.ExitCode()
		}
		close(s.waited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.waited
	})
	for line := range s.lines {
		s.start = append(s.start, line)
		if m := listening.FindStringSubmatch(line); m != nil {
			s.url = m[1]
		}
		if len(s.start) == lines {
			break
		}
	}
	require.NotEmpty(t, s.url, "weir %s did not start: %q", strings.Join(args, " "), s.start)
	return s
}

// stop sends sig and returns the exit code and the lines printed since
// the start.
func (s *served) stop(t *testing.T, sig os.Signal) (int, []string) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(sig))
	var rest []string
	for line := range s.lines {
		rest = append(rest, line)
	}
	<-s.waited
	return s.code, rest
}

func post(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestServeHello is the README's curl against weir serve: the flat inputs
// in, the flat outputs out, then a clean stop on SIGTERM.
func TestServeHello(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	// A token in the environment does not turn the admin API on: --admin does.
	s := startServe(t, root, []string{"WEIR_ADMIN_TOKEN=tok"}, 1, "examples/hello/flow.cue")
	assert.Equal(t, []string{`serving flow "hello" at ` + s.url + ` (POST /score, /v1/flows/hello/runs)`}, s.start)

	// curl -d sends a form's content type: /score reads JSON whatever it says.
	code, body := post(t, s.url+"/score", "application/x-www-form-urlencoded", `{"name":"Ada"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`+"\n", body)
	// The Wasm plugin's pool is in the metrics: one warm instance, idle.
	resp, err := http.Get(s.url + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	// The plugin is named as the flow names it, never by its path.
	assert.Contains(t, string(metrics), `weir_plugin_instances{kind="wasm",plugin="text",state="live"} 1`+"\n")
	assert.Contains(t, string(metrics), `weir_plugin_instances{kind="wasm",plugin="text",state="idle"} 1`+"\n")
	assert.NotContains(t, string(metrics), "text.wasm")
	code, body = post(t, s.url+"/v1/flows/hello/runs", "application/json", `{"inputs": {"name": ""}}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error":{"code":"invalid_input","message":"flow \"hello\": invalid inputs: name: must not be \"\""}}`+"\n", body)

	req, err := http.NewRequest("GET", s.url+"/v1/admin/deployments", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	exit, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
	assert.Equal(t, []string{"draining: no new requests; those in flight have 30s to finish"}, rest)
}

// gate is an HTTP server whose every request waits for release.
type gate struct {
	url     string
	called  chan struct{}
	release chan struct{}
}

func newGate(t *testing.T) *gate {
	g := &gate{called: make(chan struct{}, 8), release: make(chan struct{})}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.called <- struct{}{}
		select {
		case <-g.release:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hs.Close)
	g.url = hs.URL
	return g
}

// gatedFlow writes a flow that calls the gate and returns its folder.
func gatedFlow(t *testing.T, g *gate) string {
	dir := t.TempDir()
	host := strings.TrimPrefix(g.url, "http://")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "gated"
plugins: web: {builtin: true, grants: hosts: ["`+host+`"]}
nodes: call: {tool: "web.http", inputs: url: "`+g.url+`"}
outputs: ok: "${call.output.json.ok}"
`), 0o644))
	return dir
}

// reply is what a request in flight got.
type reply struct {
	code int
	body string
	err  error
}

// inFlight starts weir serve with --grace on a flow that calls a gate, and
// posts to /score: the request is in flight once it returns.
func inFlight(t *testing.T, grace string) (*served, *gate, <-chan reply) {
	t.Helper()
	g := newGate(t)
	s := startServe(t, gatedFlow(t, g), nil, 1, "--grace", grace, "flow.cue")
	done := make(chan reply, 1)
	go func() {
		resp, err := http.Post(s.url+"/score", "application/json", strings.NewReader(`{}`))
		if err != nil {
			done <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- reply{resp.StatusCode, string(b), err}
	}()
	<-g.called
	return s, g, done
}

// TestServeDrain sends SIGTERM while a request is in flight: the request
// finishes, then weir exits 0.
func TestServeDrain(t *testing.T) {
	t.Parallel()
	s, g, done := inFlight(t, "1m")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, "draining: no new requests; those in flight have 1m0s to finish", <-s.lines)
	close(g.release)
	assert.Equal(t, reply{200, `{"ok":true}` + "\n", nil}, <-done)
	<-s.waited
	assert.Equal(t, 0, s.code)
	for line := range s.lines {
		t.Errorf("unexpected line: %s", line)
	}
}

// TestServeDrainCutOff: a request still running when --grace ends is cut
// off, and weir says so and exits 1.
func TestServeDrainCutOff(t *testing.T) {
	t.Parallel()
	s, _, done := inFlight(t, "1ms")
	exit, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 1, exit)
	assert.Equal(t, []string{
		"draining: no new requests; those in flight have 1ms to finish",
		"weir: drain: requests still running after 1ms were cut off",
	}, rest)
	assert.Error(t, (<-done).err, "the connection was closed")
}

// TestServeAdmin serves a bundle given on the command line, with the admin
// API behind the token from the environment, and takes a second version
// by upload, as the endpoint host does.
func TestServeAdmin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bundleOf := func(name, greeting string) []byte {
		src := filepath.Join(t.TempDir(), "flow.cue")
		require.NoError(t, os.WriteFile(src, []byte(`name: "`+name+`"
inputs: name: string
nodes: greet: {tool: "builtin.template", inputs: {template: "`+greeting+`, {{.name}}!", name: "${inputs.name}"}}
outputs: message: "${greet.output.text}"
`), 0o644))
		var buf bytes.Buffer
		_, err := bundle.Build(src, &buf)
		require.NoError(t, err)
		return buf.Bytes()
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "greet.weir"), bundleOf("greet", "Hello"), 0o644))
	s := startServe(t, dir, []string{"WEIR_ADMIN_TOKEN=tok"}, 2, "--admin", "greet.weir")
	assert.Equal(t, []string{
		`serving flow "greet" at ` + s.url + ` (POST /score, /v1/flows/greet/runs)`,
		`admin API at ` + s.url + `/v1/admin, bearer token required`,
	}, s.start)

	ctx := context.Background()
	_, err := (&endpoint.Client{URL: s.url, Token: "wrong"}).List(ctx)
	assert.EqualError(t, err, "list deployments: wrong bearer token (HTTP 401, unauthorized)")
	c := &endpoint.Client{URL: s.url, Token: "tok"}
	d, err := c.Upload(ctx, bundleOf("greet", "Hi"), "v2")
	require.NoError(t, err)
	assert.Equal(t, "v2", d.Version)
	code, body := post(t, s.url+"/score", "application/json", `{"name":"Ada"}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"message":"Hi, Ada!"}`+"\n", body)
	list, err := c.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "v1", list[0].Version)
	assert.True(t, strings.HasPrefix(list[0].Digest, "sha256:"), list[0].Digest)

	exit, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
	assert.Contains(t, rest, "draining: no new requests; those in flight have 30s to finish")
}

// TestServeNoFlow starts with the admin API alone, on loopback without a
// token: not ready until a bundle arrives.
func TestServeNoFlow(t *testing.T) {
	t.Parallel()
	s := startServe(t, t.TempDir(), []string{"WEIR_ADMIN_TOKEN="}, 2, "--admin")
	assert.Equal(t, []string{
		`serving no flow yet at ` + s.url + `: upload a bundle to POST /v1/admin/deployments`,
		`admin API at ` + s.url + `/v1/admin, no token: loopback only`,
	}, s.start)
	resp, err := http.Get(s.url + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	exit, _ := s.stop(t, syscall.SIGINT)
	assert.Equal(t, 0, exit)
}
