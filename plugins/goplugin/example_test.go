package goplugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

// Text is the inputs and the outputs of the tool shout.
type Text struct {
	Text string `json:"text" desc:"Some text."`
}

func shout(_ context.Context, in Text) (Text, error) {
	return Text{Text: strings.ToUpper(in.Text)}, nil
}

// A go-plugin is a program whose main calls Serve with its tools. Here the
// test binary is that program when weir starts it with SHOUT_PLUGIN set:
// the helper-process pattern, which needs no build step. A real plugin's
// main is the one line of Serve.
func init() {
	if os.Getenv("SHOUT_PLUGIN") == "1" {
		goplugin.Serve(plugins.Func("shout", "Upper-cases a text.", shout))
		os.Exit(0)
	}
}

// Weir opens the plugin's executable with the provider of the goplugin
// kind, as an engine does for a flow's plugin entry such as
//
//	plugins: shout: {goplugin: "bin/shout", env: SHOUT_PLUGIN: "1"}
//
// and calls its tools in the plugin's process, over gRPC.
func ExampleServe() {
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	p := goplugin.NewProvider(goplugin.Options{})
	defer p.Close()
	pl, err := p.Open(ctx, plugins.Spec{
		Name:    "shout",
		Kind:    "goplugin",
		Source:  exe,
		Options: json.RawMessage(`{"env":{"SHOUT_PLUGIN":"1"}}`),
	})
	if err != nil {
		panic(err)
	}
	defer pl.Close()

	tool := pl.Tools()[0]
	fmt.Println(tool.Contract().Name+":", tool.Contract().Description)
	out, err := tool.Invoke(ctx, []byte(`{"text":"hello"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output:
	// shout: Upper-cases a text.
	// {"text":"HELLO"}
}
