package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var concurrencies = []int{1, 2, 8}

// BenchmarkBatch runs b.N lines through each batch flow as weir batch
// does, run record included; ns/op is per line. Compare with
// BenchmarkBatchDirect, or run go run ./bench/cmd/batchbench for the
// table.
func BenchmarkBatch(b *testing.B) {
	forEachFlow(b, func(f *BatchFlow, c int) func(*testing.B) {
		return func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data.jsonl")
			require.NoError(b, WriteDataset(data, b.N))
			b.ResetTimer()
			sum, err := f.Run(context.Background(), data, c)
			b.StopTimer()
			require.NoError(b, err)
			require.Equal(b, b.N, sum.Succeeded)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			require.NoError(b, f.Store().Delete(sum.RunID))
		}
	})
}

// BenchmarkBatchDirect makes the same three tool calls per line on the
// tools themselves, from b.N lines in memory.
func BenchmarkBatchDirect(b *testing.B) {
	forEachFlow(b, func(f *BatchFlow, c int) func(*testing.B) {
		return func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data.jsonl")
			require.NoError(b, WriteDataset(data, b.N))
			lines, err := ReadDataset(data)
			require.NoError(b, err)
			b.ResetTimer()
			require.NoError(b, f.Direct(context.Background(), lines, c))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		}
	})
}

// forEachFlow runs bench as flow/cN for each flow and concurrency. A flow
// is opened once, by the first of its benchmarks that runs.
func forEachFlow(b *testing.B, bench func(f *BatchFlow, c int) func(*testing.B)) {
	for _, name := range []string{BuiltinFlow, WasmFlow} {
		var (
			once sync.Once
			f    *BatchFlow
			err  error
			dir  = b.TempDir()
		)
		for _, c := range concurrencies {
			b.Run(fmt.Sprintf("%s/c%d", name, c), func(b *testing.B) {
				once.Do(func() { f, err = OpenBatchFlow(context.Background(), "..", name, dir) })
				require.NoError(b, err)
				bench(f, c)(b)
			})
		}
		if f != nil {
			require.NoError(b, f.Close())
		}
	}
}

// TestBatchFlowsMatchDirect keeps the direct calls in step with the flows:
// each line's outputs in the run record are the last direct call's.
func TestBatchFlowsMatchDirect(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, WriteDataset(data, 50))
	lines, err := ReadDataset(data)
	require.NoError(t, err)
	require.Len(t, lines, 50)
	assert.JSONEq(t, `{"id":1,"name":"Grace 1"}`, fmt.Sprintf(`{"id":%s,"name":%s}`, lines[0].ID, lines[0].Name))

	seventh := map[string]string{
		BuiltinFlow: `{"value":{"id":7,"message":"HELLO, ADA 7!"}}`,
		WasmFlow:    `{"text":"hello, ada 7!"}`,
	}
	for name, want := range seventh {
		t.Run(name, func(t *testing.T) {
			f, err := OpenBatchFlow(ctx, "..", name, t.TempDir())
			require.NoError(t, err)
			defer func() { require.NoError(t, f.Close()) }()
			got, err := f.DirectLine(ctx, lines[6])
			require.NoError(t, err)
			assert.JSONEq(t, want, string(got))

			sum, err := f.Run(ctx, data, 4)
			require.NoError(t, err)
			assert.Equal(t, 50, sum.Succeeded)
			n := 0
			for o, err := range f.Store().Outputs(sum.RunID) {
				require.NoError(t, err)
				want, err := f.DirectLine(ctx, lines[o.Line-1])
				require.NoError(t, err)
				assert.JSONEq(t, string(want), string(o.Outputs), "line %d", o.Line)
				n++
			}
			assert.Equal(t, 50, n)
			require.NoError(t, f.Direct(ctx, lines, 3))
			sum, err = f.Engine(ctx, data, 2)
			require.NoError(t, err)
			assert.Equal(t, 50, sum.Succeeded)
		})
	}
}
