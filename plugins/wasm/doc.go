// Package wasm runs Wasm tool plugins on wazero: the provider for flow
// entries `plugins: NAME: {wasm: "path.wasm"}`.
//
// Each module is compiled once per machine (wazero's compilation cache on
// disk, under the user cache directory) and once per process, however many
// flows and goroutines ask for it at the same time. Its contract is kept
// beside the compiled code, so that a flow of modules described before loads
// without compiling or starting anything: that waits for the first call.
// Calls are served by a pool of initialised instances per module, one call
// per instance at a time, closed after an idle period but for one; an
// instance that trapped, timed out or hit a limit is discarded, never
// reused. The guest/host contract, weir-abi-1, is in ABI.md beside this file.
//
// Nothing is granted to a guest by default: no files, network, environment,
// real clock or randomness. A flow grants them per plugin and bounds the
// plugin with limits (memory, time per call, output size, instances).
package wasm
