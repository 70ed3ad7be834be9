package plugins

// Digester is a Plugin, or a Tool, that can name the code its tools run by
// a digest: the same digest promises the same outputs for the same inputs
// and config. The engine keys its node result cache on it (with the
// tool's name, the entry's config and the exact inputs), so a node can
// set cache only when its tool's plugin is a Digester; a Tool that is one
// overrides its plugin's. Wasm modules give their file's sha256, go-plugin
// executables theirs, builtin tools weir's build.
//
// Digest is called when a flow that caches one of the tools loads, from
// any goroutine; it may read files, and should remember its answer. An
// error means the tools cannot be cached, and the flow does not load.
type Digester interface {
	Digest() (string, error)
}
