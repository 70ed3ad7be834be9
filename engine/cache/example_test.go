package cache_test

import (
	"context"
	"fmt"
	"os"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/cache"
	"github.com/weirflow/weir/plugins"
)

// A node with cache: true calls its tool once per distinct input; the
// store here is a folder of the program's own.
func Example() {
	dir, err := os.MkdirTemp("", "weir-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	e, err := weir.New(engine.Options{Cache: cache.Open(dir, cache.Options{})})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	type In struct {
		Prompt string `json:"prompt"`
	}
	type Out struct {
		Answer string `json:"answer"`
	}
	calls := 0
	ask := plugins.Func("ask", "Answers, slowly and at a price.", func(_ context.Context, in In) (Out, error) {
		calls++
		return Out{Answer: "an answer to " + in.Prompt}, nil
	})
	if err := e.Register("model", ask); err != nil {
		panic(err)
	}
	f, err := e.Parse(context.Background(), "flow.cue", []byte(`
name: "eval"
inputs: q: string
nodes: ask: {tool: "model.ask", inputs: prompt: "${inputs.q}", cache: true}
outputs: a: "${ask.output.answer}"
`))
	if err != nil {
		panic(err)
	}
	for _, q := range []string{"why?", "why?", "how?"} {
		res, err := f.Run(context.Background(), map[string]any{"q": q})
		if err != nil {
			panic(err)
		}
		fmt.Println(string(res.Outputs), "cached:", res.Nodes[0].Cached)
	}
	fmt.Println("calls:", calls)
	// Output:
	// {"a":"an answer to why?"} cached: false
	// {"a":"an answer to why?"} cached: true
	// {"a":"an answer to how?"} cached: false
	// calls: 2
}
