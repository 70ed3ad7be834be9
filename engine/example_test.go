package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// A Go program registers its own function as a tool and runs a flow that
// uses it next to a builtin tool.
func Example() {
	e, err := engine.New(engine.Options{})
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
	e, _ := engine.New(engine.Options{})
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
	e, _ := engine.New(engine.Options{})
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
