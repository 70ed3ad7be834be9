// Package examples holds runnable flows, plugins and an embedding program.
// Its test runs the example flows, so the ones the README shows keep
// working; examples/triage, which calls a model, runs in cmd/weir's tests,
// through the built weir against a mock model.
package examples
