// Package examples holds runnable flows, plugins and an embedding program.
// Its test runs every example flow, so the ones the README shows keep working.
package examples
