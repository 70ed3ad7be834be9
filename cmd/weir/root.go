package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	// Named so, since the tests of this package call their helper weir.
	weirflow "github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// Exit codes: 1 for a flow or run error, 2 for bad usage.
const (
	exitError = 1
	exitUsage = 2
)

// usageError is a mistake in how the command was called.
type usageError struct{ error }

// execute runs the command line args and returns the exit code.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first Ctrl-C cancels cleanly; a second one kills as usual.
		<-ctx.Done()
		stop()
	}()
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var list engine.FlowErrors
	var ue usageError
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(stderr, list.Error())
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(stderr, "weir: %v\nRun '%s --help' for usage.\n", err, helpPath(cmd))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "weir: %v\n", err)
	}
	return exitError
}

// helpPath is the command whose --help a usage error of cmd points to: cmd
// itself, or the root for the help command, whose errors are about topics.
func helpPath(cmd *cobra.Command) string {
	if cmd == nil || cmd.Name() == "help" && cmd.Parent() == cmd.Root() {
		return "weir"
	}
	return cmd.CommandPath()
}

// app holds the persistent flags, which every command reads once cobra has
// parsed them.
type app struct {
	cacheDir string
	home     string
	// redactor hides the secrets of the flows the command loads in what
	// its plugins log; the command's engine holds it.
	redactor *engine.Redactor
	// noCache is --no-cache of run, batch and serve.
	noCache bool
}

func newRoot() *cobra.Command {
	a := &app{redactor: engine.NewRedactor()}
	root := &cobra.Command{
		Use:   "weir",
		Short: "Run flows of sandboxed tools",
		Long: `weir runs flows: DAGs of tool nodes written in CUE, YAML or JSON. Tools are
sandboxed WebAssembly modules, go-plugin processes or native Go functions.

` + tracingHelp,
		Example: `  weir validate examples/hello/flow.cue
  weir run examples/hello/flow.cue --input name=Ada`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().StringVar(&a.cacheDir, "cache-dir", "",
		"keep compiled Wasm modules in `DIR`; - keeps them in memory (default $WEIR_CACHE_DIR/wasm, else the user cache folder)")
	root.PersistentFlags().StringVar(&a.home, "home", "",
		"keep run records in `DIR` (default $WEIR_HOME, else the user data folder: $XDG_DATA_HOME/weir or ~/.local/share/weir)")
	root.SetHelpCommand(newHelp())
	root.AddCommand(newValidate(a), newRun(a), newBatch(a), newRuns(a), newGraph(a), newPlugin(a), newBundle(a), newServe(a), newDeploy(a), newDeployments(a), newPool(a), newWorker(a), newSubmit(a), newProbe(), newSchema(), newVersion(), newCache(a), newImport(a), newBench(a), newUI(a))
	return root
}

// newHelp replaces cobra's help command, which prints the root help and
// exits 0 on a topic it does not know, and has no example.
func newHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  `Print the help of a command: weir help run is weir run --help.`,
		Example: `  weir help run
  weir help plugin describe`,
		RunE: func(cmd *cobra.Command, a []string) error {
			target, rest, err := cmd.Root().Find(a)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Errorf("unknown help topic %q", strings.Join(a, " "))}
			}
			// As cobra's own help command does, for the --help line.
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// args checks the number of positional arguments as a usage error.
func args(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) == n {
			return nil
		}
		// The command path without the leading "weir", which the message
		// prefix already says.
		name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		switch n {
		case 0:
			return usageError{fmt.Errorf("%s takes no arguments, got %d", name, len(a))}
		case 1:
			return usageError{fmt.Errorf("%s takes 1 argument, got %d", name, len(a))}
		default:
			return usageError{fmt.Errorf("%s takes %d arguments, got %d", name, n, len(a))}
		}
	}
}

// oneOf checks that a flag's value is one of two choices, as a usage error:
// "-o must be table or json, not "yaml"".
func oneOf(flag, value, a, b string) error {
	if value == a || value == b {
		return nil
	}
	return usageError{fmt.Errorf("%s must be %s or %s, not %q", flag, a, b, value)}
}

// providers returns the plugin kinds the commands open, compiling Wasm
// modules into --cache-dir when it is set (wasm.CacheDir says where
// otherwise). Every command gets them from here.
func (a *app) providers() []plugins.Provider {
	return weirflow.Providers(weirflow.Options{CacheDir: a.cacheDir, Logger: slog.New(a.redactor.Handler(slog.Default().Handler()))})
}

// provider returns the provider of one plugin kind, or nil. The caller
// closes it when it is an io.Closer.
func (a *app) provider(kind string) plugins.Provider {
	for _, p := range a.providers() {
		if p.Kind() == kind {
			return p
		}
	}
	return nil
}

// newEngine builds the engine the commands use, tracing when the OTEL_*
// environment asks for it. The returned func closes both. It reads the
// secrets flows declare, unless secrets is engine.PlaceholderSecrets.
func (a *app) newEngine(ctx context.Context, secrets engine.SecretResolver) (*engine.Engine, func(), error) {
	tp, shutdownTracing, err := tracerFromEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.New(engine.Options{TracerProvider: tp, Providers: a.providers(), Secrets: secrets, Redactor: a.redactor, Cache: a.nodeCache()})
	if err != nil {
		shutdownTracing()
		return nil, nil, err
	}
	return e, func() {
		_ = e.Close()
		shutdownTracing()
	}, nil
}

// loadFlow opens an engine and loads the flow at path, to run it: it reads
// the flow's secrets.
func (a *app) loadFlow(ctx context.Context, path string) (*engine.Flow, func(), error) {
	return a.load(ctx, path, nil)
}

// checkFlow loads the flow at path to look at it, not to run it: its
// secrets get placeholders, so that checking needs none of them.
func (a *app) checkFlow(ctx context.Context, path string) (*engine.Flow, func(), error) {
	return a.load(ctx, path, engine.PlaceholderSecrets)
}

func (a *app) load(ctx context.Context, path string, secrets engine.SecretResolver) (*engine.Flow, func(), error) {
	e, closeAll, err := a.newEngine(ctx, secrets)
	if err != nil {
		return nil, nil, err
	}
	f, err := loadFlow(ctx, e, path)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return f, closeAll, nil
}

// flowNames are the names of a folder's flow file, in the order flowFile
// looks for them.
var flowNames = []string{"flow.cue", "flow.yaml", "flow.yml", "flow.json"}

// flowFile returns path, or the flow file in it when path is a folder, so
// that weir run examples/hello runs examples/hello/flow.cue.
func flowFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return path, nil // the loader says what is wrong with it
	}
	for _, name := range flowNames {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("read flow: %s is a folder with no flow file (%s)", path, strings.Join(flowNames, ", "))
}

// loadFlow loads the flow file at path, or the flow file in it when path
// is a folder.
func loadFlow(ctx context.Context, e *engine.Engine, path string) (*engine.Flow, error) {
	file, err := flowFile(path)
	if err != nil {
		return nil, err
	}
	return e.Load(ctx, file)
}

// count says n things: "1 node", "2 nodes".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
