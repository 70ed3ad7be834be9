// Command goecho is pluginbench's go-plugin guest: one raw tool, echo, that
// returns its inputs, so that a call measures the plumbing, not the work.
// pluginbench builds it into a temporary folder:
//
//	go build -o goecho ./bench/guests/goecho
package main

import (
	"bytes"
	"context"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

func main() {
	goplugin.Serve(plugins.RawFunc(plugins.Contract{Name: "echo", Description: "Returns its inputs."},
		func(_ context.Context, in []byte) ([]byte, error) { return bytes.Clone(in), nil }))
}
