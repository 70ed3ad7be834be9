// Command text is a weir plugin of text tools, written with the Go PDK and
// built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o text.wasm .
//
// Its tools are greet, upper and lower, typed with pdk.Tool, and count,
// which reads its inputs' JSON itself with pdk.RawTool to show the raw path.
// The tools are plain functions in files that build for any GOOS, so go test
// runs them on the machine.
package main

// main is never called: a reactor module runs its init functions, which
// register the tools, and then waits for weir's calls.
func main() {}
