package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/cache"
	"github.com/weirflow/weir/internal/testbuild"
)

// BenchmarkCache runs a one-node flow whose node calls its tool, then the
// same flow with cache: true, every run a hit: the cost of a hit against
// the call it replaces, for a cheap Wasm tool and a 50 ms one.
//
//	go test -run '^$' -bench Cache -benchtime 200ms -count 3 ./bench
func BenchmarkCache(b *testing.B) {
	text, err := testbuild.TextPlugin("..")
	if err == nil {
		text, err = filepath.Abs(text)
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, plugins, node string }{
		{"wasm-upper", fmt.Sprintf("plugins: text: wasm: %q\n", text), `{tool: "text.upper", inputs: text: "${inputs.x}"`},
		{"sleep-50ms", "", `{tool: "builtin.sleep", inputs: {duration: "50ms", value: "${inputs.x}"}`},
	} {
		for _, mode := range []string{"call", "hit"} {
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				node := tc.node + "}"
				if mode == "hit" {
					node = tc.node + ", cache: true}"
				}
				src := fmt.Sprintf("name: \"c\"\n%sinputs: x: string\nnodes: n: %s\noutputs: v: \"${n.output}\"\n", tc.plugins, node)
				e, err := weir.New(engine.Options{Cache: cache.Open(b.TempDir(), cache.Options{})})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				f, err := e.Parse(context.Background(), "bench/cache.cue", []byte(src))
				if err != nil {
					b.Fatal(err)
				}
				ctx, in := context.Background(), []byte(`{"x":"hello, world"}`)
				// The first run stores the entry, and warms the Wasm pool.
				if _, err := f.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				cpu := CPUTime()
				for b.Loop() {
					res, err := f.Run(ctx, in)
					if err != nil {
						b.Fatal(err)
					}
					if res.Nodes[0].Cached != (mode == "hit") {
						b.Fatalf("cached: %v", res.Nodes[0].Cached)
					}
				}
				// CPU time blurs less than wall time on a busy machine; a
				// sleep's wall time is the figure that counts for the call.
				if cpu := CPUTime() - cpu; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
