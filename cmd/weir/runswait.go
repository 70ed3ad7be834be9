package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

func newRunsWait(app *app) *cobra.Command {
	var output string
	var nf *natsFlags
	cmd := &cobra.Command{
		Use:   "wait [flags] RUN",
		Short: "Collect the results of a batch that ran on a work pool",
		Long: `Collect the results of a batch whose lines run on a work pool, into the
run record, until every line is in: a batch queued with weir batch --pool
--detach, or one whose weir batch stopped (Ctrl-C, a kill, a lost
machine). Lines already done are not queued again: their results are taken
from the pool, and the lines the pool does not have yet are queued.

A detached batch gets its record under its own id RUN; a batch that had a
record goes on in a new run that resumes it, as weir batch --resume does.
The flow is the bundle the batch queued, fetched from the pool. The exit
code is that of weir batch.`,
		Example: `  weir batch examples/hello --data people.jsonl --pool batch --detach
  weir runs wait hello-20261122-101500-3f9a`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "text", "json"); err != nil {
				return err
			}
			return app.runsWait(cmd, a[0], nf)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "summary format: text or json (the metrics)")
	nf = addNATSFlags(cmd)
	return cmd
}

func (app *app) runsWait(cmd *cobra.Command, run string, nf *natsFlags) error {
	ctx := cmd.Context()
	j, err := app.loadJob(run)
	if errors.Is(err, errNoJob) {
		return fmt.Errorf("runs wait: run %q did not run on a work pool: weir runs wait collects batches of weir batch --pool", run)
	}
	if err != nil {
		return err
	}
	store, err := app.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	meta := record.Meta{ID: run, Name: j.Name, Data: j.Data, DataSHA256: j.DataSHA256}
	info, err := store.Get(run)
	switch {
	case errors.Is(err, record.ErrNotFound):
		// Detached: its record starts now.
	case err != nil:
		return err
	case info.Status == engine.Running || info.Status == engine.Queued:
		return fmt.Errorf("runs wait: run %q is being collected by another weir (its weir batch or runs wait is still running)", run)
	case info.Status == engine.Completed:
		return fmt.Errorf("runs wait: run %q is finished: every line is in its record (weir runs show %s)", run, run)
	default:
		meta.ID, meta.ResumedFrom = "", run
	}
	nf.defaultURL(j.NATS)
	conn, p, err := app.connectPool(ctx, nf, j.Pool)
	if err != nil {
		return err
	}
	defer conn.Close()
	cache, err := app.inHome(poolBundles)
	if err != nil {
		return err
	}
	path, err := p.FetchBundle(ctx, cache, j.Bundle)
	if err != nil {
		return err
	}
	f, closeAll, err := app.loadFlow(ctx, path)
	if err != nil {
		return err
	}
	defer closeAll()
	if meta.ID == "" {
		meta.ID = record.NewID(f.Name(), time.Now())
		if err := app.saveJob(meta.ID, j); err != nil {
			return err
		}
	}
	return app.collect(cmd, f, p, j, store, meta, true, j.Flow)
}
