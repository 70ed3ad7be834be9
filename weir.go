package weir

import (
	"go.opentelemetry.io/otel/trace"

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
	// TracerProvider makes the client spans of go-plugin calls; nil means
	// the provider of the span each call is made under (the engine's).
	TracerProvider trace.TracerProvider
}

// Providers returns a new provider of each plugin kind that ships with
// weir: builtin, wasm and goplugin. An engine given them owns them and
// closes them with itself.
func Providers(o Options) []plugins.Provider {
	return []plugins.Provider{
		builtin.NewProvider(),
		wasm.NewProvider(wasm.Options{CacheDir: o.CacheDir}),
		goplugin.NewProvider(goplugin.Options{TracerProvider: o.TracerProvider}),
	}
}

// New returns an engine configured by opts. When opts.Providers is nil, it
// gets Providers with the default cache folder and opts.TracerProvider.
func New(opts engine.Options) (*engine.Engine, error) {
	if opts.Providers == nil {
		opts.Providers = Providers(Options{TracerProvider: opts.TracerProvider})
	}
	return engine.New(opts)
}
