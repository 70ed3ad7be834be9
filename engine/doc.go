// Package engine loads flows and runs them: it is weir's embedding API.
//
// A flow is a DAG of tool nodes written in CUE (or YAML, or JSON). Load
// checks everything that can be known before a run, with file:line:col for
// each problem; Run executes the DAG, starting each node as soon as the nodes
// it references have finished, in parallel up to the flow's concurrency, with
// per-node timeouts and retries and a deadline for the run.
//
//	e, err := weir.New(engine.Options{}) // engine.New, with weir's plugin kinds
//	if err != nil { ... }
//	defer e.Close()
//	f, err := e.Load(ctx, "flows/hello.cue")
//	if err != nil { ... } // engine.FlowErrors: one line per problem
//	res, err := f.Run(ctx, map[string]any{"name": "Ada"})
//
// Batch runs a flow over a dataset (JSONL, CSV or any Go sequence of
// records), streaming it with memory bounded by its concurrency, mapping
// columns to inputs, and running aggregate nodes once at the end; package
// engine/record keeps the run record that makes a batch resumable.
//
// A batch's lines can run in other processes: BatchOptions.Remote hands
// each line, read and mapped, to a caller's function (a work pool sends it
// to a worker, which runs it with Flow.RunLine exactly as the batch would
// here) and takes the LineResult it returns as its own. It trusts none as
// it is. A result for another line, with a status other than succeeded or
// failed, nodes other than the flow's per-line nodes, values that are not
// JSON objects, or aggregate values that do not read back fails its line
// with the reason (Kind ToolFailed). A result taken has its error made a
// *LineError, its texts made inert and bounded as tools' errors are, its
// nodes' tools named as the flow here names them, and its values passed
// through the engine's Redactor. The aggregate nodes get the values of such
// lines as RunLine returned them, redacted, as they get those of resumed
// lines.
//
// Nodes whose flow sets cache reuse the outputs of earlier calls of their
// tool on the same inputs, from the Cache in Options (package engine/cache
// keeps one in files; weir.New sets it), keyed by a digest of the tool's
// code (plugins.Digester), its plugin's config and the exact inputs.
//
// A flow's secrets are read when it loads (Options.Secrets, ReadSecret by
// default) and referenced as ${secrets.name}; the engine's Redactor puts
// "***" in their place in what runs and batches return, in errors and in
// spans, and wraps the loggers of plugins and servers.
//
// Tools come from providers, one per plugin kind, and from Go functions
// registered with Register. The engine knows plugin kinds only through the
// interfaces of package plugins: package weir (the module's root) gives it
// those that ship with weir (builtin, wasm, goplugin), and an engine from
// engine.New has only the providers in its Options. An Engine and its Flows
// are safe for concurrent use; Close releases the plugins.
//
// Values between nodes stay encoded as JSON: a reference such as
// ${node.output.a.b[0]} selects from the bytes without decoding the whole
// document, and inputs the flow's CUE types describe are checked per run by a
// JSON Schema derived from them once, never by the CUE evaluator.
package engine
