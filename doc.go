// Package weir puts together an engine with the plugin kinds that ship with
// weir: builtin tools, WebAssembly modules and go-plugin executables.
//
// Package engine loads and runs flows and knows plugins only through the
// interfaces of package plugins; this package is the one place that names
// the concrete kinds, so that a program embedding weir starts with one call:
//
//	e, err := weir.New(engine.Options{})
//	if err != nil { ... }
//	defer e.Close()
//	f, err := e.Load(ctx, "flows/hello.cue")
//
// A program that wants other kinds, or fewer, passes its own list in
// engine.Options.Providers, starting from Providers if it likes.
package weir
