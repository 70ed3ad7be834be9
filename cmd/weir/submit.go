package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts/pool"
)

func newSubmit(app *app) *cobra.Command {
	var (
		pairs      []string
		inputsFile string
		output     string
		poolName   string
		timeout    time.Duration
		nf         *natsFlags
	)
	cmd := &cobra.Command{
		Use:   "submit [flags] FLOW --pool NAME",
		Short: "Run a flow once on a work pool",
		Long: `Run a flow once on a worker of a work pool and print its outputs and what
each node did, as weir run does here. The flow's bundle goes to the pool
once (by digest); the run goes to whichever worker is free. Secrets the flow
declares are read on the worker, not here.

Inputs are given as for weir run: --inputs FILE and --input name=value.`,
		Example: `  weir submit examples/hello --pool batch --input name=Ada
  weir submit examples/hello --pool batch --nats nats://10.0.0.5:4222 --input name=Ada -o json`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			if poolName == "" {
				return usageError{errors.New("submit needs --pool NAME")}
			}
			ctx := cmd.Context()
			path, err := flowFile(a[0])
			if err != nil {
				return err
			}
			f, closeAll, err := app.checkFlow(ctx, path)
			if err != nil {
				return err
			}
			defer closeAll()
			inputs, err := readInputs(f, inputsFile, pairs, cmd.InOrStdin())
			if err != nil {
				return err
			}
			conn, p, err := app.connectPool(ctx, nf, poolName)
			if err != nil {
				return err
			}
			defer conn.Close()
			digest, err := putBundle(ctx, p, f)
			if err != nil {
				return err
			}
			res, runErr := p.Run(ctx, digest, inputs, pool.RunOptions{Timeout: timeout, NoCache: app.noCache})
			return printRun(cmd.OutOrStdout(), output, res, runErr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&pairs, "input", nil, "an input as name=value (repeatable)")
	f.StringVar(&inputsFile, "inputs", "", "a JSON file holding the inputs object (- for stdin)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&poolName, "pool", "", "the work pool to run on (required)")
	f.DurationVar(&timeout, "timeout", 0, "bound the run (default: the flow's run timeout)")
	nf = addNATSFlags(cmd)
	noCacheFlag(cmd, app)
	return cmd
}
