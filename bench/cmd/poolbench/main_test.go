package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/hosts/pool"
)

// TestJSON measures the overhead row over a few lines, on an embedded
// pool with a worker in this process, and checks what -json writes for it.
// The scaling and recovery rows need weir worker processes and take
// seconds each: the report's runs of poolbench measure them.
func TestJSON(t *testing.T) {
	root, err := bench.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	p, err := bench.StartPool(ctx, filepath.Join(dir, "nats"), "bench", pool.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := config{lines: 100, rounds: 1, concurrency: 4, window: 16}
	fig := &figures.Pool{Header: figures.NewHeader("poolbench"), Concurrency: c.concurrency}
	if err := overhead(ctx, fig, root, dir, p, c); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fig)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command     string         `json:"command"`
		Concurrency int            `json:"concurrency"`
		Overhead    map[string]any `json:"overhead"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "poolbench" || got.Concurrency != 4 || got.Overhead["lines"] != 100.0 {
		t.Fatalf("command %q, concurrency %d, overhead %v", got.Command, got.Concurrency, got.Overhead)
	}
	for _, f := range []string{"local_lines_per_sec", "pool_lines_per_sec"} {
		if v, _ := got.Overhead[f].(float64); v <= 0 {
			t.Errorf("overhead: %s is %v, want a positive number", f, got.Overhead[f])
		}
	}
}
