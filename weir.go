package weir

import (
	"log/slog"
	"path/filepath"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/cache"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/goplugin"
	"github.com/weirflow/weir/plugins/python"
	"github.com/weirflow/weir/plugins/wasm"
)

// Options configure the providers of Providers. The zero value is the
// default.
type Options struct {
	// CacheDir holds compiled Wasm modules across processes, and Python
	// tools' contracts and virtual environments: empty means the default
	// folders (see wasm.CacheDir and python.CacheDir), "-" keeps them in
	// memory or in a temporary folder.
	CacheDir string
	// Logger receives what plugins log (a Wasm guest's log lines, a
	// go-plugin's standard error, what a Python tool prints); nil means
	// slog.Default(). Wrap its
	// handler with the engine's Redactor (engine.Redactor.Handler) so that
	// no secret reaches it. The lines of a Wasm or Python tool's call also
	// reach its node's NodeResult.Logs in runs that keep their nodes'
	// values (engine.CaptureNodeLogs).
	Logger *slog.Logger
}

// Providers returns a new provider of each plugin kind that ships with
// weir: builtin, wasm, goplugin and python. An engine given them owns them and
// closes them with itself.
func Providers(o Options) []plugins.Provider {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = slog.New(engine.CaptureNodeLogs(o.Logger.Handler()))
	return []plugins.Provider{
		builtin.NewProvider(),
		wasm.NewProvider(wasm.Options{CacheDir: o.CacheDir, Logger: o.Logger}),
		// go-plugin calls are traced by the TracerProvider of the span
		// they are made under: the engine's.
		goplugin.NewProvider(goplugin.Options{Logger: o.Logger}),
		python.NewProvider(python.Options{CacheDir: pythonCacheDir(o.CacheDir), Logger: o.Logger}),
	}
}

// pythonCacheDir is the Python cache folder inside an explicit cache
// folder, beside the Wasm one.
func pythonCacheDir(dir string) string {
	if dir == "" || dir == "-" {
		return dir
	}
	return filepath.Join(dir, "python")
}

// New returns an engine configured by opts. When opts.Providers is nil, it
// gets Providers(Options{}): weir's plugin kinds, compiling Wasm modules
// into the default cache folder, logging to slog.Default() through the
// engine's Redactor (a new one when opts.Redactor is nil). When opts.Cache is nil, it gets the node
// result cache of the weir home folder (cache.DefaultDir), which only the
// nodes whose flow sets cache use; RunOptions.NoCache turns it off for a
// run, and engine.New gives an engine without one.
func New(opts engine.Options) (*engine.Engine, error) {
	if opts.Providers == nil {
		if opts.Redactor == nil {
			opts.Redactor = engine.NewRedactor()
		}
		opts.Providers = Providers(Options{Logger: slog.New(opts.Redactor.Handler(slog.Default().Handler()))})
	}
	if opts.Cache == nil {
		if dir, err := cache.DefaultDir(); err == nil {
			opts.Cache = cache.Open(dir, cache.Options{})
		}
	}
	return engine.New(opts)
}
