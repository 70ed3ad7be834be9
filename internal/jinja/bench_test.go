package jinja

import (
	"os"
	"testing"
)

// BenchmarkRenderChat renders a typical chat prompt of the corpus (a system
// message, two turns of history, the question). testdata/bench.py times
// Python's jinja2 on the same template and variables, as prompt flow
// renders it.
func BenchmarkRenderChat(b *testing.B) {
	src, err := os.ReadFile("testdata/fidelity/chat_basic.jinja2")
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile("testdata/fidelity/chat_basic.json")
	if err != nil {
		b.Fatal(err)
	}
	v, err := DecodeJSON(data)
	if err != nil {
		b.Fatal(err)
	}
	vars := map[string]any{}
	for _, k := range v.(*Dict).Keys() {
		vars[k], _ = v.(*Dict).Get(k)
	}
	tmpl, err := Parse("chat", string(src))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tmpl.Render(vars); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := Parse("chat", string(src))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := t.Render(vars); err != nil {
				b.Fatal(err)
			}
		}
	})
}
