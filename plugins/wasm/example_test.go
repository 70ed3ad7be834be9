package wasm_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm"
)

// A program opens a Wasm plugin with the provider of its kind, as an engine
// does for a flow's plugin entry, and calls its tools. The module is the
// text guest of examples/plugins/text, which make plugins builds
// (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared).
func Example() {
	ctx := context.Background()
	p := wasm.NewProvider(wasm.Options{CacheDir: "-"}) // compiled modules in memory only
	defer p.Close()

	source, err := filepath.Abs("../../examples/plugins/text/text.wasm")
	if err != nil {
		panic(err)
	}
	pl, err := p.Open(ctx, plugins.Spec{Name: "text", Kind: "wasm", Source: source})
	if err != nil {
		panic(err)
	}
	defer pl.Close()

	tools := map[string]plugins.Tool{}
	for _, t := range pl.Tools() { // sorted by name
		fmt.Println(t.Contract().Name+":", t.Contract().Description)
		tools[t.Contract().Name] = t
	}
	// Invoke may be called from many goroutines at once: the plugin keeps
	// a pool of instances.
	out, err := tools["greet"].Invoke(ctx, []byte(`{"name":"Ada"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output:
	// count: Counts the words and characters of text.
	// greet: Greets someone by name.
	// lower: Lower-cases text.
	// upper: Upper-cases text.
	// {"message":"Hello, Ada!"}
}
