//go:build wasip1

// Command extismecho is the same guest function for Extism: it returns its
// input.
package main

import "github.com/extism/go-pdk"

//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

func main() {}
