//go:build wasip1

// Command weirecho is the benchmark guest for weir: one raw tool that
// returns its inputs, so that a call measures the plumbing, not the work.
package main

import (
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/pdk"
)

func init() {
	pdk.RawTool(plugins.Contract{Name: "echo", Description: "Returns its inputs."},
		func(in []byte) ([]byte, error) { return in, nil })
}

func main() {}
