package ref

import "testing"

// Parse runs once per string when a flow loads, not per line; this keeps an
// eye on it for flows with many long prompts.
func BenchmarkParse(b *testing.B) {
	s := "Summarise ${inputs.text} for ${inputs.audience}. Use the facts in ${search.output.results[0][\"snippet\"]} and cost $${budget}."
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}
