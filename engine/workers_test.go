package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

// fanOut loads a flow whose first node feeds width others, which meet:
// each returns only once all of them are inside, so that the run needs
// width workers at once.
func fanOut(t *testing.T, width int) (*Engine, *Flow, func()) {
	t.Helper()
	e, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	type io struct {
		Value string `json:"value"`
	}
	var (
		mu  sync.Mutex
		all chan struct{}
		in  int
	)
	reset := func() { all, in = make(chan struct{}), 0 }
	reset()
	meet := plugins.Func("meet", "Returns once every caller is in.", func(ctx context.Context, v io) (io, error) {
		mu.Lock()
		if in++; in == width {
			close(all)
		}
		ch := all
		mu.Unlock()
		select {
		case <-ch:
			return v, nil
		case <-ctx.Done():
			return v, ctx.Err()
		}
	})
	id := plugins.Func("id", "Returns its input.", func(_ context.Context, v io) (io, error) { return v, nil })
	require.NoError(t, e.Register("t", meet, id))

	var src strings.Builder
	fmt.Fprintf(&src, "name: \"fan\"\nconcurrency: %d\ntimeout: \"1m\"\nnodes: {\n\troot: {tool: \"t.id\", inputs: value: \"x\"}\n", width+1)
	for i := range width {
		fmt.Fprintf(&src, "\tn%d: {tool: \"t.meet\", inputs: value: \"${root.output.value}\"}\n", i)
	}
	src.WriteString("}\noutputs: v: \"${n0.output.value}\"\n")
	f, err := e.Parse(context.Background(), "fan.cue", []byte(src.String()))
	require.NoError(t, err)
	return e, f, reset
}

func TestWorkersWaitForTheNextRun(t *testing.T) {
	e, f, reset := fanOut(t, 8)
	for range 3 {
		reset()
		_, err := f.Run(context.Background(), nil)
		require.NoError(t, err)
		// The root ran on the caller's goroutine, then one of the eight
		// it unblocked; the seven others, at once, on seven workers,
		// started by the first run only.
		idle, spawned := e.workers.counts()
		assert.Equal(t, 7, idle)
		assert.Equal(t, 7, spawned)
	}
}

func TestIdleWorkersAreBounded(t *testing.T) {
	e, f, reset := fanOut(t, maxIdleWorkers+4)
	reset()
	_, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	idle, spawned := e.workers.counts()
	assert.Equal(t, maxIdleWorkers, idle)
	assert.Equal(t, maxIdleWorkers+3, spawned)
}

func TestCloseEndsIdleWorkers(t *testing.T) {
	e, f, reset := fanOut(t, 5)
	reset()
	_, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, e.Close())
	idle, _ := e.workers.counts()
	assert.Zero(t, idle)

	// A run still in hand after Close runs on workers that do not stay.
	reset()
	_, err = f.Run(context.Background(), nil)
	require.NoError(t, err)
	idle, spawned := e.workers.counts()
	assert.Zero(t, idle)
	assert.Equal(t, 8, spawned)
}
