package main

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
)

// TestJSON runs every scenario once, with the guests built, and checks
// what -json writes: a call row per scenario and payload, a startup row
// per step.
func TestJSON(t *testing.T) {
	if err := flag.Set("test.benchtime", "1x"); err != nil {
		t.Fatal(err)
	}
	root, err := bench.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goGuest := build(root, filepath.Join(dir, "goecho"), "./bench/guests/goecho")
	wasmGuest := build(root, filepath.Join(dir, "wasmecho.wasm"), "./bench/guests/wasmecho", "GOOS=wasip1", "GOARCH=wasm")
	fig := &figures.Plugin{Header: figures.NewHeader("pluginbench"), Nodes: 2, Rounds: 1, Target: target}
	calls(fig, dir, goGuest, wasmGuest)
	startup(fig, goGuest)
	b, err := json.Marshal(fig)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command string           `json:"command"`
		Nodes   int              `json:"nodes"`
		Target  float64          `json:"target"`
		Calls   []map[string]any `json:"calls"`
		Startup []map[string]any `json:"startup"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "pluginbench" || got.Nodes != 2 || got.Target != target {
		t.Errorf("header: %q, %d nodes, target %v", got.Command, got.Nodes, got.Target)
	}
	if len(got.Calls) != 14 {
		t.Fatalf("%d call rows, want 7 scenarios at 2 payloads: %s", len(got.Calls), b)
	}
	first, last := got.Calls[0], got.Calls[13]
	if first["scenario"] != "raw go-plugin gRPC call" || first["payload_bytes"] != 64.0 || first["vs_raw"] != 1.0 {
		t.Errorf("first call row: %v", first)
	}
	if last["scenario"] != "native node (2-node chain)" || last["payload_bytes"] != 4096.0 {
		t.Errorf("last call row: %v", last)
	}
	for i, c := range got.Calls {
		for _, f := range []string{"ns_per_call", "calls_per_sec", "vs_raw"} {
			if v, _ := c[f].(float64); v <= 0 {
				t.Errorf("call row %d: %s is %v, want a positive number", i, f, c[f])
			}
		}
	}
	if len(got.Startup) != 4 || got.Startup[3]["step"] != "raw go-plugin: spawn to first answer" {
		t.Fatalf("startup rows: %v", got.Startup)
	}
	for _, s := range got.Startup {
		if s["median_ns"].(float64) <= 0 || s["min_ns"].(float64) > s["max_ns"].(float64) {
			t.Errorf("startup row %v", s)
		}
	}
}
