// Package ref parses the strings of a flow that may hold references, such as
// "${greet.output.message}", into literal text and paths. Flows are parsed
// once when they are loaded, so runs only select values and splice them.
//
// A reference is "${" path "}". A path is a name followed by steps: ".name",
// "[N]" for a list index, or `["key"]` (a JSON string) for a key that is not a
// name. Names match [A-Za-z_][A-Za-z0-9_-]*. Nothing else may appear inside
// "${...}", not even spaces. "$${" stands for a literal "${"; any other "$" is
// literal text.
//
// ParseSteps reads the same steps without a root, the path syntax of
// builtin.json's pick: "a.b[0]", `["odd key"].x`, "[1][0]".
//
// Parse, ParsePath and ParseSteps are safe for concurrent use. A Template is not changed
// after Parse returns it, so it may be shared by goroutines that only read it.
package ref
