package bench

import (
	"context"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

// LoadFlow benchmarks loading a no-op flow of n nodes in the given shape:
// parsing, the CUE schema check, decoding and the engine's checks, what
// weir validate does but for process start.
func LoadFlow(shape string, n int) func(b *testing.B) {
	return func(b *testing.B) {
		e, err := weir.New(engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		src := []byte(NoopFlow(shape, n))
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := e.Parse(ctx, shape+".cue", src); err != nil {
				b.Fatal(err)
			}
		}
	}
}
