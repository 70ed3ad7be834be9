package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/hosts/pool"
)

// worker is a weir worker child process.
type worker struct {
	id     string
	cmd    *exec.Cmd
	waited chan struct{}
	err    error // of Wait, once waited is closed

	mu  sync.Mutex
	out bytes.Buffer // its stderr
}

// startWorker starts weir worker on the pool of p, concurrency lines at a
// time, with a home and a bundle cache of its own under dir, and returns
// once the pool's status shows it.
func startWorker(ctx context.Context, exe string, p *bench.Pool, dir, id string, concurrency int) (*worker, error) {
	home := filepath.Join(dir, "worker-"+id)
	w := &worker{id: id, waited: make(chan struct{})}
	w.cmd = exec.Command(exe, "worker", "--home", home, "--nats", p.URL(), "--pool", p.Pool().Name(),
		"--id", id, "--concurrency", strconv.Itoa(concurrency), "--cache", filepath.Join(home, "bundles"))
	w.cmd.Stdout = (*lockedWriter)(w)
	w.cmd.Stderr = (*lockedWriter)(w)
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start weir worker: %w", err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.waited)
	}()
	err := poll(ctx, 30*time.Second, w, func(st *pool.Status) bool {
		for _, s := range st.Workers {
			if s.ID == id {
				return true
			}
		}
		return false
	}, p)
	if err != nil {
		w.kill()
		return nil, fmt.Errorf("worker %s: %w", id, err)
	}
	return w, nil
}

// poll looks at the pool's status every 20 ms until ok says so, w (when
// not nil) exits, or limit passes.
func poll(ctx context.Context, limit time.Duration, w *worker, ok func(*pool.Status) bool, p *bench.Pool) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := p.Pool().Status(ctx)
		if err == nil && ok(st) {
			return nil
		}
		var exited <-chan struct{}
		if w != nil {
			exited = w.waited
		}
		select {
		case <-exited:
			return fmt.Errorf("weir worker exited: %v\n%s", w.err, w.stderr())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("the pool's status did not come to it within %s", limit)
			}
			if w != nil {
				return fmt.Errorf("%w\n%s", err, w.stderr())
			}
			return err
		}
	}
}

type lockedWriter worker

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

func (w *worker) stderr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// stop sends SIGTERM, which drains the worker, and waits for it to exit 0.
func (w *worker) stop() error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.waited:
	case <-time.After(time.Minute):
		w.kill()
		return fmt.Errorf("weir worker %s still running a minute after SIGTERM; killed:\n%s", w.id, w.stderr())
	}
	if w.err != nil {
		return fmt.Errorf("weir worker %s: %v\n%s", w.id, w.err, w.stderr())
	}
	return nil
}

// kill ends the process at once, as a lost machine would.
func (w *worker) kill() {
	select {
	case <-w.waited:
	default:
		_ = w.cmd.Process.Kill()
		<-w.waited
	}
}

// stopAll stops the workers that still run, and says how the first that
// did not drain failed.
func stopAll(ws []*worker) error {
	var first error
	for _, w := range ws {
		select {
		case <-w.waited:
			continue // killed
		default:
		}
		if err := w.stop(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// memory is the worker's resident set and its peak so far.
func (w *worker) memory() (rss, peak int64) { return bench.ProcMemory(w.cmd.Process.Pid) }
