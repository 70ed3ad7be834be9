package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weirflow/weir/bench/load"
)

// TestJSON checks the fields -json writes for a window of known answers.
func TestJSON(t *testing.T) {
	var latencies []time.Duration
	for i := range 100 {
		latencies = append(latencies, 1250*time.Millisecond+time.Duration(i)*time.Millisecond)
	}
	r := &result{Result: &load.Result[struct{}]{Window: 10 * time.Second, Latencies: latencies, Errors: 2}, serverCPU: 3 * time.Second, cpuOK: true}
	b, err := json.Marshal(serveFigures(r, 500, 80<<20))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	delete(got, "machine") // this machine, now
	delete(got, "args")    // the test binary's flags
	want := map[string]any{
		"command": "servebench", "clients": 500.0, "duration_ns": 10e9, "ok": 100.0, "errors": 2.0,
		"requests_per_sec": 10.0, "p50_ns": 1299e6, "p90_ns": 1339e6, "p99_ns": 1348e6, "max_ns": 1349e6,
		"mean_ns": 1299.5e6, "floor_ns": 1250e6, "limit_per_sec": 400.0, "server_cpu_ns": 3e9,
		"peak_rss_bytes": float64(80 << 20),
		"published": []any{
			map[string]any{"name": "prompt flow, FastAPI (async)", "requests_per_sec": 166.0, "clients": 500.0},
			map[string]any{"name": "prompt flow, Flask", "requests_per_sec": 41.0, "clients": 500.0},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
