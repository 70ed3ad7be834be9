// Package jsonscan reads and writes encoded JSON without decoding it, so
// that values travel through weir as the bytes they came in: between flow
// nodes, from a command line's --input to -o json, in and out of a Wasm
// guest. It is weir's one JSON scanner: the engine's selections and its
// output check, the PDK (compiled for wasip1 too), the fast schema check
// and builtin.json scan with it.
//
// Space, Value, String, Number and Unquote check what they scan, as
// encoding/json does, without allocating; they return the offset just
// past what they read, or -1. PlainRun finds the end of a string's plain
// bytes eight at a time, which matters most in a Wasm guest.
//
// Select scans only as much of a document as the path needs: it skips the
// values it passes over without allocating, and returns a sub-slice of its
// input. It does not validate what it skips; documents are expected to be
// checked once where they enter the engine (a tool's output), not on every
// selection. On bytes that are not JSON, Select reports ErrMalformed where the
// damage lies on its way and may return a value otherwise; it never panics.
// AppendText and AppendString build node inputs and interpolated
// strings directly as JSON bytes.
//
// All functions are safe for concurrent use; they keep no state.
package jsonscan
