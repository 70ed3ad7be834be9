// Package python runs tools written in Python: the "python" plugin kind.
//
// A flow's entry names a .py file or a folder of them:
//
//	plugins: tools: python: "tools/"
//	plugins: tools: python: {path: "tools/", interpreter: "python3.12", requirements: "requirements.txt"}
//
// A tool is a function marked with @tool from the weir module for Python,
// which ships inside weir (package runtime, written out to the cache
// folder at start: no pip needed). Prompt flow's @tool, log_metric and
// connection classes resolve to weir's, so a prompt flow tool file whose
// imports are only the standard library and those runs unchanged.
//
// Contracts come from the source, read with Python's ast module and never
// by importing the files: str, int, float, bool, list/List[T], dict/Dict,
// Optional[T], Literal, TypedDict and dataclasses of the same file map to
// JSON Schema; a parameter with a default is not required; a parameter
// without a hint, or with a hint weir cannot read, takes any value;
// **kwargs allows inputs the signature does not name; the docstring is the
// description (":param x:" lines describe inputs). Outputs are JSON
// objects: a tool annotated to return dict, a TypedDict or a dataclass
// returns the output itself; any other tool's value is the output's
// "value" field, a generator's items joined into one string. A tool that
// calls log_metric gets the metrics of the call, the last value of each
// key, in its output's "metrics" field.
//
// Calls run in a pool of long-lived interpreter processes (limits.instances),
// one call at a time each, speaking a framed protocol (a 4-byte length and
// JSON) over two pipes that are not stdin or stdout: what a tool prints, to
// either, is logged a line a record. Each process leads a process group of
// its own, which weir kills when the process fails, when a call outlives
// limits.timeout, and on Close; on Linux the kernel kills it when weir
// dies. A crashed process fails its call as retryable, with its last lines
// of stderr, and the next call starts another. limits.memory caps each
// process's address space (RLIMIT_AS) where the OS allows. A Python tool
// is a process, not a sandbox: it can do whatever the user running weir
// can.
package python
