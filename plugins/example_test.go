package plugins_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/weirflow/weir/plugins"
)

type upperIn struct {
	Text  string `json:"text" desc:"The text to upper-case."`
	Times int    `json:"times,omitempty"`
}

type upperOut struct {
	Text string `json:"text"`
}

func ExampleFunc() {
	tool := plugins.Func("upper", "Upper-cases text.", func(_ context.Context, in upperIn) (upperOut, error) {
		return upperOut{Text: strings.Repeat(strings.ToUpper(in.Text), max(in.Times, 1))}, nil
	})
	fmt.Println(string(tool.Contract().Inputs))

	out, err := tool.Invoke(context.Background(), []byte(`{"text":"hi","times":2}`))
	fmt.Println(string(out), err)

	_, err = tool.Invoke(context.Background(), []byte(`{"text":"hi","times":"2"}`))
	fmt.Printf("%v (%v)\n", err, plugins.KindOf(err))
	// Output:
	// {"type":"object","properties":{"text":{"type":"string","description":"The text to upper-case."},"times":{"type":"integer"}},"required":["text"],"additionalProperties":false}
	// {"text":"HIHI"} <nil>
	// input "times": want integer, got string (invalid input)
}

func ExampleSchemaOf() {
	type Point struct {
		X, Y float64
		Tags []string          `json:"tags,omitempty"`
		Meta map[string]string `json:"-"`
	}
	fmt.Println(string(plugins.SchemaOf(reflect.TypeFor[Point]())))
	// Output:
	// {"type":"object","properties":{"X":{"type":"number"},"Y":{"type":"number"},"tags":{"type":["array","null"],"items":{"type":"string"}}},"required":["X","Y"],"additionalProperties":false}
}
