package promptflow

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/plugins/python"
)

// BenchmarkImport imports web-classification (five nodes, three Python
// files, two templates): parsing, reading the tools' contracts (from the
// cache after the first), converting and writing flow.cue, in memory.
func BenchmarkImport(b *testing.B) {
	dir := filepath.Join(corpus(b), "web-classification")
	p := python.NewProvider(python.Options{CacheDir: b.TempDir()})
	defer p.Close()
	opts := Options{Tools: func(ctx context.Context, file string) ([]python.ToolInfo, error) { return p.Inspect(ctx, file, "") }}
	for b.Loop() {
		if _, err := Import(context.Background(), dir, opts); err != nil {
			b.Fatal(err)
		}
	}
}
