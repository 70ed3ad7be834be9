package weir

import (
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/goplugin"
	"github.com/weirflow/weir/plugins/wasm"
)

// Options configure the providers of Providers. The zero value is the
// default.
type Options struct {
	// CacheDir holds compiled Wasm modules across processes: empty means
	// the default folder (see wasm.CacheDir), "-" keeps them in memory.
	CacheDir string
}

// Providers returns a new provider of each plugin kind that ships with
// weir: builtin, wasm and goplugin. An engine given them owns them and
// closes them with itself.
func Providers(o Options) []plugins.Provider {
	return []plugins.Provider{
		builtin.NewProvider(),
		wasm.NewProvider(wasm.Options{CacheDir: o.CacheDir}),
		// go-plugin calls are traced by the TracerProvider of the span
		// they are made under: the engine's.
		goplugin.NewProvider(goplugin.Options{}),
	}
}

// New returns an engine configured by opts. When opts.Providers is nil, it
// gets Providers(Options{}): weir's plugin kinds, compiling Wasm modules
// into the default cache folder.
func New(opts engine.Options) (*engine.Engine, error) {
	if opts.Providers == nil {
		opts.Providers = Providers(Options{})
	}
	return engine.New(opts)
}
