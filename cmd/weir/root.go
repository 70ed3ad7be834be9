package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/schemas"
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
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var list schemas.Errors
	var ue usageError
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(stderr, list.Error())
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(stderr, "weir: %v\nRun 'weir --help' for usage.\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "weir: %v\n", err)
	}
	return exitError
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "weir",
		Short: "Run flows of sandboxed tools",
		Long: `weir runs flows: DAGs of tool nodes written in CUE, YAML or JSON. Tools are
sandboxed WebAssembly modules, go-plugin processes or native Go functions.`,
		Example: `  weir validate examples/hello/flow.cue
  weir run examples/hello/flow.cue --input name=Ada`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newValidate(), newRun(), newGraph(), newSchema(), newVersion())
	return root
}

// args checks the number of positional arguments as a usage error.
func args(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(a))}
		}
		return nil
	}
}

// newEngine builds the engine the commands use, tracing when the OTEL_*
// environment asks for it. The returned func closes both.
func newEngine(ctx context.Context) (*engine.Engine, func(), error) {
	tp, shutdownTracing, err := tracerFromEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.New(engine.Options{TracerProvider: tp})
	if err != nil {
		shutdownTracing()
		return nil, nil, err
	}
	return e, func() {
		_ = e.Close()
		shutdownTracing()
	}, nil
}

// loadFlow opens an engine and loads the flow at path.
func loadFlow(ctx context.Context, path string) (*engine.Flow, func(), error) {
	e, closeAll, err := newEngine(ctx)
	if err != nil {
		return nil, nil, err
	}
	f, err := e.Load(ctx, path)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return f, closeAll, nil
}
