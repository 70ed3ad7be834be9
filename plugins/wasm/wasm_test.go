package wasm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm"
)

// open opens a fixture as plugin "p" with the given entry options (the
// JSON of a flow's plugin entry) and grants.
func open(t testing.TB, p *wasm.Provider, name string, options string, grants plugins.Grants) *wasm.Plugin {
	t.Helper()
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, name), Options: []byte(options), Grants: grants})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pl.Close() })
	return pl.(*wasm.Plugin)
}

func newProvider(t testing.TB, opts wasm.Options) *wasm.Provider {
	t.Helper()
	if opts.CacheDir == "" {
		// One cache for the package's tests: each guest compiles once.
		opts.CacheDir = filepath.Join(fixtures.dir, "cache")
	}
	p := wasm.NewProvider(opts)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func call(t testing.TB, pl *wasm.Plugin, tool, in string) (string, error) {
	t.Helper()
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == tool {
			out, err := tl.Invoke(context.Background(), []byte(in))
			return string(out), err
		}
	}
	t.Fatalf("no tool %q", tool)
	return "", nil
}

func mustCall(t testing.TB, pl *wasm.Plugin, tool, in string) string {
	t.Helper()
	out, err := call(t, pl, tool, in)
	require.NoError(t, err)
	return out
}

func TestGoPluginContractAndCalls(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "text", "", plugins.Grants{})
	var names []string
	for _, tl := range pl.Tools() {
		names = append(names, tl.Contract().Name)
	}
	assert.Equal(t, []string{"count", "greet", "lower", "upper"}, names)
	assert.Equal(t, `{"message":"Hello, Ada!"}`, mustCall(t, pl, "greet", `{"name":"Ada"}`))
	assert.Equal(t, `{"text":"LOUD"}`, mustCall(t, pl, "upper", `{"text":"loud"}`))
}

func TestCPluginIsLanguageNeutral(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "strings", "", plugins.Grants{})
	assert.Equal(t, `{"text":"olléh"}`, mustCall(t, pl, "reverse", `{"text":"héllo"}`))
	assert.Equal(t, `{"bytes":6,"runes":5}`, mustCall(t, pl, "length", `{"text":"héllo"}`))
	_, err := call(t, pl, "reverse", `{"txt":"x"}`)
	require.Error(t, err)
	assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
}

// Every hostile guest fails with an error that says what happened, its
// instance is thrown away, and the next call on the plugin works.
func TestHostileGuests(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	t.Run("infinite loop stopped by limits.timeout", func(t *testing.T) {
		// Long enough for a Go guest's _initialize on a loaded machine: a
		// new instance replaces the stopped one under the same limit.
		pl := open(t, p, "hostile", `{"limits":{"timeout":"1s"}}`, plugins.Grants{})
		_, err := call(t, pl, "loop", `{}`)
		assert.EqualError(t, err, "limits.timeout (1s) exceeded: the guest was stopped")
		assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
		assert.Equal(t, `{"value":1}`, mustCall(t, pl, "echo", `{"value":1}`))
		assert.Equal(t, 1, pl.Stats().Discarded)
	})
	t.Run("loop in WAT", func(t *testing.T) {
		pl := open(t, p, "loop", `{"limits":{"timeout":"50ms"}}`, plugins.Grants{})
		_, err := call(t, pl, "loop", `{}`)
		assert.EqualError(t, err, "limits.timeout (50ms) exceeded: the guest was stopped")
	})
	t.Run("memory that grows without end", func(t *testing.T) {
		pl := open(t, p, "hostile", `{"limits":{"memory":"64MiB"}}`, plugins.Grants{})
		_, err := call(t, pl, "grow", `{}`)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "limits.memory (64 MiB) exceeded"), err.Error())
		assert.Equal(t, plugins.Limit, plugins.KindOf(err))
		assert.Equal(t, `{"value":2}`, mustCall(t, pl, "echo", `{"value":2}`))
	})
	t.Run("memory.grow in WAT", func(t *testing.T) {
		pl := open(t, p, "grow", `{"limits":{"memory":40}}`, plugins.Grants{})
		_, err := call(t, pl, "grow", `{}`)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "limits.memory (2560 KiB) exceeded"), err.Error())
	})
	t.Run("trap", func(t *testing.T) {
		pl := open(t, p, "trap", "", plugins.Grants{})
		_, err := call(t, pl, "trap", `{}`)
		assert.EqualError(t, err, "guest trapped: wasm error: unreachable")
		assert.Equal(t, `{"ok":true}`, mustCall(t, pl, "ok", `{}`))
		assert.Equal(t, 1, pl.Stats().Discarded)
	})
	t.Run("output over the cap", func(t *testing.T) {
		pl := open(t, p, "bigout", `{"limits":{"output":"1MiB"}}`, plugins.Grants{})
		_, err := call(t, pl, "big", `{}`)
		assert.EqualError(t, err, "limits.output (1 MiB) exceeded: the output is 64 MiB")
		assert.Equal(t, plugins.Limit, plugins.KindOf(err))

		pl = open(t, p, "hostile", `{"limits":{"output":1000}}`, plugins.Grants{})
		_, err = call(t, pl, "big", `{"bytes":2000}`)
		assert.EqualError(t, err, "limits.output (1000 bytes) exceeded: the output is 2011 bytes")
		assert.Equal(t, `{"text":"xx"}`, mustCall(t, pl, "big", `{"bytes":2}`))
	})
	t.Run("Go panic", func(t *testing.T) {
		pl := open(t, p, "hostile", "", plugins.Grants{})
		_, err := call(t, pl, "panic", `{"text":"the guest gave up"}`)
		require.Error(t, err)
		assert.EqualError(t, err, `tool "panic" panicked: the guest gave up`)
		assert.Equal(t, plugins.Internal, plugins.KindOf(err))
		assert.Equal(t, `{"value":3}`, mustCall(t, pl, "echo", `{"value":3}`))
	})
}

func TestModulesThatAreNotPlugins(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "notwasm.wasm")
	require.NoError(t, os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644))
	cases := map[string]string{
		notWasm:                 "compile notwasm.wasm: not a WebAssembly module (no \\0asm header)",
		fixture(t, "noabi"):     "noabi.wasm is not a weir plugin: it exports neither weir_invoke (weir-abi-1) nor _start (command mode)",
		fixture(t, "wrongabi"):  "wrongabi.wasm exports weir_invoke(i32) -> i32, but weir-abi-1 needs weir_invoke(i32, i32, i32, i32) -> i64",
		filepath.Join(dir, "x"): "read module: open " + filepath.Join(dir, "x") + ": no such file or directory",
	}
	for path, want := range cases {
		_, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: path})
		assert.EqualError(t, err, want)
	}
}

func TestDigestPinning(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	path := fixture(t, "trap")
	_, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: path, SHA256: strings.Repeat("0", 64)})
	require.Error(t, err)
	assert.Regexp(t, `^refuse trap\.wasm: its sha256 is [0-9a-f]{64}, but the flow pins 0{64}$`, err.Error())
	sum := strings.TrimSuffix(strings.Fields(strings.Split(err.Error(), "its sha256 is ")[1])[0], ",")
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: path, SHA256: sum})
	require.NoError(t, err)
	require.NoError(t, pl.Close())
}

func TestSandbox(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	secret := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("do not read"), 0o600))
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "in.txt"), []byte("granted"), 0o644))
	out := t.TempDir()

	t.Run("files", func(t *testing.T) {
		pl := open(t, p, "hostile", "", plugins.Grants{})
		_, err := call(t, pl, "read", fmt.Sprintf(`{"path":%q}`, secret))
		require.Error(t, err, "nothing is mounted without grants")

		pl = open(t, p, "hostile", "", plugins.Grants{Dirs: map[string]plugins.Dir{
			"/data": {Path: data}, "/out": {Path: out, Write: true}}})
		assert.Equal(t, `{"text":"granted"}`, mustCall(t, pl, "read", `{"path":"/data/in.txt"}`))
		_, err = call(t, pl, "read", fmt.Sprintf(`{"path":%q}`, secret))
		require.Error(t, err, "a file outside the grants stays out of reach")
		_, err = call(t, pl, "write", `{"path":"/data/new.txt","text":"x"}`)
		require.Error(t, err, "a read-only grant cannot be written")
		mustCall(t, pl, "write", `{"path":"/out/new.txt","text":"written"}`)
		b, err := os.ReadFile(filepath.Join(out, "new.txt"))
		require.NoError(t, err)
		assert.Equal(t, "written", string(b))
	})

	t.Run("http", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "pong")
		}))
		defer srv.Close()
		host := strings.TrimPrefix(srv.URL, "http://")
		in := fmt.Sprintf(`{"url":%q}`, srv.URL+"/ping")

		pl := open(t, p, "hostile", "", plugins.Grants{})
		_, err := call(t, pl, "get", in)
		assert.EqualError(t, err, fmt.Sprintf(`http GET %s/ping: http: host %q is not granted; add it to the flow's plugins.p.grants.hosts`, srv.URL, host))

		pl = open(t, p, "hostile", "", plugins.Grants{Hosts: []string{host}})
		assert.Equal(t, `{"status":200,"body":"pong"}`, mustCall(t, pl, "get", in))
	})

	t.Run("environment", func(t *testing.T) {
		t.Setenv("WEIR_TEST_SECRET", "s3cret")
		pl := open(t, p, "hostile", "", plugins.Grants{})
		assert.Equal(t, `{"value":"","found":false}`, mustCall(t, pl, "env", `{"key":"WEIR_TEST_SECRET"}`))
		pl = open(t, p, "hostile", "", plugins.Grants{Env: []string{"WEIR_TEST_SECRET"}})
		assert.Equal(t, `{"value":"s3cret","found":true}`, mustCall(t, pl, "env", `{"key":"WEIR_TEST_SECRET"}`))
	})

	t.Run("clock and randomness", func(t *testing.T) {
		var fixed struct {
			Unix   int64  `json:"unix"`
			Random string `json:"random"`
		}
		pl := open(t, p, "hostile", "", plugins.Grants{})
		require.NoError(t, json.Unmarshal([]byte(mustCall(t, pl, "clock", `{}`)), &fixed))
		assert.Equal(t, int64(1640995200), fixed.Unix, "without a grant the guest sees a fixed clock")
		first := mustCall(t, open(t, p, "hostile", "", plugins.Grants{}), "clock", `{}`)
		again := open(t, p, "hostile", "", plugins.Grants{})
		assert.Equal(t, first, mustCall(t, again, "clock", `{}`), "without a grant, randomness is the same in every new instance")

		var real struct {
			Unix int64 `json:"unix"`
		}
		pl = open(t, p, "hostile", "", plugins.Grants{Clock: true, Random: true})
		require.NoError(t, json.Unmarshal([]byte(mustCall(t, pl, "clock", `{}`)), &real))
		assert.Greater(t, real.Unix, int64(1.7e9))
	})

	t.Run("config and log", func(t *testing.T) {
		var logs bytes.Buffer
		lp := newProvider(t, wasm.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		pl := open(t, lp, "hostile", `{"config":{"model":"small"}}`, plugins.Grants{})
		assert.Equal(t, `{"value":"small","found":true}`, mustCall(t, pl, "config", `{"key":"model"}`))
		assert.Equal(t, `{"value":"","found":false}`, mustCall(t, pl, "config", `{"key":"other"}`))
		mustCall(t, pl, "log", `{"text":"careful now"}`)
		assert.Contains(t, logs.String(), `level=WARN msg="careful now" plugin=p tool=log`)
	})
}

func TestCommandMode(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "command", "", plugins.Grants{})
	require.Len(t, pl.Tools(), 1)
	c := pl.Tools()[0].Contract()
	assert.Equal(t, "run", c.Name)
	assert.Equal(t, "Echoes its inputs.", c.Description, "the contract comes from the weir-contract section")
	assert.Equal(t, `{"a":[1,2]}`, strings.TrimSpace(mustCall(t, pl, "run", `{"a":[1,2]}`)))
	_, err := call(t, pl, "run", `{"fail":true}`)
	assert.EqualError(t, err, "guest exited with code 3; stderr: boom")
	assert.Equal(t, wasm.Stats{Created: 2, Discarded: 2}, pl.Stats(), "command mode keeps no instance after its call")
}

// Many calls from many goroutines with recycling on: every call succeeds,
// no instance leaks, and the pool never holds more than its bound.
func TestConcurrentCallsRecycle(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"instances":4,"recycle":50}}`, plugins.Grants{})
	var echo plugins.Tool
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == "echo" {
			echo = tl
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 125 {
				want := fmt.Sprintf(`{"value":"%d-%d"}`, g, i)
				out, err := echo.Invoke(context.Background(), []byte(want))
				if err == nil && string(out) != want {
					err = fmt.Errorf("got %s, want %s", out, want)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := pl.Stats()
	assert.Equal(t, st.Live, st.Idle, "no instance is left in use")
	assert.LessOrEqual(t, st.Live, 4)
	assert.Equal(t, st.Created-st.Discarded, st.Live)
	assert.GreaterOrEqual(t, st.Discarded, 1000/50-4, "instances are recycled after 50 calls")
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	assert.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(32<<20), "host memory stays flat")
	require.NoError(t, pl.Close())
	assert.Equal(t, 0, pl.Stats().Live, "Close closes every instance")
}

// Instances that wait in the pool past the idle period are closed, but for
// the one used last, which stays warm.
func TestIdleInstancesAreClosed(t *testing.T) {
	// Three calls meet in the server, so that each needs an instance.
	const calls = 3
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == calls {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			fmt.Fprint(w, "met")
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	// The watchdog must not trim during the test: TrimIdle stands in for it.
	p := newProvider(t, wasm.Options{IdleTimeout: time.Hour})
	pl := open(t, p, "hostile", "", plugins.Grants{Hosts: []string{strings.TrimPrefix(srv.URL, "http://")}})
	in := fmt.Sprintf(`{"url":%q}`, srv.URL)
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := call(t, pl, "get", in)
			assert.NoError(t, err)
			assert.Equal(t, `{"status":200,"body":"met"}`, out)
		}()
	}
	wg.Wait()
	assert.Equal(t, wasm.Stats{Live: 3, Idle: 3, Created: 3}, pl.Stats())

	pl.TrimIdle(time.Hour)
	assert.Equal(t, wasm.Stats{Live: 3, Idle: 3, Created: 3}, pl.Stats(), "none has been idle an hour")
	pl.TrimIdle(0)
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 3}, pl.Stats(), "one stays warm")
	assert.Equal(t, `{"value":"x"}`, mustCall(t, pl, "echo", `{"value":"x"}`))
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 3}, pl.Stats(), "the warm one serves the next call")
}

func TestCompileOnceAndCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	p := newProvider(t, wasm.Options{CacheDir: dir})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, "text")})
			if assert.NoError(t, err) {
				_ = pl.Close()
			}
		}()
	}
	wg.Wait()
	cache := wasm.CacheDir(dir)
	assert.True(t, strings.HasPrefix(cache, filepath.Join(dir, "wazero-")), cache)
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "the compiled module is written to the cache folder")
	guarded, err := filepath.Glob(filepath.Join(cache, "guarded", "*.wasm"))
	require.NoError(t, err)
	assert.Len(t, guarded, 1, "and so is the rewritten module")

	// A new process (a new provider) reads the rewrite back and runs it.
	again := open(t, newProvider(t, wasm.Options{CacheDir: dir}), "text", "", plugins.Grants{})
	assert.Equal(t, `{"text":"LOUD"}`, mustCall(t, again, "upper", `{"text":"loud"}`))
}

// A module described once is opened from its cached contract: no instance
// starts, nor is it compiled, until its first call. A changed module, or
// another memory limit, is described again.
func TestContractCache(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(t.TempDir(), "m.wasm")
	copyFile := func(fixtureName string) {
		b, err := os.ReadFile(fixture(t, fixtureName))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(module, b, 0o644))
	}
	openModule := func(options string) *wasm.Plugin {
		p := newProvider(t, wasm.Options{CacheDir: dir})
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: module, Options: []byte(options)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = pl.Close() })
		return pl.(*wasm.Plugin)
	}
	toolNames := func(pl *wasm.Plugin) []string {
		var names []string
		for _, tl := range pl.Tools() {
			names = append(names, tl.Contract().Name)
		}
		return names
	}

	// WAT guests: they compile in a blink, even under -race.
	copyFile("trap")
	first := openModule("")
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 1}, first.Stats(), "a first open describes the module with an instance")
	contracts, err := filepath.Glob(filepath.Join(wasm.CacheDir(dir), "contracts", "*.json"))
	require.NoError(t, err)
	assert.Len(t, contracts, 1, "and keeps its contract")

	cached := openModule("")
	assert.Equal(t, wasm.Stats{}, cached.Stats(), "a second one starts nothing")
	assert.Equal(t, toolNames(first), toolNames(cached))
	for i, tl := range cached.Tools() {
		assert.Equal(t, first.Tools()[i].Contract(), tl.Contract())
	}
	assert.Equal(t, `{"ok":true}`, mustCall(t, cached, "ok", `{}`))
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 1}, cached.Stats(), "its first call starts it")

	other := openModule(`{"limits":{"memory":"32MiB"}}`)
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 1}, other.Stats(), "another memory limit is described again")

	copyFile("bigout")
	changed := openModule("")
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 1}, changed.Stats(), "a changed module is described again")
	assert.Equal(t, []string{"big"}, toolNames(changed))

	// A cache entry that is not a contract is replaced.
	contracts, err = filepath.Glob(filepath.Join(wasm.CacheDir(dir), "contracts", "*.json"))
	require.NoError(t, err)
	require.Len(t, contracts, 3)
	for _, c := range contracts {
		require.NoError(t, os.WriteFile(c, []byte("{not json"), 0o644))
	}
	rewritten := openModule("")
	assert.Equal(t, wasm.Stats{Live: 1, Idle: 1, Created: 1}, rewritten.Stats())
	assert.Equal(t, []string{"big"}, toolNames(rewritten))
	assert.Equal(t, wasm.Stats{}, openModule("").Stats(), "from the contract written again")
}

// A plugin closed before its first call never starts.
func TestClosedBeforeItsFirstCall(t *testing.T) {
	dir := t.TempDir()
	p := newProvider(t, wasm.Options{CacheDir: dir})
	spec := plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, "trap")}
	pl, err := p.Open(context.Background(), spec)
	require.NoError(t, err)
	require.NoError(t, pl.Close())
	pl, err = p.Open(context.Background(), spec)
	require.NoError(t, err)
	require.NoError(t, pl.Close())
	_, err = pl.Tools()[0].Invoke(context.Background(), []byte(`{}`))
	assert.EqualError(t, err, "plugin is closed")
	assert.Equal(t, wasm.Stats{}, pl.(*wasm.Plugin).Stats())
}

func TestCacheDirDefaults(t *testing.T) {
	t.Setenv("WEIR_CACHE_DIR", "/tmp/weir-cache")
	assert.Regexp(t, `^/tmp/weir-cache/wasm/wazero-[^/]+_weir-[^/]+$`, wasm.CacheDir(""))
	assert.Equal(t, "", wasm.CacheDir("-"))
}
