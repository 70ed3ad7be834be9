package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{in: "1000,10000", want: []int{1000, 10000}},
		{in: "10, 100,1000", want: []int{10, 100, 1000}},
		{in: "1000", err: `"1000": give two sizes or more`},
		{in: "1000,x", err: `"x" is not a number of nodes of 2 or more`},
		{in: "100,10", err: "10 is not larger than the size before it"},
	} {
		got, err := parseSizes(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseSizes(%q): error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseSizes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestJSON checks the fields -json writes for the table's rows.
func TestJSON(t *testing.T) {
	loads := map[string]*load{
		key("chain", 10):   {wall: 3 * time.Millisecond, cpu: 2 * time.Millisecond, rss: 40 << 20, allocated: 1 << 20},
		key("chain", 100):  {wall: 30 * time.Millisecond, cpu: 20 * time.Millisecond, rss: 50 << 20, allocated: 10 << 20},
		key("fanout", 10):  {wall: 4 * time.Millisecond, cpu: 3 * time.Millisecond, rss: 41 << 20},
		key("fanout", 100): {wall: 40 * time.Millisecond, cpu: 30 * time.Millisecond, rss: 51 << 20},
	}
	b, err := json.Marshal(loadFigures([]string{"chain", "fanout"}, []int{10, 100}, 3, loads))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command string           `json:"command"`
		Rounds  int              `json:"rounds"`
		Rows    []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "loadbench" || got.Rounds != 3 || len(got.Rows) != 4 {
		t.Fatalf("command %q, rounds %d, %d rows: %s", got.Command, got.Rounds, len(got.Rows), b)
	}
	want := map[string]any{"shape": "chain", "nodes": 100.0, "validate_wall_ns": 30e6, "validate_cpu_ns": 20e6,
		"validate_peak_rss_bytes": float64(50 << 20), "parse_allocated_bytes": float64(10 << 20)}
	if !reflect.DeepEqual(got.Rows[1], want) {
		t.Errorf("row 1: %v, want %v", got.Rows[1], want)
	}
	if got.Rows[3]["shape"] != "fanout" || got.Rows[3]["parse_allocated_bytes"] != 0.0 {
		t.Errorf("row 3: %v", got.Rows[3])
	}
}
