package goplugin_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

// bin holds the testdata programs, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goplugin-test")
	if err != nil {
		panic(err)
	}
	bin = dir
	var wg sync.WaitGroup
	names := []string{"tools", "noise", "garbage", "host", "rawserve"}
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() {
			out, err := exec.Command(goTool(), "build", "-o", filepath.Join(dir, name), "./testdata/"+name).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("build testdata/%s: %v\n%s", name, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, opts goplugin.Options, spec plugins.Spec) (*goplugin.Plugin, error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	p := goplugin.NewProvider(opts)
	t.Cleanup(func() { _ = p.Close() })
	if spec.Source == "" {
		spec.Source = filepath.Join(bin, "tools")
	}
	spec.Name, spec.Kind = "tools", "goplugin"
	pl, err := p.Open(context.Background(), spec)
	if err != nil {
		return nil, err
	}
	return pl.(*goplugin.Plugin), nil
}

func openTools(t *testing.T, opts goplugin.Options) (*goplugin.Plugin, map[string]plugins.Tool) {
	t.Helper()
	pl, err := open(t, opts, plugins.Spec{})
	require.NoError(t, err)
	tools := map[string]plugins.Tool{}
	for _, tl := range pl.Tools() {
		tools[tl.Contract().Name] = tl
	}
	return pl, tools
}

func TestDescribeAndInvoke(t *testing.T) {
	_, tools := openTools(t, goplugin.Options{})
	require.Len(t, tools, 12)
	c := tools["upper"].Contract()
	assert.Equal(t, "Upper-cases text.", c.Description)
	assert.Equal(t, `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}`, string(c.Inputs))
	assert.Equal(t, `{"type":"object"}`, string(tools["echo"].Contract().Inputs))

	out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"hi"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"HI"}`, string(out))

	_, err = tools["upper"].Invoke(context.Background(), []byte(`{"text":1}`))
	require.EqualError(t, err, `input "text": want string, got number`)
	assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))

	for k := plugins.Internal; k <= plugins.InvalidInput; k++ {
		_, err = tools["fail"].Invoke(context.Background(), []byte(`{"kind":"`+k.String()+`"}`))
		require.EqualError(t, err, "failed as asked")
		assert.Equal(t, k, plugins.KindOf(err), "kind %v crosses the wire", k)
	}

	_, err = tools["panic"].Invoke(context.Background(), []byte(`{}`))
	require.EqualError(t, err, "tool panic panicked: oh no")
	assert.Equal(t, plugins.Internal, plugins.KindOf(err))
	out, err = tools["upper"].Invoke(context.Background(), []byte(`{"text":"still here"}`))
	require.NoError(t, err, "a panic does not end the process")
	assert.Equal(t, `{"text":"STILL HERE"}`, string(out))
}

func TestArgsAndEnv(t *testing.T) {
	pl, err := open(t, goplugin.Options{}, plugins.Spec{
		Options: json.RawMessage(`{"goplugin":"x","args":["-v","--flag"],"env":{"WEIR_TEST_VAR":"set"}}`),
	})
	require.NoError(t, err)
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == "env" {
			out, err := tl.Invoke(context.Background(), []byte(`{"text":"WEIR_TEST_VAR"}`))
			require.NoError(t, err)
			assert.Equal(t, `{"text":"set -v --flag"}`, string(out))
		}
	}
}

func TestNotAPlugin(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho oops >&2\necho 'usage: script'\nexit 2\n"), 0o755))
	silent := filepath.Join(t.TempDir(), "silent.sh")
	require.NoError(t, os.WriteFile(silent, []byte("#!/bin/sh\necho 'no such thing' >&2\nexit 4\n"), 0o755))
	plain := filepath.Join(t.TempDir(), "plain.txt")
	require.NoError(t, os.WriteFile(plain, []byte("hi"), 0o644))

	for _, tc := range []struct{ name, path, want string }{
		{"script", script, `start plugin script.sh: not a go-plugin executable, or one that writes to stdout before goplugin.Serve: its first line on stdout is "usage: script", not go-plugin's handshake; its last lines of stderr:` + "\n\toops"},
		{"silent", silent, "start plugin silent.sh: it exited (exit status 4) before go-plugin's handshake; its last lines of stderr:\n\tno such thing"},
		{"noise", filepath.Join(bin, "noise"), `start plugin noise: not a go-plugin executable, or one that writes to stdout before goplugin.Serve: its first line on stdout is "hello, I am not a plugin", not go-plugin's handshake; it wrote nothing to stderr`},
		{"garbage", filepath.Join(bin, "garbage"), `start plugin garbage: not a go-plugin executable, or one that writes to stdout before goplugin.Serve: its first line on stdout is "starting up...", not go-plugin's handshake; it wrote nothing to stderr`},
		{"not executable", plain, `open plugin "tools": ` + plain + " is not an executable file"},
		{"missing", filepath.Join(bin, "nope"), `open plugin "tools": ` + filepath.Join(bin, "nope") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := open(t, goplugin.Options{}, plugins.Spec{Source: tc.path})
			require.EqualError(t, err, tc.want)
			assert.Less(t, time.Since(start), 5*time.Second, "no silent wait for a handshake")
		})
	}
}

func TestChecksum(t *testing.T) {
	exe := filepath.Join(bin, "tools")
	b, err := os.ReadFile(exe)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])

	_, err = open(t, goplugin.Options{}, plugins.Spec{SHA256: digest})
	require.NoError(t, err)

	wrong := strings.Repeat("ab", 32)
	_, err = open(t, goplugin.Options{}, plugins.Spec{SHA256: wrong})
	require.EqualError(t, err, "refuse tools: its sha256 is "+digest+", but the flow pins "+wrong)
}

// Digest names the executable for the node result cache: its sha256,
// pinned or not.
func TestDigest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(bin, "tools"))
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	for _, pin := range []string{"", digest} {
		pl, err := open(t, goplugin.Options{}, plugins.Spec{SHA256: pin})
		require.NoError(t, err)
		got, err := pl.Digest()
		require.NoError(t, err)
		assert.Equal(t, digest, got, "pin %q", pin)
	}
}

func TestCrashMidCall(t *testing.T) {
	pl, tools := openTools(t, goplugin.Options{MinBackoff: 10 * time.Millisecond})
	pid := pl.Stats().PID
	require.NotZero(t, pid)

	_, err := tools["crash"].Invoke(context.Background(), []byte(`{}`))
	require.EqualError(t, err, "call tools.crash: the plugin exited (exit status 3) during the call; its last lines of stderr:\n\ttools: about to crash")
	assert.Equal(t, plugins.Retryable, plugins.KindOf(err))

	out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"again"}`))
	require.NoError(t, err, "the next call restarts the plugin")
	assert.Equal(t, `{"text":"AGAIN"}`, string(out))
	s := pl.Stats()
	assert.Equal(t, 2, s.Starts)
	assert.Equal(t, 1, s.Crashes)
	assert.NotEqual(t, pid, s.PID)
}

func TestHang(t *testing.T) {
	pl, tools := openTools(t, goplugin.Options{MinBackoff: 10 * time.Millisecond})
	pid := pl.Stats().PID

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := tools["hang"].Invoke(ctx, []byte(`{}`))
	require.EqualError(t, err, "call tools.hang: context deadline exceeded; the plugin was stopped and starts again on the next call")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))

	out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"back"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"BACK"}`, string(out))
	s := pl.Stats()
	assert.Equal(t, 1, s.Kills)
	assert.Equal(t, 2, s.Starts)
	assert.NotEqual(t, pid, s.PID)
	assert.False(t, alive(pid), "the hung process is gone")
}

// A process that stops answering (here: stopped with SIGSTOP) fails its
// health check and is replaced before a call has to find out.
func TestHealthCheck(t *testing.T) {
	pl, tools := openTools(t, goplugin.Options{HealthInterval: 20 * time.Millisecond, HealthTimeout: 100 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond})
	pid := pl.Stats().PID
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	deadline := time.Now().Add(10 * time.Second)
	for pl.Stats().Kills == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, 1, pl.Stats().Kills, "the frozen process was stopped by the health check")
	out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"fresh"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"FRESH"}`, string(out))
	assert.NotEqual(t, pid, pl.Stats().PID)
}

func TestConcurrentCalls(t *testing.T) {
	pl, tools := openTools(t, goplugin.Options{})
	n := 200
	if testing.Short() {
		n = 20
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range n {
				text := fmt.Sprintf("g%d-%d", g, i)
				out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"`+text+`"}`))
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, `{"text":"`+strings.ToUpper(text)+`"}`, string(out))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, pl.Stats().Starts)
}

func TestMessageLimit(t *testing.T) {
	_, tools := openTools(t, goplugin.Options{MaxMessageSize: 1 << 20})

	huge := []byte(`{"text":"` + strings.Repeat("a", 1<<20) + `"}`)
	_, err := tools["echo"].Invoke(context.Background(), huge)
	require.EqualError(t, err, fmt.Sprintf("call tools.echo: inputs of %d bytes are over the message limit of 1 MiB", len(huge)))
	assert.Equal(t, plugins.Limit, plugins.KindOf(err))

	_, err = tools["big"].Invoke(context.Background(), []byte(`{"bytes":2000000}`))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "call tools.big: a message is over the limit of 1 MiB: "), err.Error())
	assert.Equal(t, plugins.Limit, plugins.KindOf(err))

	out, err := tools["big"].Invoke(context.Background(), []byte(`{"bytes":500000}`))
	require.NoError(t, err, "the plugin carries on")
	assert.Len(t, out, 500000+len(`{"text":""}`))
}

func TestTraceContext(t *testing.T) {
	_, tools := openTools(t, goplugin.Options{})
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "node")
	defer span.End()
	out, err := tools["trace"].Invoke(ctx, []byte(`{}`))
	require.NoError(t, err)
	var got struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, span.SpanContext().TraceID().String(), got.TraceID, "the plugin runs in the node's trace")
}

func TestClose(t *testing.T) {
	p := goplugin.NewProvider(goplugin.Options{Logger: quiet})
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "goplugin", Source: filepath.Join(bin, "tools")})
	require.NoError(t, err)
	pid := pl.(*goplugin.Plugin).Stats().PID
	require.True(t, alive(pid))
	require.NoError(t, p.Close())
	assert.False(t, alive(pid), "Close stops the process")
	require.NoError(t, pl.Close(), "idempotent")

	_, err = pl.Tools()[0].Invoke(context.Background(), []byte(`{}`))
	require.ErrorIs(t, err, goplugin.ErrClosed)
	_, err = p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "goplugin", Source: filepath.Join(bin, "tools")})
	require.ErrorIs(t, err, goplugin.ErrClosed)
}

// TestNoOrphans kills a host process with SIGKILL, which gives it no chance
// to stop its plugin, and checks that the plugin exits by itself, with the
// child one of its tools started. A plugin that does not use Serve is
// killed by the kernel.
func TestNoOrphans(t *testing.T) {
	for _, plugin := range []string{"tools", "rawserve"} {
		t.Run(plugin, func(t *testing.T) {
			host := exec.Command(filepath.Join(bin, "host"), filepath.Join(bin, plugin))
			stdout, err := host.StdoutPipe()
			require.NoError(t, err)
			host.Stderr = os.Stderr
			require.NoError(t, host.Start())
			defer host.Process.Kill()

			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			var pid, child int
			_, err = fmt.Sscan(line, &pid, &child)
			require.NoError(t, err, "host printed %q", line)
			require.True(t, alive(pid))
			if child != 0 {
				require.True(t, alive(child))
			}

			require.NoError(t, host.Process.Signal(syscall.SIGKILL))
			_ = host.Wait()
			assertGone(t, pid, "plugin %d outlived its host", pid)
			if child != 0 {
				assertGone(t, child, "child %d of the plugin outlived the plugin's host", child)
			}
		})
	}
}

// spawn has the plugin start a child that runs until killed and holds the
// plugin's stderr, and returns its pid.
func spawn(t *testing.T, tools map[string]plugins.Tool) int {
	t.Helper()
	out, err := tools["spawn"].Invoke(context.Background(), []byte(`{}`))
	require.NoError(t, err)
	var got struct {
		PID int `json:"pid"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.True(t, alive(got.PID))
	return got.PID
}

// assertGone waits, for a generous while, until no process has pid.
func assertGone(t *testing.T, pid int, msg string, args ...any) {
	t.Helper()
	assert.Eventually(t, func() bool { return !alive(pid) }, 20*time.Second, 10*time.Millisecond, append([]any{msg}, args...)...)
}

// Stopping a plugin stops everything it started: on Close, after a crash
// (before any next call), and after a call that outlived its deadline.
func TestProcessGroup(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		p := goplugin.NewProvider(goplugin.Options{Logger: quiet})
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "goplugin", Source: filepath.Join(bin, "tools")})
		require.NoError(t, err)
		tools := map[string]plugins.Tool{}
		for _, tl := range pl.Tools() {
			tools[tl.Contract().Name] = tl
		}
		pid := pl.(*goplugin.Plugin).Stats().PID
		child := spawn(t, tools)
		closed := make(chan error, 1)
		go func() { closed <- p.Close() }()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("Close hangs while the plugin's child holds its stderr")
		}
		assert.False(t, alive(pid), "Close waits for the plugin")
		assertGone(t, child, "child %d of the plugin outlived Close", child)
	})
	// A process that leaves the group is out of weir's reach (a process
	// group bounds well-behaved plugins, not hostile ones), but holding the
	// plugin's stderr does not make Close wait for it.
	t.Run("escaped", func(t *testing.T) {
		p := goplugin.NewProvider(goplugin.Options{Logger: quiet})
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "goplugin", Source: filepath.Join(bin, "tools")})
		require.NoError(t, err)
		var escape plugins.Tool
		for _, tl := range pl.Tools() {
			if tl.Contract().Name == "escape" {
				escape = tl
			}
		}
		out, err := escape.Invoke(context.Background(), []byte(`{}`))
		require.NoError(t, err)
		var child struct {
			PID int `json:"pid"`
		}
		require.NoError(t, json.Unmarshal(out, &child))
		t.Cleanup(func() { _ = syscall.Kill(child.PID, syscall.SIGKILL) })
		closed := make(chan error, 1)
		go func() { closed <- p.Close() }()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("Close hangs while a process out of the plugin's group holds its stderr")
		}
	})
	t.Run("crash", func(t *testing.T) {
		_, tools := openTools(t, goplugin.Options{MinBackoff: 10 * time.Millisecond})
		child := spawn(t, tools)
		_, err := tools["crash"].Invoke(context.Background(), []byte(`{}`))
		require.EqualError(t, err, "call tools.crash: the plugin exited (exit status 3) during the call; its last lines of stderr:\n\ttools: about to crash")
		assertGone(t, child, "child %d of the plugin outlived its crash", child)
	})
	t.Run("timeout", func(t *testing.T) {
		_, tools := openTools(t, goplugin.Options{MinBackoff: 10 * time.Millisecond})
		child := spawn(t, tools)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := tools["hang"].Invoke(ctx, []byte(`{}`))
		require.EqualError(t, err, "call tools.hang: context deadline exceeded; the plugin was stopped and starts again on the next call")
		assertGone(t, child, "child %d of the plugin outlived its kill", child)
		out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"next"}`))
		require.NoError(t, err)
		assert.Equal(t, `{"text":"NEXT"}`, string(out))
	})
}

// A plugin keeps running while weir's OS threads come and go: the
// kernel's parent-death signal follows the thread that started the process,
// which must be one that lives as long as weir. The Go runtime ends the
// thread of a goroutine that returns while locked to it; which threads end
// is the scheduler's choice, so the test ends many of them.
func TestPluginOutlivesThreads(t *testing.T) {
	pl, tools := openTools(t, goplugin.Options{})
	pid := pl.Stats().PID
	n := 5000
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n && (i%100 != 0 || alive(pid)); i++ {
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
		}()
		<-locked
	}
	require.True(t, alive(pid), "the plugin died with a thread of weir's")
	out, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"still"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"STILL"}`, string(out))
	s := pl.Stats()
	assert.Equal(t, pid, s.PID)
	assert.Equal(t, 1, s.Starts)
	assert.Zero(t, s.Crashes)
}

// A plugin named by a bare file name in a flow of the current folder is
// that file, not a program of the same name on $PATH, pinned or not.
func TestBareNameInFlowFolder(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(bin, "tools"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "native"), b, 0o755))
	sum := sha256.Sum256(b)
	// On $PATH, a "native" that is not a plugin at all.
	path := t.TempDir()
	noise, err := os.ReadFile(filepath.Join(bin, "noise"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(path, "native"), noise, 0o755))
	t.Setenv("PATH", path+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Chdir(dir)

	for _, pin := range []string{"", `, sha256: "` + hex.EncodeToString(sum[:]) + `"`} {
		f, err := schemas.Parse("flow.cue", []byte(`name: "bare"
plugins: native: {goplugin: "native"`+pin+`}
nodes: n: {tool: "native.upper", inputs: text: "hi"}
`))
		require.NoError(t, err)
		require.Equal(t, "native", f.Plugins[0].Spec.Source, "schemas gives the path as the flow has it")
		p := goplugin.NewProvider(goplugin.Options{Logger: quiet})
		pl, err := p.Open(context.Background(), f.Plugins[0].Spec)
		require.NoError(t, err, "pin %q", pin)
		assert.Len(t, pl.Tools(), 12)
		require.NoError(t, p.Close())
	}

	f, err := schemas.Parse("flow.cue", []byte(`name: "bare"
plugins: native: goplugin: "gone"
nodes: n: {tool: "native.upper", inputs: text: "hi"}
`))
	require.NoError(t, err)
	_, err = goplugin.NewProvider(goplugin.Options{Logger: quiet}).Open(context.Background(), f.Plugins[0].Spec)
	require.EqualError(t, err, `open plugin "native": `+filepath.Join(dir, "gone")+" does not exist")
}

// A plugin process sees the variables the flow gives it and go-plugin's,
// none of weir's own.
func TestEnvOnlyGranted(t *testing.T) {
	t.Setenv("WEIR_ADMIN_TOKEN", "admin-secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
	t.Setenv("WEIR_TEST_GRANTED", "granted value")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	pl, err := open(t, goplugin.Options{}, plugins.Spec{
		Options: json.RawMessage(`{"goplugin":"x","env":{"WEIR_TEST_VAR":"set","PATH":"/opt/bin","WEIR_PLUGIN":"forged"}}`),
		Grants:  plugins.Grants{Env: []string{"WEIR_TEST_GRANTED", "WEIR_TEST_UNSET"}},
	})
	require.NoError(t, err)
	var environ plugins.Tool
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == "environ" {
			environ = tl
		}
	}
	out, err := environ.Invoke(context.Background(), []byte(`{}`))
	require.NoError(t, err)
	var got struct {
		Env []string `json:"env"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	vars := map[string]string{}
	var names []string
	for _, kv := range got.Env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		names = append(names, k)
	}
	assert.Equal(t, []string{
		"OTEL_SERVICE_NAME", "PATH", "PLUGIN_CLIENT_CERT", "PLUGIN_MAX_PORT", "PLUGIN_MIN_PORT", "PLUGIN_PROTOCOL_VERSIONS",
		"PLUGIN_UNIX_SOCKET_DIR", "TMPDIR", "WEIR_PLUGIN", "WEIR_PLUGIN_MAX_MESSAGE_SIZE", "WEIR_TEST_GRANTED", "WEIR_TEST_VAR",
	}, names)
	assert.Equal(t, "/opt/bin", vars["PATH"], "the flow's env wins over the default PATH")
	assert.Equal(t, tmp, vars["TMPDIR"])
	assert.Equal(t, "granted value", vars["WEIR_TEST_GRANTED"])
	assert.Equal(t, "set", vars["WEIR_TEST_VAR"])
	assert.Equal(t, "weir.tool.v1.Tools", vars["WEIR_PLUGIN"], "go-plugin's cookie wins over the flow's env")
	assert.Equal(t, "16777216", vars["WEIR_PLUGIN_MAX_MESSAGE_SIZE"])
	assert.Equal(t, "tools", vars["OTEL_SERVICE_NAME"], "the plugin's name in the flow")
}

func TestRefusedGrants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grants plugins.Grants
		opts   string
		want   string
	}{
		{"hosts", plugins.Grants{Hosts: []string{"example.com"}}, "", `open plugin "tools": grants.hosts cannot be enforced on a go-plugin executable, which runs as a process of its own: remove it (only grants.env applies)`},
		{"dirs", plugins.Grants{Dirs: map[string]plugins.Dir{"/data": {Path: "/tmp"}}}, "", `open plugin "tools": grants.dirs cannot be enforced on a go-plugin executable, which runs as a process of its own: remove it (only grants.env applies)`},
		{"env name", plugins.Grants{Env: []string{"A=B"}}, "", `open plugin "tools": grants.env: "A=B" is not a variable name`},
		{"env key", plugins.Grants{}, `{"env":{"":"x"}}`, `open plugin "tools": env: "" is not a variable name`},
		{"env value", plugins.Grants{}, `{"env":{"X":"a\u0000b"}}`, `open plugin "tools": env: the value of X holds a NUL byte`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := plugins.Spec{Grants: tc.grants}
			if tc.opts != "" {
				spec.Options = json.RawMessage(tc.opts)
			}
			_, err := open(t, goplugin.Options{}, spec)
			require.EqualError(t, err, tc.want)
		})
	}
}

// A pinned plugin whose file changes while weir runs is refused when it is
// started again.
func TestPinChangedBeforeRestart(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "tools")
	b, err := os.ReadFile(filepath.Join(bin, "tools"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(exe, b, 0o755))
	sum := sha256.Sum256(b)
	pl, err := open(t, goplugin.Options{MinBackoff: time.Millisecond}, plugins.Spec{Source: exe, SHA256: hex.EncodeToString(sum[:])})
	require.NoError(t, err)
	tools := map[string]plugins.Tool{}
	for _, tl := range pl.Tools() {
		tools[tl.Contract().Name] = tl
	}
	// Replaced, as a deploy would: the running file cannot be written.
	require.NoError(t, os.WriteFile(exe+".new", append(b, 0), 0o755))
	require.NoError(t, os.Rename(exe+".new", exe))
	_, err = tools["crash"].Invoke(context.Background(), []byte(`{}`))
	require.Error(t, err)
	_, err = tools["upper"].Invoke(context.Background(), []byte(`{"text":"x"}`))
	require.EqualError(t, err, "refuse tools: it changed since the flow pinned its sha256")
}

// alive reports whether a process runs, zombies excepted: this process may
// be the parent that has not reaped it yet, or init in a container.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
