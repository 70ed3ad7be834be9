package main

import (
	"encoding/json"
	"flag"
	"testing"
)

// TestJSON measures the smallest flows once each and checks what -json
// writes: a row per scenario with its shape and size, and positive figures.
func TestJSON(t *testing.T) {
	if err := flag.Set("test.benchtime", "1x"); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(measure([]int{2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command string `json:"command"`
		Machine struct {
			CPUs int `json:"cpus"`
		} `json:"machine"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "weirbench" || got.Machine.CPUs < 1 {
		t.Errorf("header: command %q, %d CPUs", got.Command, got.Machine.CPUs)
	}
	want := []struct {
		scenario, shape string
		nodes           float64
	}{{"direct tool calls", "direct", 10}, {"chain of 2", "chain", 2}, {"fan-out of 2", "fanout", 2}, {"chain of 3", "chain", 3}, {"fan-out of 3", "fanout", 3}}
	if len(got.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %s", len(got.Rows), len(want), b)
	}
	for i, w := range want {
		r := got.Rows[i]
		if r["scenario"] != w.scenario || r["shape"] != w.shape || r["nodes"] != w.nodes {
			t.Errorf("row %d: %v, want %s, %s, %v nodes", i, r, w.scenario, w.shape, w.nodes)
		}
		for _, f := range []string{"runs_per_sec", "ns_per_node", "allocs_per_node", "vs_direct"} {
			if v, _ := r[f].(float64); v <= 0 {
				t.Errorf("row %d: %s is %v, want a positive number", i, f, r[f])
			}
		}
		if _, ok := r["engine_ns_per_node"].(float64); !ok {
			t.Errorf("row %d: no engine_ns_per_node", i)
		}
	}
}
