package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// testTools are native tools whose behaviour the tests control.
type testTools struct {
	calls    sync.Map // key -> *atomic.Int64
	barrier  *barrier
	released chan struct{} // closed at cleanup: frees tools that ignore ctx
}

func (tt *testTools) count(key string) int {
	v, ok := tt.calls.Load(key)
	if !ok {
		return 0
	}
	return int(v.(*atomic.Int64).Load())
}

func (tt *testTools) inc(key string) int {
	v, _ := tt.calls.LoadOrStore(key, new(atomic.Int64))
	return int(v.(*atomic.Int64).Add(1))
}

type valueIO struct {
	Value any `json:"value"`
}

type flakyIn struct {
	Key      string `json:"key"`
	Failures int    `json:"failures"`
	Kind     string `json:"kind,omitempty"`
}

type failIn struct {
	Message string `json:"message"`
}

type waitIn struct {
	Name string `json:"name"`
}

type countOut struct {
	N int `json:"n"`
}

// barrier lets n calls through only once all n are inside at the same time:
// it proves nodes run in parallel without measuring time.
type barrier struct {
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (tt *testTools) tools() []plugins.Tool {
	return []plugins.Tool{
		plugins.Func("echo", "Returns its value.", func(_ context.Context, in valueIO) (valueIO, error) {
			tt.inc("echo")
			return in, nil
		}),
		plugins.Func("flaky", "Fails its first calls per key.", func(_ context.Context, in flakyIn) (countOut, error) {
			n := tt.inc(in.Key)
			if n <= in.Failures {
				kind := plugins.Retryable
				if in.Kind == "internal" {
					kind = plugins.Internal
				}
				return countOut{}, plugins.Errorf(kind, "flaky failure %d", n)
			}
			return countOut{N: n}, nil
		}),
		plugins.Func("fail", "Always fails.", func(_ context.Context, in failIn) (valueIO, error) {
			return valueIO{}, errors.New(in.Message)
		}),
		plugins.Func("panic", "Panics.", func(_ context.Context, in failIn) (valueIO, error) {
			panic(in.Message)
		}),
		plugins.Func("hang", "Ignores its context and blocks until the test ends.", func(_ context.Context, in waitIn) (valueIO, error) {
			tt.inc("hang")
			<-tt.released
			return valueIO{}, nil
		}),
		plugins.Func("wait", "Blocks until its context is done.", func(ctx context.Context, in waitIn) (valueIO, error) {
			tt.inc("wait")
			<-ctx.Done()
			return valueIO{}, ctx.Err()
		}),
		plugins.Func("meet", "Returns once every meet call of the run is inside.", func(ctx context.Context, in waitIn) (valueIO, error) {
			if err := tt.barrier.wait(ctx); err != nil {
				return valueIO{}, err
			}
			return valueIO{Value: in.Name}, nil
		}),
	}
}

// newEngine returns an engine with the test tools registered as plugin "t".
func newEngine(t *testing.T, opts engine.Options) (*engine.Engine, *testTools) {
	t.Helper()
	e, err := weir.New(opts)
	require.NoError(t, err)
	tt := &testTools{released: make(chan struct{})}
	require.NoError(t, e.Register("t", tt.tools()...))
	t.Cleanup(func() {
		close(tt.released)
		require.NoError(t, e.Close())
	})
	return e, tt
}

// writeFlow writes files into a new folder and returns the folder.
func writeFlow(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	return dir
}

func load(t *testing.T, e *engine.Engine, src string) *engine.Flow {
	t.Helper()
	dir := writeFlow(t, map[string]string{"flow.cue": src})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	return f
}

// loadErrors loads a flow that must fail and returns its error lines, with
// the temporary folder taken out of the positions.
func loadErrors(t *testing.T, e *engine.Engine, name, src string) []string {
	t.Helper()
	dir := writeFlow(t, map[string]string{name: src})
	_, err := e.Load(context.Background(), filepath.Join(dir, name))
	require.Error(t, err)
	return strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
}

func outputs(t *testing.T, res *engine.Result) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(res.Outputs, &m))
	return m
}

func statuses(res *engine.Result) map[string]engine.Status {
	m := map[string]engine.Status{}
	for _, n := range res.Nodes {
		m[n.Node] = n.Status
	}
	return m
}

func node(res *engine.Result, name string) engine.NodeResult {
	for _, n := range res.Nodes {
		if n.Node == name {
			return n
		}
	}
	return engine.NodeResult{}
}

func engineOpts() engine.Options { return engine.Options{} }

func writeFile(path, src string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(src), 0o644)
}
