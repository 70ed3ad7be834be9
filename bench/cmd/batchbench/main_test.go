package main

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/internal/testbuild"
)

// TestJSON measures the throughput rows over a few lines and checks what
// -json writes for them, and for a weir batch process's run.
func TestJSON(t *testing.T) {
	root, err := bench.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testbuild.TextPlugin(root); err != nil {
		t.Fatal(err)
	}
	fig := &figures.Batch{Header: figures.NewHeader("batchbench"), Lines: 200, Rounds: 1}
	if err := lineRates(context.Background(), fig, root, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	run := childRun{wall: 2 * time.Second, rss: 40 << 20, floor: 10 << 20, record: 5e6}
	fig.Memory = append(fig.Memory, run.figures(bench.BuiltinFlow, 1000))
	b, err := json.Marshal(fig)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command    string           `json:"command"`
		Lines      int              `json:"lines"`
		Throughput []map[string]any `json:"throughput"`
		Memory     []map[string]any `json:"memory"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "batchbench" || got.Lines != 200 || len(got.Throughput) != 2*len(concurrencies) {
		t.Fatalf("command %q, %d lines, %d throughput rows: %s", got.Command, got.Lines, len(got.Throughput), b)
	}
	for i, r := range got.Throughput {
		flow := []string{bench.BuiltinFlow, bench.WasmFlow}[i/len(concurrencies)]
		if r["flow"] != flow || r["concurrency"] != float64(concurrencies[i%len(concurrencies)]) {
			t.Errorf("row %d: %v, want %s at concurrency %d", i, r, flow, concurrencies[i%len(concurrencies)])
		}
		for _, f := range []string{"weir_lines_per_sec", "direct_lines_per_sec", "weir_over_direct", "no_record_lines_per_sec"} {
			if v, _ := r[f].(float64); v <= 0 {
				t.Errorf("row %d: %s is %v, want a positive number", i, f, r[f])
			}
		}
	}
	want := map[string]any{"flow": bench.BuiltinFlow, "lines": 1000.0, "wall_ns": 2e9, "lines_per_sec": 500.0,
		"peak_rss_bytes": float64(40 << 20), "peak_exact": true, "floor_rss_bytes": float64(10 << 20), "record_bytes": 5e6}
	if len(got.Memory) != 1 || !reflect.DeepEqual(got.Memory[0], want) {
		t.Errorf("memory rows: %v, want [%v]", got.Memory, want)
	}
}
