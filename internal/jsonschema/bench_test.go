package jsonschema

import (
	"encoding/json"
	"testing"
)

const benchInputs = `inputs: {
	name:  string & !=""
	times: int & >=1 & <=5 | *1
	mode:  "fast" | "slow" | *"fast"
	opts:  {depth: int | *2, label?: string}
	ratio: number & >0 & <1
}`

// BenchmarkValidate measures the per-run check of a 5-field inputs object:
// two of the fields (times, mode) and one nested field (opts.depth) come from
// defaults.
func BenchmarkValidate(b *testing.B) {
	raw, err := FromCUE(compileCUE(b, benchInputs, "inputs"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := Compile(raw)
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"name":"ada","opts":{"label":"x"},"ratio":0.25}`)

	b.Run("defaults+validate", func(b *testing.B) {
		// The map is rebuilt each time, as each run has its own inputs; that
		// costs 2 of the allocations.
		b.ReportAllocs()
		for b.Loop() {
			obj := map[string]any{
				"name":  "ada",
				"opts":  map[string]any{"label": "x"},
				"ratio": json.Number("0.25"),
			}
			s.ApplyDefaults(obj)
			if err := s.Validate(obj); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+defaults+validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			s.ApplyDefaults(v.(map[string]any))
			if err := s.Validate(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("invalid", func(b *testing.B) {
		// A run rejected with two violations.
		b.ReportAllocs()
		for b.Loop() {
			obj := map[string]any{
				"name":  "",
				"times": json.Number("7"),
				"opts":  map[string]any{},
				"ratio": json.Number("0.25"),
			}
			s.ApplyDefaults(obj)
			if err := s.Validate(obj); err == nil {
				b.Fatal("no error")
			}
		}
	})
}
