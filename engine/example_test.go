package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// A Go program registers its own function as a tool and runs a flow that
// uses it next to a builtin tool.
func Example() {
	e, err := weir.New(engine.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	type In struct {
		Text string `json:"text"`
	}
	type Out struct {
		Words int `json:"words"`
	}
	count := plugins.Func("count", "Counts words.", func(_ context.Context, in In) (Out, error) {
		return Out{Words: len(strings.Fields(in.Text))}, nil
	})
	if err := e.Register("app", count); err != nil {
		panic(err)
	}

	f, err := e.Parse(context.Background(), "flow.cue", []byte(`
name: "words"
inputs: text: string
nodes: {
	count: {tool: "app.count", inputs: text: "${inputs.text}"}
	say: {
		tool: "builtin.template"
		inputs: {template: "{{.n}} words", n: "${count.output.words}"}
	}
}
outputs: summary: "${say.output.text}"
`))
	if err != nil {
		panic(err)
	}
	res, err := f.Run(context.Background(), map[string]any{"text": "one flow, many tools"})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(res.Outputs))
	// Output: {"summary":"4 words"}
}

// Load reports every problem of a flow at once, each with its position.
func ExampleEngine_Parse_errors() {
	e, _ := weir.New(engine.Options{})
	defer e.Close()
	_, err := e.Parse(context.Background(), "flow.cue", []byte(`name: "broken"
nodes: {
	a: {tool: "builtin.template", inputs: {template: "{{.x}}", x: "${b.output.text}"}}
	b: {tool: "builtin.template", inputs: {template: "{{.x}}", x: "${a.output.txt}"}}
}
outputs: v: "${a.output.text}"
`))
	fmt.Println(err)
	// Output:
	// flow.cue:3:2: cycle: a -> b -> a: break it by removing one of these references
	// flow.cue:4:65: node "b": input "x": ${a.output.txt}: no field "txt" in the outputs of tool builtin.template (fields: text); did you mean "text"?
}

// A run reports what each node did, including the nodes a condition bypassed.
func ExampleFlow_Run() {
	e, _ := weir.New(engine.Options{})
	defer e.Close()
	f, err := e.Parse(context.Background(), "flow.cue", []byte(`name: "hello"
inputs: {name: string, loud: bool | *false}
nodes: {
	greet: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}"}}
	shout: {
		tool: "builtin.template"
		inputs: {template: "{{upper .text}}", text: "${greet.output.text}"}
		when: {ref: "${inputs.loud}", is: true}
	}
}
outputs: {message: "${greet.output.text}", shouted: "${shout.output.text}"}
`))
	if err != nil {
		panic(err)
	}
	res, _ := f.Run(context.Background(), map[string]any{"name": "Ada"})
	fmt.Println(string(res.Outputs))
	for _, n := range res.Nodes {
		fmt.Println(n.Node, n.Status, n.Attempts)
	}
	// Output:
	// {"message":"Hello, Ada!","shouted":null}
	// greet succeeded 1
	// shout bypassed 0
}

// A batch runs a flow over every line of a dataset, here JSONL read from a
// string, maps a column to an input, and averages a value over the lines
// with an aggregate node. Lines end in any order: sort them to print.
func ExampleFlow_Batch() {
	e, _ := weir.New(engine.Options{})
	defer e.Close()
	f, err := e.Parse(context.Background(), "flow.cue", []byte(`
name: "lengths"
inputs: word: string
nodes: {
	say: {tool: "builtin.template", inputs: {template: "{{len .w}}", w: "${inputs.word}"}}
	avg: {tool: "builtin.stats", aggregate: true, inputs: values: "${say.output.text}"}
}
outputs: length: "${say.output.text}"
`))
	if err != nil {
		panic(err)
	}
	data := `{"w": "flow"}
{"w": "weir"}
{"w": "dam", "extra": "columns are ignored"}
`
	b, err := f.Batch(context.Background(), engine.JSONL(strings.NewReader(data)), engine.BatchOptions{
		Map: map[string]string{"word": "${data.w}"},
	})
	if err != nil {
		panic(err)
	}
	outputs := map[int]string{}
	for line := range b.Lines() {
		outputs[line.Line] = string(line.Outputs)
	}
	sum, err := b.Wait()
	if err != nil {
		panic(err)
	}
	for i := 1; i <= 3; i++ {
		fmt.Println(i, outputs[i])
	}
	fmt.Println(sum.Status, sum.Succeeded, "succeeded")
	fmt.Println(string(sum.Aggregates))
	// Output:
	// 1 {"length":"4"}
	// 2 {"length":"4"}
	// 3 {"length":"3"}
	// completed 3 succeeded
	// {"avg":{"count":3,"sum":11,"mean":3.6666666666666665,"min":3,"max":4}}
}

// A batch can run its lines elsewhere: Remote hands each line's inputs to
// a worker (here another engine with the same flow; a work pool sends them
// over NATS), which runs it with RunLine and returns what a local line
// would. The aggregate nodes still run in the batch, over every line.
func ExampleFlow_RunLine() {
	src := []byte(`name: "grades"
inputs: {name: string, score: number}
nodes: {
	line: {tool: "builtin.template", inputs: {template: "{{.n}}: {{.s}}", n: "${inputs.name}", s: "${inputs.score}"}}
	mean: {tool: "builtin.stats", aggregate: true, inputs: values: "${inputs.score}"}
}
outputs: text: "${line.output.text}"
`)
	here, _ := weir.New(engine.Options{})
	defer here.Close()
	worker, _ := weir.New(engine.Options{})
	defer worker.Close()
	f, err := here.Parse(context.Background(), "flow.cue", src)
	if err != nil {
		panic(err)
	}
	wf, err := worker.Parse(context.Background(), "flow.cue", src)
	if err != nil {
		panic(err)
	}
	data := engine.JSONL(strings.NewReader(`{"name": "Ada", "score": 9}
{"name": "Alan", "score": 7}
`))
	b, err := f.Batch(context.Background(), data, engine.BatchOptions{
		RunID: "b1",
		Remote: func(ctx context.Context, line int, inputs json.RawMessage) (engine.LineResult, error) {
			return wf.RunLine(ctx, line, inputs, engine.LineOptions{BatchID: "b1"})
		},
	})
	if err != nil {
		panic(err)
	}
	sum, err := b.Wait()
	if err != nil {
		panic(err)
	}
	fmt.Println(sum.Status, sum.Succeeded, "succeeded")
	fmt.Println(string(sum.Aggregates))
	// Output:
	// completed 2 succeeded
	// {"mean":{"count":2,"sum":16,"mean":8,"min":7,"max":9}}
}

// A program that keeps its secrets in a vault of its own gives them to the
// engine with Options.Secrets; a tool gets the value, and what the run
// returns, as every record and log, shows "***" in its place.
func ExampleOptions_secrets() {
	vault := map[string]string{"api_key": "sk-from-the-vault"}
	e, err := weir.New(engine.Options{
		Secrets: func(name string, src engine.SecretSource) (string, error) {
			v, ok := vault[name]
			if !ok {
				return "", fmt.Errorf("not in the vault (the flow says env %s)", src.Env)
			}
			return v, nil
		},
	})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	type In struct {
		Key string `json:"key"`
	}
	type Out struct {
		Header string `json:"header"`
		Length int    `json:"length"`
	}
	auth := plugins.Func("auth", "Builds an auth header.", func(_ context.Context, in In) (Out, error) {
		return Out{Header: "Bearer " + in.Key, Length: len(in.Key)}, nil
	})
	if err := e.Register("app", auth); err != nil {
		panic(err)
	}
	f, err := e.Parse(context.Background(), "flow.cue", []byte(`
name: "auth"
secrets: api_key: env: "API_KEY"
nodes: auth: {tool: "app.auth", inputs: key: "${secrets.api_key}"}
outputs: {header: "${auth.output.header}", length: "${auth.output.length}"}
`))
	if err != nil {
		panic(err)
	}
	res, err := f.Run(context.Background(), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(res.Outputs))
	fmt.Println(e.Redactor().String("a log line with sk-from-the-vault in it"))
	// Output:
	// {"header":"Bearer ***","length":17}
	// a log line with *** in it
}
