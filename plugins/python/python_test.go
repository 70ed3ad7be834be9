package python_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

// logs collects the records of a logger.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
	added   chan struct{}
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// lines returns the messages logged so far with their "tool" and
// "stream" attributes, as "tool stream: message".
func (l *logs) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
		out = append(out, attrs["tool"]+" "+attrs["stream"]+": "+r.Message)
	}
	return out
}

// waitFor waits until line was logged, failing the test after a while.
func (l *logs) waitFor(t *testing.T, line string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !contains(l.lines(), line) {
		select {
		case <-l.added:
		case <-timeout:
			t.Fatalf("%q was not logged; the lines logged:\n%s", line, strings.Join(l.lines(), "\n"))
		}
	}
}

func contains(lines []string, line string) bool {
	for _, l := range lines {
		if l == line {
			return true
		}
	}
	return false
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the Python plugin kind cannot be tested")
	}
}

// open opens the Python plugin at path (under testdata) with the entry's
// options, and closes it with the test.
func open(t *testing.T, path string, options string) (map[string]plugins.Tool, *python.Plugin, *logs) {
	t.Helper()
	needPython(t)
	l := &logs{added: make(chan struct{}, 1)}
	p := python.NewProvider(python.Options{CacheDir: t.TempDir(), Logger: slog.New(l)})
	t.Cleanup(func() { _ = p.Close() })
	if options == "" {
		options = "{}"
	}
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "python", Source: filepath.Join("testdata", path), Options: json.RawMessage(options)})
	require.NoError(t, err)
	tools := map[string]plugins.Tool{}
	for _, tl := range pl.Tools() {
		tools[tl.Contract().Name] = tl
	}
	return tools, pl.(*python.Plugin), l
}

func invoke(t *testing.T, tl plugins.Tool, in string) (string, error) {
	t.Helper()
	out, err := tl.Invoke(context.Background(), []byte(in))
	return string(out), err
}

func TestPromptFlowToolRunsUnchanged(t *testing.T) {
	tools, _, _ := open(t, "pf", "")
	out, err := invoke(t, tools["classify"], `{"text":"A Cat sat","labels":["dog","cat"],"conn":{"fallback":"none"}}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"cat"}`, out)
	out, err = invoke(t, tools["classify"], `{"text":"a bird","labels":["dog"],"conn":{"secrets":{"fallback":"other"}}}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"other"}`, out)
	out, err = invoke(t, tools["accuracy"], `{"grades":["right","wrong","right"]}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":3,"metrics":{"accuracy":0.67}}`, out)
	out, err = invoke(t, tools["words"], `{"text":"to be"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"TO BE "}`, out)
	out, err = invoke(t, tools["shout"], `{"text":"hey"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"HEY!"}`, out, "async def")
	out, err = invoke(t, tools["spell"], `{"text":"ab"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":"a.b."}`, out, "an async generator")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
