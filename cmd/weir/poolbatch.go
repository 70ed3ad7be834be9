package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/pool"
)

// poolWindow is how many lines a batch on a pool queues ahead of their
// results, unless --concurrency says.
const poolWindow = 256

// poolBundles is the folder of the home folder where workers and weir runs
// wait keep the bundles they fetched from pools.
const poolBundles = "pool-bundles"

// poolJob is what a batch on a pool keeps beside its run record, under
// $WEIR_HOME/pool-jobs/RUN.json: enough for weir runs wait RUN, or weir
// batch --resume RUN, to collect its lines later, from another process.
type poolJob struct {
	// Job names the lines in the pool: the id of the run that queued them
	// first; the runs that resume it keep it.
	Job    string `json:"job"`
	Pool   string `json:"pool"`
	NATS   string `json:"nats"`
	Bundle string `json:"bundle"`
	// Flow and Data are the paths the batch was given, made absolute.
	Flow        string            `json:"flow"`
	Data        string            `json:"data"`
	DataSHA256  string            `json:"data_sha256"`
	Format      string            `json:"format"`
	Map         map[string]string `json:"map,omitempty"`
	BaseRun     string            `json:"base_run,omitempty"` // what ${run.outputs.x} reads
	Name        string            `json:"name,omitempty"`
	Concurrency int               `json:"concurrency"`
	LineTimeout time.Duration     `json:"line_timeout,omitempty"`
	MaxFailures int               `json:"max_failures,omitempty"`
	NoCache     bool              `json:"no_cache,omitempty"`
	// NodeValues says which lines' workers send back their nodes'
	// values; a job of an older weir has none, which keeps the failed
	// lines', as it did.
	NodeValues engine.NodeValues `json:"node_values,omitempty"`
	Lines      int               `json:"lines"`
}

func (a *app) jobPath(run string) (string, error) {
	return a.inHome(filepath.Join("pool-jobs", run+".json"))
}

// inHome is the path of name in the home folder.
func (a *app) inHome(name string) (string, error) {
	home, err := a.homeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, name), nil
}

func (a *app) saveJob(run string, j poolJob) error {
	path, err := a.jobPath(run)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("keep the pool job: %w", err)
	}
	data, _ := json.MarshalIndent(j, "", "  ")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("keep the pool job: %w", err)
	}
	return nil
}

// ranOnPool reports whether run was a batch on a pool.
func (a *app) ranOnPool(run string) bool {
	_, err := a.loadJob(run)
	return err == nil
}

// errNoJob is wrapped by the error of a run that did not run on a pool.
var errNoJob = errors.New("not a batch on a pool")

func (a *app) loadJob(run string) (poolJob, error) {
	path, err := a.jobPath(run)
	if err != nil {
		return poolJob{}, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return poolJob{}, fmt.Errorf("run %q: %w", run, errNoJob)
	}
	if err != nil {
		return poolJob{}, err
	}
	var j poolJob
	if err := json.Unmarshal(data, &j); err != nil {
		return poolJob{}, fmt.Errorf("run %q: its pool job %s does not read: %w", run, path, err)
	}
	return j, nil
}

// poolBatchSpec is what weir batch worked out before it knew the batch
// runs on a pool.
type poolBatchSpec struct {
	store   *record.Store
	meta    record.Meta
	format  string
	lines   int
	mapping map[string]string
}

// poolBatch is weir batch --pool: the lines go to the pool's workers, their
// results into the record; or, resuming a batch that ran on a pool, the
// lines it did not finish are collected from the pool again.
func (app *app) poolBatch(cmd *cobra.Command, flowPath string, fl batchFlags, spec poolBatchSpec) error {
	ctx := cmd.Context()
	var old *poolJob
	if from := spec.meta.ResumedFrom; from != "" {
		j, err := app.loadJob(from)
		if err != nil && !errors.Is(err, errNoJob) {
			return err
		}
		if err == nil {
			old = &j
			fl.pool = cmp.Or(fl.pool, j.Pool)
			fl.nats.defaultURL(j.NATS)
		}
	}
	conn, p, err := app.connectPool(ctx, fl.nats, fl.pool)
	if err != nil {
		return err
	}
	defer conn.Close()
	f, closeAll, err := app.loadFlow(ctx, flowPath)
	if err != nil {
		return err
	}
	defer closeAll()
	digest, err := putBundle(ctx, p, f)
	if err != nil {
		return err
	}
	if spec.meta.ID == "" {
		spec.meta.ID = record.NewID(f.Name(), time.Now())
	}
	flowAbs, _ := filepath.Abs(flowPath)
	dataAbs, _ := filepath.Abs(fl.data)
	job := poolJob{
		Job: spec.meta.ID, Pool: p.Name(), NATS: conn.URL(), Bundle: digest,
		Flow: flowAbs, Data: dataAbs, DataSHA256: spec.meta.DataSHA256, Format: spec.format, Map: spec.mapping,
		BaseRun: spec.meta.BaseRun, Name: fl.name, Concurrency: fl.concurrency, LineTimeout: fl.lineTimeout, MaxFailures: fl.maxFailures,
		NoCache: app.noCache, Lines: spec.lines, NodeValues: nodeValues[fl.nodeValues],
	}
	if old != nil {
		if old.Bundle != digest {
			return fmt.Errorf("resume: the flow changed since run %q queued its lines (its bundle was %.19s…, it is %.19s… now): resume it with the same flow, or start a new batch", spec.meta.ResumedFrom, old.Bundle, digest)
		}
		job.Job = old.Job
	}
	if err := app.saveJob(spec.meta.ID, job); err != nil {
		return err
	}
	warnNoWorkers(ctx, cmd.ErrOrStderr(), p)
	if fl.detach {
		return app.detachBatch(cmd, f, p, job, spec.store, spec.meta.ID)
	}
	return app.collect(cmd, f, p, job, spec.store, spec.meta, old != nil, flowPath)
}

// putBundle puts the bundle of f in the pool and returns its digest.
func putBundle(ctx context.Context, p *pool.Pool, f *engine.Flow) (string, error) {
	b, err := hosts.BuildBundle(f)
	if err != nil {
		return "", err
	}
	defer b.Close()
	return p.PutBundle(ctx, b.Path)
}

// warnNoWorkers says so when the pool has no live worker: lines wait for
// one.
func warnNoWorkers(ctx context.Context, w io.Writer, p *pool.Pool) {
	st, err := p.Status(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, wk := range st.Workers {
		if !wk.Lost(now) && !wk.Draining {
			return
		}
	}
	fmt.Fprintf(w, "pool %q has no worker yet: the lines wait for one (start one with weir worker --pool %s)\n", p.Name(), p.Name())
}

// start starts collecting the job's results from p (resumed when some may
// be there already) and opens its dataset; done undoes both.
func (j poolJob) start(ctx context.Context, p *pool.Pool, resumed bool) (pb *pool.Batch, src engine.Source, done func(), err error) {
	pb, err = p.NewBatch(ctx, pool.BatchOptions{Job: j.Job, Bundle: j.Bundle, LineTimeout: j.LineTimeout, NoCache: j.NoCache, Resumed: resumed,
		NodeValues: cmp.Or(j.NodeValues, engine.FailedNodeValues)})
	if err != nil {
		return nil, nil, nil, err
	}
	file, err := os.Open(j.Data)
	if err != nil {
		pb.Close()
		return nil, nil, nil, fmt.Errorf("read dataset: %w", err)
	}
	src = engine.JSONL(file)
	if j.Format == "csv" {
		src = engine.CSV(file)
	}
	return pb, src, func() { file.Close(); pb.Close() }, nil
}

// collect runs the job's batch into a new run of the record, meta, with
// its lines run by the pool's workers; resumed when some may be done.
func (app *app) collect(cmd *cobra.Command, f *engine.Flow, p *pool.Pool, j poolJob, store *record.Store, meta record.Meta, resumed bool, flowPath string) error {
	ctx := cmd.Context()
	pb, src, done, err := j.start(ctx, p, resumed)
	if err != nil {
		return err
	}
	defer done()
	meta.BaseRun = j.BaseRun
	b, err := store.StartBatch(ctx, f, src, meta, engine.BatchOptions{
		Concurrency: j.Concurrency,
		LineTimeout: j.LineTimeout,
		Map:         j.Map,
		MaxFailures: j.MaxFailures,
		Remote:      pb.Remote,
	})
	if err != nil {
		return err
	}
	return waitBatch(cmd, store, b, j.Lines, cmp.Or(cmd.Flags().Lookup("output").Value.String(), "text"), flowPath)
}

// detachBatch queues every line of the job and returns: weir runs wait
// collects the results.
func (app *app) detachBatch(cmd *cobra.Command, f *engine.Flow, p *pool.Pool, j poolJob, store *record.Store, run string) error {
	ctx := cmd.Context()
	var baseRun func(int) (json.RawMessage, error)
	if j.BaseRun != "" {
		var err error
		if baseRun, err = store.BaseRun(j.BaseRun); err != nil {
			return err
		}
	}
	pb, src, done, err := j.start(ctx, p, false)
	if err != nil {
		return err
	}
	defer done()
	// The engine maps the lines as the collecting batch will; the lines it
	// cannot map fail there again, so they are not queued.
	queued := 0
	b, err := f.Batch(ctx, src, engine.BatchOptions{
		Concurrency: 64,
		Map:         j.Map,
		Run:         baseRun,
		Remote: func(ctx context.Context, line int, inputs json.RawMessage) (engine.LineResult, error) {
			if err := pb.Publish(ctx, line, inputs); err != nil {
				return engine.LineResult{}, err
			}
			return engine.LineResult{Line: line, Status: engine.Failed, Err: &engine.LineError{Line: line, Err: errQueued}}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("batch %s: %w", j.Data, err)
	}
	for lr := range b.Lines() {
		if errors.Is(lr.Err, errQueued) {
			queued++
		}
	}
	if _, err := b.Wait(); err != nil {
		return fmt.Errorf("queue the lines: %w; queue the rest with weir runs wait %s", err, run)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "batch %s: %s queued on pool %q; collect the results with weir runs wait %s\n", run, count(queued, "line"), p.Name(), run)
	fmt.Fprintln(cmd.OutOrStdout(), run)
	return nil
}

// errQueued marks the lines weir batch --detach queued.
var errQueued = errors.New("queued")

// defaultURL makes url the server the flags name when neither --nats nor
// $NATS_URL names one: the server a pool batch ran on.
func (f *natsFlags) defaultURL(url string) {
	if f.url == "" && os.Getenv("NATS_URL") == "" {
		f.url = url
	}
}
