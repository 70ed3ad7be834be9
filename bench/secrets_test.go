package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

// BenchmarkSecrets runs a one-node flow of builtin.template whose outputs
// are 1 KiB of text: with no secret, with a secret the outputs do not hold
// (the redactor only searches them), and with one they hold (it replaces
// it): what redaction costs a run.
//
//	go test -run '^$' -bench Secrets -benchtime 200ms -count 3 ./bench
func BenchmarkSecrets(b *testing.B) {
	const key = "sk-bench-0123456789abcdef"
	text := strings.Repeat("lorem ipsum ", 85) // ~1 KiB
	for _, tc := range []struct{ name, secrets, value string }{
		{"none", "", text},
		{"searched", `secrets: key: env: "WEIR_BENCH_KEY"` + "\n", text},
		{"replaced", `secrets: key: env: "WEIR_BENCH_KEY"` + "\n", text + "${secrets.key}"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.Setenv("WEIR_BENCH_KEY", key)
			src := fmt.Sprintf("name: \"s\"\n%snodes: n: {tool: \"builtin.template\", inputs: {template: \"{{.v}}\", v: %q}}\noutputs: v: \"${n.output.text}\"\n", tc.secrets, tc.value)
			e, err := weir.New(engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			f, err := e.Parse(context.Background(), "bench/secrets.cue", []byte(src))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			cpu := CPUTime()
			for b.Loop() {
				res, err := f.Run(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if strings.Contains(string(res.Outputs), key) {
					b.Fatal("the secret is in the outputs")
				}
			}
			// CPU time blurs less than wall time on a busy machine.
			if cpu := CPUTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
