package wasm_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm"
)

// limits.memory covers what wazero does not count by itself: tables and
// the call stack. Each way to reach past it fails with the limit named, and
// the plugin serves the next call.
func TestMemoryLimitCoversTablesAndStack(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "bounds", `{"limits":{"memory":"16MiB"}}`, plugins.Grants{})
	cases := []struct{ tool, want string }{
		{"recurse", "limits.memory (16 MiB) exceeded: the call stack passed its share of 1 MiB"},
		{"table", "limits.memory (16 MiB) exceeded: a table could not grow past 262144 elements"},
		{"bigalloc", "limits.memory (16 MiB) exceeded: the memory could not grow past 128 KiB"},
		{"fill", "limits.memory (16 MiB) exceeded: the memory could not grow past 16 MiB"},
	}
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			discarded := pl.Stats().Discarded
			_, err := call(t, pl, c.tool, `{}`)
			assert.EqualError(t, err, c.want)
			assert.Equal(t, plugins.Limit, plugins.KindOf(err))
			assert.Equal(t, discarded+1, pl.Stats().Discarded, "the instance is thrown away")
			assert.Equal(t, "{}", mustCall(t, pl, "tablegrow", `{}`), "the next call works")
		})
	}
	// A guest that survives a refused table.grow keeps its instance, whose
	// table stays under the cap.
	live := pl.Stats()
	assert.Equal(t, "{}", mustCall(t, pl, "tablegrow", `{}`))
	assert.Equal(t, live.Discarded, pl.Stats().Discarded)
}

func TestMemoryLimitOfTheGoGuest(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"memory":"64MiB"}}`, plugins.Grants{})
	_, err := call(t, pl, "grow", `{}`)
	require.Error(t, err)
	assert.Regexp(t, `^limits\.memory \(64 MiB\) exceeded: the memory could not grow past [0-9]+ (KiB|MiB)$`, err.Error())
	assert.Equal(t, `{"value":1}`, mustCall(t, pl, "echo", `{"value":1}`))
}

// Loading runs the guest too (_initialize, weir_describe): limits.timeout
// bounds it, and canceling the context stops it.
func TestLoadingIsBounded(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	for name, want := range map[string]string{
		"loadloop": "loadloop.wasm: weir_describe: limits.timeout (200ms) exceeded: the guest was stopped",
		"initloop": "initloop.wasm: _initialize: limits.timeout (200ms) exceeded: the guest was stopped",
	} {
		_, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, name), Options: []byte(`{"limits":{"timeout":"200ms"}}`)})
		assert.EqualError(t, err, want)
		assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := p.Open(ctx, plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, "loadloop")})
		done <- err
	}()
	select {
	case err := <-done:
		assert.EqualError(t, err, "loadloop.wasm: weir_describe: context canceled")
	case <-time.After(30 * time.Second):
		t.Fatal("a canceled load did not stop")
	}
}

func TestCommandModeLimits(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	t.Run("timeout", func(t *testing.T) {
		pl := open(t, p, "cmdspin", `{"limits":{"timeout":"200ms"}}`, plugins.Grants{})
		_, err := call(t, pl, "run", `{}`)
		assert.EqualError(t, err, "limits.timeout (200ms) exceeded: the guest was stopped")
		assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	})
	t.Run("output stops the guest at the cap", func(t *testing.T) {
		pl := open(t, p, "cmdflood", `{"limits":{"output":"1MiB","timeout":"10m"}}`, plugins.Grants{})
		done := make(chan error, 1)
		go func() {
			_, err := call(t, pl, "run", `{}`)
			done <- err
		}()
		select {
		case err := <-done:
			assert.EqualError(t, err, "limits.output (1 MiB) exceeded: the module wrote more to stdout and was stopped")
			assert.Equal(t, plugins.Limit, plugins.KindOf(err))
		case <-time.After(30 * time.Second):
			t.Fatal("a guest writing past limits.output was not stopped")
		}
	})
	t.Run("instances", func(t *testing.T) {
		pl := open(t, p, "cmdspin", `{"limits":{"timeout":"100ms","instances":2}}`, plugins.Grants{})
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = call(t, pl, "run", `{}`)
			}()
		}
		most := 0
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
	watch:
		for {
			select {
			case <-done:
				break watch
			default:
				most = max(most, pl.Stats().Live)
				time.Sleep(time.Millisecond)
			}
		}
		assert.LessOrEqual(t, most, 2, "calls wait for one of limits.instances")
		assert.Equal(t, 6, pl.Stats().Created)
		for _, err := range errs {
			assert.EqualError(t, err, "limits.timeout (100ms) exceeded: the guest was stopped")
		}
	})
}

// What a guest says through weir.error and weir.log is bounded and cannot
// forge a log record or reach a terminal.
func TestGuestMessagesAreBoundedAndInert(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	lines := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
		logs.Reset()
		return out
	}
	pl := open(t, newProvider(t, wasm.Options{Logger: logger}), "noisy", "", plugins.Grants{})

	t.Run("an error of 64 MiB", func(t *testing.T) {
		_, err := call(t, pl, "bigerror", `{}`)
		assert.EqualError(t, err, strings.Repeat("x", 4096)+"… (67104768 bytes more)")
	})
	t.Run("a million log lines", func(t *testing.T) {
		lines()
		assert.Equal(t, "{}", mustCall(t, pl, "logflood", `{}`))
		got := lines()
		require.Len(t, got, 101)
		assert.Contains(t, got[0], `level=INFO msg=x plugin=p tool=logflood`)
		assert.Contains(t, got[100], `level=WARN msg="dropped 999900 log lines of the call: a call logs at most 100 lines, a plugin 100 a second" plugin=p tool=logflood`)
	})
	t.Run("one log line of 1 MiB", func(t *testing.T) {
		lines()
		time.Sleep(1100 * time.Millisecond) // the plugin's budget of lines a second refills
		assert.Equal(t, "{}", mustCall(t, pl, "biglog", `{}`))
		got := lines()
		require.Len(t, got, 1)
		assert.Contains(t, got[0], `level=WARN msg="`+strings.Repeat("y", 4096)+`… (1044480 bytes more)" plugin=p tool=biglog`)
	})
	t.Run("forged records and terminal escapes", func(t *testing.T) {
		lines()
		time.Sleep(1100 * time.Millisecond)
		_, err := call(t, pl, "forge", `{}`)
		assert.EqualError(t, err, `bad\nlevel=ERROR msg=forged \x1b[2J`)
		got := lines()
		require.Len(t, got, 1, "one record, however many lines the guest wrote")
		assert.Contains(t, got[0], `level=INFO msg="ok\\nlevel=ERROR msg=forged \\x1b[31mred" plugin=p tool=forge`)
		assert.NotContains(t, got[0], "\x1b")
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// The time a guest spends waiting in http_request counts against
// limits.timeout.
func TestHostCallsCountAgainstTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	host := strings.TrimPrefix(srv.URL, "http://")
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"timeout":"1s"}}`, plugins.Grants{Hosts: []string{host}})
	start := time.Now()
	_, err := call(t, pl, "get", fmt.Sprintf(`{"url":%q}`, srv.URL))
	assert.EqualError(t, err, "limits.timeout (1s) exceeded: the guest was stopped")
	assert.Less(t, time.Since(start), 10*time.Second, "the stalled request was not cut at the call's deadline")
	assert.Equal(t, `{"value":1}`, mustCall(t, pl, "echo", `{"value":1}`))
}

// A guest granted the clock really sleeps in the host, where the watchdog
// cannot stop it: the sleep ends at the call's deadline.
func TestGrantedSleepEndsAtTheTimeout(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "sleep", `{"limits":{"timeout":"300ms"}}`, plugins.Grants{Clock: true})
	start := time.Now()
	_, err := call(t, pl, "sleep", `{}`)
	assert.EqualError(t, err, "limits.timeout (300ms) exceeded: the guest was stopped")
	assert.Less(t, time.Since(start), 30*time.Second, "the hour's sleep was not cut at the deadline")
}

// A caller that goes away stops a guest that never returns, well before
// limits.timeout, and the plugin serves the next call.
func TestCallerCancelStopsTheGuest(t *testing.T) {
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"timeout":"10m"}}`, plugins.Grants{})
	var loop plugins.Tool
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == "loop" {
			loop = tl
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := loop.Invoke(ctx, []byte(`{}`))
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("a canceled call went on")
	}
	assert.Equal(t, `{"value":1}`, mustCall(t, pl, "echo", `{"value":1}`))
}
