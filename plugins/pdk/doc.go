// Package pdk is the plugin development kit for weir tools written in Go and
// run as WebAssembly. It implements the guest side of weir-abi-1 (see
// plugins/wasm/ABI.md): the exports weir_alloc, weir_describe and
// weir_invoke, and the host imports log, error, config_get and http_request.
//
// A plugin is a main package that registers its tools in init functions:
//
//	package main
//
//	import (
//		"strings"
//
//		"github.com/weirflow/weir/plugins/pdk"
//	)
//
//	type Text struct {
//		Text string `json:"text" desc:"The text to change."`
//	}
//
//	func init() {
//		pdk.Tool("upper", "Upper-cases text.", func(in Text) (Text, error) {
//			return Text{Text: strings.ToUpper(in.Text)}, nil
//		})
//	}
//
//	func main() {}
//
// built as a WASI reactor with Go 1.24 or later:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o text.wasm .
//
// and used in a flow as a plugin entry, plugins: text: {wasm: "text.wasm"},
// whose tools are addressed as "text.upper". Without -buildmode=c-shared Go
// builds a command: it exports _start instead of _initialize, its exports
// cannot run before main, and it exits when main returns, so weir cannot
// call it.
//
// # Tools
//
// Tool registers a function of Go types; its contract (JSON Schemas of the
// inputs and outputs) comes from plugins.SchemaOf, and its inputs and outputs
// are decoded and encoded as encoding/json does, exactly as for a native
// plugins.Func. Structs whose fields are all strings, booleans, integers and
// floats (the usual case) take a fast path that does without reflection,
// since encoding/json costs several microseconds per call in Wasm; anything
// the fast path is not sure of goes through encoding/json, so the results
// and the errors are the same. RawTool registers a function of JSON bytes
// for hot paths: no decoding, and no allocation by the PDK per call.
//
// A tool reports a failure by returning an error. Its plugins.Kind decides
// what the engine does: return plugins.Errorf(plugins.Retryable, ...) for a
// failure a retry may fix, plugins.InvalidInput for inputs that break the
// contract; any other error is internal.
//
// # Panics and fatal errors
//
// A panic in a tool is recovered: the call fails with an internal error
// naming the tool, the stack is logged at level Error, and the instance
// serves the next call. A panic in a goroutine the tool started is not
// recovered, and a fatal runtime error (out of memory, a stack overflow,
// all goroutines asleep) cannot be: they end the instance, weir discards it
// and the call fails. So does a panic in an init function, which makes the
// module fail to start.
//
// # Concurrency and buffers
//
// weir makes one call at a time on an instance, and runs many instances for
// parallel calls, so a tool needs no locks for its own state: package
// variables are per instance. The PDK reuses its buffers between calls: the
// one the host writes inputs to, and the one typed tools' outputs are encoded
// to. An instance keeps the memory its largest call needed; weir recycles
// instances after a number of calls when a flow asks it to.
//
// # Outside Wasm
//
// The package builds for any GOOS, so that a plugin's tests run with go test
// on the machine. There, Call runs a registered tool the way weir would, Log
// writes to standard error, Config reports every key unset, and HTTP fails.
package pdk
