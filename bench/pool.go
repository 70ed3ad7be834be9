package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// Pool is a work pool on a NATS server embedded in this process, with a
// file store under a folder of its own: the pool side of poolbench.
type Pool struct {
	srv  *pool.Server
	conn *pool.Conn
	pool *pool.Pool
	jobs atomic.Int64
}

// StartPool starts a NATS server on a free loopback port with its store
// under dir, and creates pool name on it with settings s. Close it when
// done.
func StartPool(ctx context.Context, dir, name string, s pool.Settings) (_ *Pool, err error) {
	p := &Pool{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.srv, err = pool.StartServer(pool.ServerOptions{Addr: "127.0.0.1:0", StoreDir: dir}); err != nil {
		return nil, err
	}
	if p.conn, err = pool.Connect(ctx, pool.Options{URL: p.srv.URL(), Name: "poolbench"}); err != nil {
		return nil, err
	}
	if p.pool, err = pool.Create(ctx, p.conn, name, s); err != nil {
		return nil, err
	}
	return p, nil
}

// URL is the NATS server's, for weir worker --nats.
func (p *Pool) URL() string { return p.srv.URL() }

// Pool is the pool, opened on this process's connection.
func (p *Pool) Pool() *pool.Pool { return p.pool }

// Close closes the connection and stops the server.
func (p *Pool) Close() {
	if p.conn != nil {
		p.conn.Close()
	}
	if p.srv != nil {
		p.srv.Shutdown()
	}
}

// Put puts the bundle of f in the pool and returns its digest.
func (p *Pool) Put(ctx context.Context, f *engine.Flow) (string, error) {
	b, err := hosts.BuildBundle(f)
	if err != nil {
		return "", err
	}
	defer b.Close()
	return p.pool.PutBundle(ctx, b.Path)
}

// Worker runs a worker of the pool in this process, concurrency lines at a
// time, on an engine of builtin tools, with its bundle cache under dir,
// until stop is called; stop drains it.
func (p *Pool) Worker(dir string, concurrency int) (stop func() error, err error) {
	e, err := BuiltinEngine()
	if err != nil {
		return nil, err
	}
	w, err := pool.NewWorker(p.pool, pool.WorkerOptions{Engine: e, CacheDir: dir, Concurrency: concurrency, ID: fmt.Sprintf("bench-%d", p.jobs.Add(1))})
	if err != nil {
		return nil, errors.Join(err, e.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			cancel()
			stopErr = errors.Join(<-done, e.Close())
		})
		return stopErr
	}, nil
}

// Batch streams the dataset at data through flow f, whose bundle is
// digest, with the lines run by the pool's workers: window lines queued
// ahead of their results, as weir batch --pool --concurrency does. Each
// line's result goes to line, when not nil, as it comes back; there is no
// run record. A line that failed is an error.
func (p *Pool) Batch(ctx context.Context, f *engine.Flow, digest, data string, window int, line func(engine.LineResult)) (*engine.BatchSummary, error) {
	pb, err := p.pool.NewBatch(ctx, pool.BatchOptions{Job: fmt.Sprintf("bench-%d", p.jobs.Add(1)), Bundle: digest})
	if err != nil {
		return nil, err
	}
	defer pb.Close()
	file, err := os.Open(data)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer file.Close()
	b, err := f.Batch(ctx, engine.JSONL(file), engine.BatchOptions{Concurrency: window, Remote: pb.Remote})
	if err != nil {
		return nil, err
	}
	for lr := range b.Lines() {
		if line != nil {
			line(lr)
		}
	}
	sum, err := b.Wait()
	if err == nil && sum.Failed > 0 {
		err = fmt.Errorf("batch on pool %q: %d of %d lines failed", p.pool.Name(), sum.Failed, sum.Lines())
	}
	return sum, err
}

// RunOnPool does what Run does, with the lines run by the workers of p:
// weir batch --pool but for starting a process, window lines queued
// ahead.
func (f *BatchFlow) RunOnPool(ctx context.Context, p *Pool, data string, window int) (*engine.BatchSummary, error) {
	digest, err := p.Put(ctx, f.flow)
	if err != nil {
		return nil, err
	}
	pb, err := p.pool.NewBatch(ctx, pool.BatchOptions{Job: fmt.Sprintf("bench-%d", p.jobs.Add(1)), Bundle: digest})
	if err != nil {
		return nil, err
	}
	defer pb.Close()
	return f.batch(ctx, data, window, true, pb.Remote)
}

// SleepFlow writes, under dir, a flow of one builtin.sleep node that waits
// d per line and passes the line's id through, for lines of WriteDataset:
// an I/O-bound line, so that the workers, not the machine's cores, are the
// limit. It returns the flow's path.
func SleepFlow(dir, d string) (string, error) {
	path := filepath.Join(dir, "sleep.cue")
	src := fmt.Sprintf(`name: "sleep"
inputs: {id: int, name: string}
nodes: nap: {tool: "builtin.sleep", inputs: {duration: %q, value: "${inputs.id}"}}
outputs: id: "${nap.output.value}"
`, d)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return "", fmt.Errorf("write the sleep flow: %w", err)
	}
	return path, nil
}

// BuiltinEngine is an engine with the builtin tools alone, which the pool
// flows use.
func BuiltinEngine() (*engine.Engine, error) {
	return engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
}
