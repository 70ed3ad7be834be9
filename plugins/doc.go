// Package plugins is the small vocabulary that the engine and every plugin kind
// share: a Tool and its Contract, a Provider that opens one plugin entry of a
// flow, and the kinds of error a tool reports.
//
// A Wasm module, a go-plugin executable and a native Go function all end up as
// a Tool: a function from a JSON object of inputs to a JSON object of outputs,
// with JSON Schemas that say what both look like. The engine never sees more
// than this package, so a flow cannot tell the plugin kinds apart.
//
// A Tool may also implement optional interfaces that the engine looks for:
// LiteralChecker checks the literal inputs of a node when the flow loads.
package plugins
