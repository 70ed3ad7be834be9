//go:build wasip1

// Command wasmecho is pluginbench's Wasm guest: the echo tool of goecho,
// written with the PDK. pluginbench builds it into a temporary folder:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o wasmecho.wasm ./bench/guests/wasmecho
package main

import (
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/pdk"
)

func init() {
	// The host copies the outputs before the next call, so in can go back
	// as it is.
	pdk.RawTool(plugins.Contract{Name: "echo", Description: "Returns its inputs."},
		func(in []byte) ([]byte, error) { return in, nil })
}

func main() {}
