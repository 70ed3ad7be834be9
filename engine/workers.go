package engine

import (
	"context"
	"sync"
)

// maxIdleWorkers bounds the workers that wait for a node once theirs has
// ended: enough for the widest fan-outs of a few runs at once, and at a few
// KiB of stack each, little to keep.
const maxIdleWorkers = 256

// workers run the nodes that a run executes in parallel. A new goroutine
// starts on a small stack and copies it each time it doubles on its way
// down through the engine and the tool, which cost a fan-out more than its
// scheduling did; a worker that has run a node keeps its grown stack and
// waits for the next one instead of exiting. Up to maxIdleWorkers wait,
// the last to arrive taken first (its stack is the likeliest to be warm);
// any more exit, as do all of them once stop is called.
//
// Its methods are safe for concurrent use.
type workers struct {
	mu      sync.Mutex
	idle    []*worker
	stopped bool
	spawned int // workers started, for tests
}

// worker is one goroutine that runs nodes, handed one at a time.
type worker struct {
	tasks chan task // of one: a worker takes its next task after its last
}

// task is one node of one run, handed to a worker without an allocation:
// the worker runs it, then each node that ending the last hands to it.
type task struct {
	r   *run
	ctx context.Context
	i   int
}

// start runs node t.i on a waiting worker, or on a new one when none waits.
func (w *workers) start(t task) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		wk := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		wk.tasks <- t
		return
	}
	w.spawned++
	w.mu.Unlock()
	wk := &worker{tasks: make(chan task, 1)}
	wk.tasks <- t
	go w.work(wk)
}

// work runs the tasks wk is handed until it is not kept waiting.
func (w *workers) work(wk *worker) {
	for t := range wk.tasks {
		r := t.r
		over := r.runFrom(t.ctx, t.i)
		// A waiting worker must not hold on to the run it served.
		t = task{}
		// Wait before saying the run is over: once a run has ended,
		// its workers are there for the next run.
		kept := w.wait(wk)
		if over {
			r.sched.over <- struct{}{}
		}
		if !kept {
			return
		}
	}
}

// wait puts wk among the idle workers and reports whether it was kept.
func (w *workers) wait(wk *worker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || len(w.idle) >= maxIdleWorkers {
		return false
	}
	w.idle = append(w.idle, wk)
	return true
}

// stop ends the idle workers; the ones running a node end with it. start
// still works afterwards, on a goroutine per node.
func (w *workers) stop() {
	w.mu.Lock()
	idle := w.idle
	w.idle, w.stopped = nil, true
	w.mu.Unlock()
	for _, wk := range idle {
		close(wk.tasks)
	}
}

// counts returns the idle workers and the workers ever started.
func (w *workers) counts() (idle, spawned int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.idle), w.spawned
}
