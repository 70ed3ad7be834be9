package python_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

// alive reports whether a process of that id exists (a zombie counts).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestHangingToolIsKilledAndThePoolRecovers(t *testing.T) {
	tools, _, _ := open(t, "hostile", `{"limits":{"timeout":"300ms","instances":1}}`)
	out, err := invoke(t, tools["pid"], `{}`)
	require.NoError(t, err)
	var first struct{ Value int }
	require.NoError(t, jsonUnmarshal(out, &first))

	_, err = invoke(t, tools["hang"], `{}`)
	assert.EqualError(t, err, "limits.timeout (300ms) exceeded: the Python process was stopped")
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	assert.Eventually(t, func() bool { return !alive(first.Value) }, 10*time.Second, 10*time.Millisecond, "the process that hung is gone")

	out, err = invoke(t, tools["echo"], `{"text":"next"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"next"}`, out)
}

func TestCanceledCallStopsItsProcess(t *testing.T) {
	tools, pl, _ := open(t, "hostile", `{"limits":{"instances":1}}`)
	_, err := invoke(t, tools["echo"], `{"text":"start"}`)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = tools["hang"].Invoke(ctx, []byte(`{}`))
	assert.EqualError(t, err, "the Python process was stopped during the call: context deadline exceeded")
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Equal(t, plugins.PoolStats{}, pl.PoolStats())
	out, err := invoke(t, tools["echo"], `{"text":"after"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"after"}`, out)
}

func TestCrashIsRetryableWithStderr(t *testing.T) {
	tools, _, _ := open(t, "hostile", `{"limits":{"instances":1}}`)
	_, err := invoke(t, tools["crash"], `{"code":3}`)
	assert.EqualError(t, err, "the Python process exited (exit status 3) during the call; its last lines of stderr:\n\tabout to crash")
	assert.Equal(t, plugins.Retryable, plugins.KindOf(err))
	out, err := invoke(t, tools["echo"], `{"text":"again"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"again"}`, out)

	_, err = invoke(t, tools["segfault"], `{}`)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "the Python process exited (signal: segmentation fault) during the call; its last lines of stderr:\n\tFatal Python error: Segmentation fault"), err.Error())
	assert.Equal(t, plugins.Retryable, plugins.KindOf(err))
	out, err = invoke(t, tools["echo"], `{"text":"still"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"still"}`, out)
}

func TestPrintsGoToTheLogNotTheProtocol(t *testing.T) {
	tools, _, l := open(t, "hostile", "")
	out, err := invoke(t, tools["chatty"], `{"n":2}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"done"}`, out)
	// print's lines come before the answer, as the call's: they are logged
	// by the time Invoke returns.
	var printed []string
	for _, line := range l.lines() {
		if !strings.Contains(line, "raw line") {
			printed = append(printed, line)
		}
	}
	assert.Equal(t, []string{"chatty stdout: line 0", "chatty stdout: line 1", "chatty stderr: to stderr"}, printed)
	// A write to fd 1 itself goes down a pipe, read on its own time.
	l.waitFor(t, "chatty stdout: raw line on fd 1")
	out, err = invoke(t, tools["echo"], `{"text":"clean"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"clean"}`, out)
}

func TestNonJSONValuesAreClearErrors(t *testing.T) {
	tools, _, _ := open(t, "hostile", "")
	for tool, want := range map[string]string{
		"tags": `tool "tags" returned a set at ["tags"]: not JSON`,
		"when": `tool "when" returned a datetime: not JSON`,
		"nan":  `tool "nan" returned a float (nan) at ["scores"][1]: not JSON`,
	} {
		_, err := invoke(t, tools[tool], `{}`)
		assert.EqualError(t, err, want, tool)
		assert.Equal(t, plugins.Internal, plugins.KindOf(err))
	}
	out, err := invoke(t, tools["echo"], `{"text":"fine"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"fine"}`, out)
}

func TestHugeOutputHitsTheLimit(t *testing.T) {
	tools, _, _ := open(t, "hostile", `{"limits":{"output":"1MiB"}}`)
	_, err := invoke(t, tools["huge"], `{"n":2000000}`)
	assert.EqualError(t, err, "limits.output (1 MiB) exceeded: the output is 2000012 bytes")
	assert.Equal(t, plugins.Limit, plugins.KindOf(err))
	out, err := invoke(t, tools["huge"], `{"n":3}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"xxx"}`, out)
}

func TestExceptionsCarryTheirLastFrames(t *testing.T) {
	tools, _, _ := open(t, "hostile", "")
	_, err := invoke(t, tools["raises"], `{"s":"x"}`)
	assert.EqualError(t, err, "ValueError: invalid literal for int() with base 10: 'x'\n"+
		"\thostile.py:74 in raises: return check(s)\n"+
		"\thostile.py:69 in check: return parse(s) * 2\n"+
		"\thostile.py:65 in parse: return int(s)")
	assert.Equal(t, plugins.Internal, plugins.KindOf(err))

	_, err = invoke(t, tools["flaky"], `{}`)
	assert.EqualError(t, err, "weir.Retryable: try again\n\thostile.py:79 in flaky: raise Retryable(\"try again\")")
	assert.Equal(t, plugins.Retryable, plugins.KindOf(err))
}

func TestMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RLIMIT_AS is enforced as tested here on Linux")
	}
	tools, pl, _ := open(t, "hostile", `{"limits":{"memory":"256MiB","instances":1}}`)
	_, err := invoke(t, tools["hog"], `{}`)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "limits.memory (256 MiB) exceeded: MemoryError\n\thostile.py:"), err.Error())
	assert.Equal(t, plugins.Limit, plugins.KindOf(err))
	assert.Equal(t, plugins.PoolStats{}, pl.PoolStats(), "the process that ran out of memory was replaced")
	out, err := invoke(t, tools["echo"], `{"text":"ok"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"ok"}`, out)
}

func TestForkedChildDiesWithThePlugin(t *testing.T) {
	tools, pl, _ := open(t, "hostile", "")
	out, err := invoke(t, tools["forks"], `{}`)
	require.NoError(t, err)
	var child struct{ Value int }
	require.NoError(t, jsonUnmarshal(out, &child))
	require.True(t, alive(child.Value), "the child outlives the call")
	require.NoError(t, pl.Close())
	assert.Eventually(t, func() bool { return !alive(child.Value) }, 10*time.Second, 10*time.Millisecond, "the child was killed with its group")
	_, err = invoke(t, tools["echo"], `{"text":"x"}`)
	assert.EqualError(t, err, "python: closed")
}

func TestConcurrentCallsShareThePool(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 8
	}
	tools, pl, _ := open(t, "hostile", `{"limits":{"instances":3}}`)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			text := strconv.Itoa(i)
			out, err := invoke(t, tools["echo"], `{"text":"`+text+`"}`)
			if err == nil && out != `{"value":"`+text+`"}` {
				err = fmt.Errorf("call %d got %s", i, out)
			}
			errs <- err
		}()
	}
	for range n {
		assert.NoError(t, <-errs)
	}
	assert.LessOrEqual(t, pl.PoolStats().Live, 3)
}

// TestHangingImportIsStopped: a tool file whose import never ends is
// stopped at the start timeout, which the error names, not the call's.
func TestHangingImportIsStopped(t *testing.T) {
	needPython(t)
	p := python.NewProvider(python.Options{CacheDir: t.TempDir(), StartTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = p.Close() })
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "python", Source: filepath.Join("testdata", "slowimport"), Options: json.RawMessage(`{"limits":{"timeout":"10s"}}`)})
	require.NoError(t, err)
	_, err = pl.Tools()[0].Invoke(context.Background(), []byte(`{"text":"x"}`))
	assert.EqualError(t, err, "the start timeout (500ms, the tools' imports included) exceeded: the Python process was stopped")
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
}
