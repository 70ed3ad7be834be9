// Package jsonschema checks JSON values against JSON Schemas, so that weir
// never runs the CUE evaluator per run: it checks every run's inputs against
// the flow's input types, and literal node inputs against a tool's contract.
//
// It has three parts:
//
//   - [FromCUE] translates the plain CUE constraints a flow declares for its
//     inputs (string & !="", int & >=1 & <=5 | *1, [...string], ...) into a JSON
//     Schema (draft 2020-12), once per flow. Constraints that JSON Schema cannot
//     express are an [*UnsupportedError] naming the CUE position.
//   - [Compile] turns JSON Schema bytes (from FromCUE or from a tool's contract)
//     into a [*Schema]; [Schema.Validate] checks a decoded JSON value and
//     reports every [Violation] with a path in the flow's reference style
//     (opts.depth, tags[2]); [Schema.ApplyDefaults] fills missing defaults.
//   - [Schema.Lookup], [Schema.Type], [Schema.Properties] and [Schema.Required]
//     let the engine's static checks ask what a schema says about a reference
//     such as ${node.output.a.b[0]} before anything runs.
//   - [TypeName] and [Fields] name the types a contract's schemas allow, for
//     people: weir plugin describe prints a tool's inputs as name:string*.
//
// Validation is done by github.com/santhosh-tekuri/jsonschema/v6; this package
// turns that library's structured errors into short messages and never parses
// its English text.
package jsonschema
