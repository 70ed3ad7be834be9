package plugins

import (
	"context"
	"encoding/json"
)

// Contract is what a tool publishes about itself: its name, what it does, and
// JSON Schemas (draft 2020-12) of its inputs object and its outputs object.
type Contract struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Inputs      json.RawMessage `json:"inputs"`
	Outputs     json.RawMessage `json:"outputs"`
}

// Tool is one callable function of a plugin.
//
// Invoke receives a JSON object of inputs and returns a JSON object of outputs.
// The engine calls Invoke from many goroutines at once; a Tool must be safe for
// concurrent use. Invoke must not retain or modify in after it returns, and
// must return promptly once ctx is done, with ctx.Err() or an error wrapping it.
type Tool interface {
	Contract() Contract
	Invoke(ctx context.Context, in []byte) ([]byte, error)
}

// Plugin is an opened plugin: the tools it provides and the resources it holds.
type Plugin interface {
	// Tools lists the plugin's tools. The engine calls it once, after Open.
	Tools() []Tool
	// Close releases what the plugin holds (processes, compiled modules).
	// The engine calls it once, after the last Invoke has returned.
	Close() error
}

// Provider opens the plugin entries of one kind ("wasm", "goplugin",
// "builtin"). The engine opens each distinct entry once and shares the
// Plugin between every flow and run that uses it.
type Provider interface {
	Kind() string
	Open(ctx context.Context, spec Spec) (Plugin, error)
}

// Spec is one entry of a flow's plugins block, for example
//
//	plugins: text: {wasm: "plugins/text.wasm", sha256: "9f2c..."}
//
// Paths are already resolved against the flow file's folder.
type Spec struct {
	// Name is the entry's name in the flow ("text"); tools are addressed as
	// Name + "." + tool.
	Name string
	// Kind is the entry's kind key ("wasm").
	Kind string
	// Source is the kind key's value: an absolute path for file-based kinds.
	Source string
	// SHA256 pins the digest of the file at Source, in lower-case hex, when set.
	SHA256 string
	// Grants is what the plugin may reach outside its sandbox.
	Grants Grants
	// Options is the whole entry as JSON, for the fields only one kind
	// understands (limits, config, args, env).
	Options json.RawMessage
}

// Grants lists what a flow allows a plugin to reach. Nothing is granted by
// default.
type Grants struct {
	// Hosts are "host" or "host:port" entries a plugin may send HTTP requests to.
	Hosts []string `json:"hosts,omitempty"`
	// Dirs maps a path inside the sandbox to a folder on the host.
	Dirs map[string]Dir `json:"dirs,omitempty"`
	// Env names environment variables passed through to the plugin.
	Env []string `json:"env,omitempty"`
	// Clock grants the real wall clock; otherwise a plugin sees a fixed time.
	Clock bool `json:"clock,omitempty"`
	// Random grants a real source of randomness; otherwise a fixed seed.
	Random bool `json:"random,omitempty"`
}

// Dir is one folder granted to a plugin.
type Dir struct {
	Path  string `json:"path"`
	Write bool   `json:"write,omitempty"`
}

// PoolStats counts what an opened plugin runs its calls in: instances of a
// Wasm module, processes of a go-plugin executable.
type PoolStats struct {
	// Live exist now; Idle of them wait for a call.
	Live, Idle int
}

// Pooled is a Plugin that keeps instances or processes to run its calls
// in. It is optional: Engine.Plugins reports the plugins that implement it,
// whatever their kind. PoolStats must be safe to call from any goroutine at
// any time, also while calls run and after Close.
type Pooled interface {
	PoolStats() PoolStats
}
