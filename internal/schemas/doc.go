// Package schemas holds the embedded CUE definition of a flow (#Flow) and the
// code that parses a flow file (CUE, YAML or JSON), checks it against #Flow,
// and decodes it into a Flow with the file:line:col of every part, ready for
// the engine's static checks.
//
// Positions are kept so that every error can say where in the file it is and
// what would fix it. Input types stay CUE only until they are turned into a
// JSON Schema here; the CUE evaluator never runs per line.
package schemas
