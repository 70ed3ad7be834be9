package pdk_test

import (
	"fmt"
	"strings"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/pdk"
)

// Text is the inputs and the outputs of the upper tool.
type Text struct {
	Text string `json:"text" desc:"The text to change."`
}

// A plugin registers its tools in init. Built for wasip1 with
// -buildmode=c-shared it is a Wasm plugin; on the host, go test calls its
// tools with pdk.Call the way weir would.
func init() {
	pdk.Tool("upper", "Upper-cases text.", func(in Text) (Text, error) {
		if in.Text == "" {
			return Text{}, plugins.Errorf(plugins.InvalidInput, `input "text" is empty`)
		}
		return Text{Text: strings.ToUpper(in.Text)}, nil
	})
}

func Example() {
	c := pdk.Contracts()[0]
	fmt.Println(c.Name, string(c.Inputs))

	out, err := pdk.Call("upper", []byte(`{"text":"hello"}`))
	fmt.Println(string(out), err)

	_, err = pdk.Call("upper", []byte(`{"text":42}`))
	fmt.Printf("%v (%v)\n", err, plugins.KindOf(err))
	_, err = pdk.Call("upper", []byte(`{"text":""}`))
	fmt.Printf("%v (%v)\n", err, plugins.KindOf(err))
	// Output:
	// upper {"type":"object","properties":{"text":{"type":"string","description":"The text to change."}},"required":["text"],"additionalProperties":false}
	// {"text":"HELLO"} <nil>
	// input "text": want string, got number (invalid input)
	// input "text" is empty (invalid input)
}
