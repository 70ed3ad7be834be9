package main

import (
	"encoding/json"
	"flag"
	"testing"

	"github.com/weirflow/weir/bench/figures"
)

// TestJSON runs the per-call scenarios once each, with the guests built,
// and checks the rows -json writes for them.
func TestJSON(t *testing.T) {
	if err := flag.Set("test.benchtime", "1x"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fig := &figures.Wasm{Header: figures.NewHeader("wasmbench")}
	calls(fig, dir, build(dir, "weirecho", "../../guests/weirecho"), build(dir, "extismecho", "../../guests/extismecho"), []int{64})
	b, err := json.Marshal(fig)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command string           `json:"command"`
		Calls   []map[string]any `json:"calls"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"raw wazero", "raw wazero, termination checks", "weir tool call", "weir node (10-node chain)", "Extism Go SDK"}
	if got.Command != "wasmbench" || len(got.Calls) != len(want) {
		t.Fatalf("command %q, %d call rows, want %d: %s", got.Command, len(got.Calls), len(want), b)
	}
	for i, c := range got.Calls {
		if c["scenario"] != want[i] || c["payload_bytes"] != 64.0 {
			t.Errorf("row %d: %v, want %s at 64 B", i, c, want[i])
		}
		for _, f := range []string{"ns_per_call", "calls_per_sec", "faster_than_extism"} {
			if v, _ := c[f].(float64); v <= 0 {
				t.Errorf("row %d: %s is %v, want a positive number", i, f, c[f])
			}
		}
	}
	if got.Calls[0]["over_raw_ns"] != 0.0 || got.Calls[4]["faster_than_extism"] != 1.0 {
		t.Errorf("the raw row is %v over raw, Extism's %v times Extism", got.Calls[0]["over_raw_ns"], got.Calls[4]["faster_than_extism"])
	}
}
