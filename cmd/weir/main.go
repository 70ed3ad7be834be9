// Command weir runs flows: DAGs of tool nodes written in CUE, whose tools are
// sandboxed Wasm modules, go-plugin processes or native Go functions.
//
// The command is thin: it parses flags and calls the engine.
package main

import (
	"os"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
