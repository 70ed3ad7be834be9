package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/pool"
)

// startPool starts a pool with a worker of concurrency 8 in this process,
// until the test or benchmark ends.
func startPool(tb testing.TB) *Pool {
	tb.Helper()
	dir := tb.TempDir()
	p, err := StartPool(context.Background(), filepath.Join(dir, "nats"), "bench", pool.Settings{})
	require.NoError(tb, err)
	tb.Cleanup(p.Close)
	stop, err := p.Worker(filepath.Join(dir, "bundles"), 8)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, stop()) })
	return p
}

// BenchmarkPoolBatch runs b.N lines of the builtin batch flow through a
// pool with one worker, both in this process, run record included; ns/op
// is per line. Compare with BenchmarkBatch/builtin/c8, or run go run
// ./bench/cmd/poolbench for the table.
func BenchmarkPoolBatch(b *testing.B) {
	ctx := context.Background()
	p := startPool(b)
	f, err := OpenBatchFlow(ctx, "..", BuiltinFlow, b.TempDir())
	require.NoError(b, err)
	defer func() { require.NoError(b, f.Close()) }()
	data := filepath.Join(b.TempDir(), "data.jsonl")
	require.NoError(b, WriteDataset(data, b.N))
	b.ResetTimer()
	sum, err := f.RunOnPool(ctx, p, data, 256)
	b.StopTimer()
	require.NoError(b, err)
	require.Equal(b, b.N, sum.Succeeded)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestPoolBatchMatchesDirect checks the pool side of poolbench: each line
// that came back from the worker has the outputs of the direct calls, and
// the sleep flow passes each line's id through.
func TestPoolBatchMatchesDirect(t *testing.T) {
	ctx := context.Background()
	p := startPool(t)
	data := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, WriteDataset(data, 40))
	lines, err := ReadDataset(data)
	require.NoError(t, err)

	f, err := OpenBatchFlow(ctx, "..", BuiltinFlow, t.TempDir())
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	sum, err := f.RunOnPool(ctx, p, data, 16)
	require.NoError(t, err)
	assert.Equal(t, 40, sum.Succeeded)
	n := 0
	for o, err := range f.Store().Outputs(sum.RunID) {
		require.NoError(t, err)
		want, err := f.DirectLine(ctx, lines[o.Line-1])
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(o.Outputs), "line %d", o.Line)
		n++
	}
	assert.Equal(t, 40, n)

	e, err := BuiltinEngine()
	require.NoError(t, err)
	defer func() { require.NoError(t, e.Close()) }()
	path, err := SleepFlow(t.TempDir(), "1ms")
	require.NoError(t, err)
	sleep, err := e.Load(ctx, path)
	require.NoError(t, err)
	digest, err := p.Put(ctx, sleep)
	require.NoError(t, err)
	ids := map[string]int{}
	sum, err = p.Batch(ctx, sleep, digest, data, 8, func(lr engine.LineResult) {
		ids[string(lr.Outputs)]++
	})
	require.NoError(t, err)
	assert.Equal(t, 40, sum.Succeeded)
	require.Len(t, ids, 40)
	assert.Equal(t, 1, ids[`{"id":7}`])
}
