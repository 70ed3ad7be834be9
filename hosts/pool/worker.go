package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weirflow/weir/engine"
)

// WorkerOptions configure a Worker. Every field but Engine and CacheDir has
// a useful zero value.
type WorkerOptions struct {
	// Engine loads and runs the flows of the bundles lines name; required.
	// The worker does not close it.
	Engine *engine.Engine
	// CacheDir keeps the bundles fetched from the pool, extracted, one
	// folder per digest; required.
	CacheDir string
	// Concurrency bounds the lines the worker holds at once (4), and
	// separately the runs it answers at once: a run is not kept waiting
	// while the worker pulls lines.
	Concurrency int
	// Labels describe the worker in the pool's status: zone=eu, gpu=a10.
	Labels map[string]string
	// ID names the worker in the pool's status; host-pid-random when empty.
	ID string
	// Logger receives what the worker does with lines it cannot run, and
	// connection trouble; nil means slog.Default().
	Logger *slog.Logger
}

// Worker pulls lines of a pool, runs them and publishes their results; it
// answers single runs too. One loaded flow is kept per bundle.
type Worker struct {
	p    *Pool
	opts WorkerOptions
	log  *slog.Logger
	held sync.WaitGroup // the pullers, each running its line
	runs chan struct{}  // a token per run being answered

	mu    sync.Mutex
	flows map[string]*flowEntry // by bundle digest

	started  time.Time
	running  atomic.Int64
	lines    atomic.Int64
	done     atomic.Int64 // runs answered
	draining atomic.Bool
	pulling  atomic.Bool
}

type flowEntry struct {
	ready chan struct{}
	flow  *engine.Flow
	err   error
}

// defaultConcurrency is how many lines a worker holds when not told.
const defaultConcurrency = 4

// NewWorker returns a worker of pool p.
func NewWorker(p *Pool, o WorkerOptions) (*Worker, error) {
	switch {
	case o.Engine == nil:
		return nil, errors.New("new worker: WorkerOptions.Engine is required")
	case o.CacheDir == "":
		return nil, errors.New("new worker: WorkerOptions.CacheDir is required")
	case o.Concurrency < 0:
		return nil, fmt.Errorf("new worker: concurrency %d is negative", o.Concurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.ID == "" {
		o.ID = newWorkerID()
	}
	if strings.ContainsAny(o.ID, " .*>") {
		return nil, fmt.Errorf("new worker: id %q: use letters, digits, '-' and '_'", o.ID)
	}
	w := &Worker{
		p: p, opts: o, log: o.Logger,
		runs:  make(chan struct{}, o.Concurrency),
		flows: map[string]*flowEntry{},
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.log = w.log.With("pool", p.name, "worker", o.ID)
	return w, nil
}

// newWorkerID is the host's name, the process id and a random suffix.
func newWorkerID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ID returns the worker's id.
func (w *Worker) ID() string { return w.opts.ID }

// Ready reports whether the worker is pulling lines: connected, and not
// draining.
func (w *Worker) Ready() bool {
	return w.pulling.Load() && !w.draining.Load() && w.p.c.NATS().IsConnected()
}

// fetchWait is how long one pull waits for lines before the worker looks
// again whether it should stop.
const fetchWait = time.Second

// Run pulls and runs lines, and answers runs, until ctx ends; then it
// drains: it pulls nothing new, finishes the lines and runs it holds,
// publishes their results, and returns. Lines in flight keep running
// after ctx ends: to cut them off, end the process.
func (w *Worker) Run(ctx context.Context) error {
	w.started = time.Now()
	cons, err := w.p.work.Consumer(ctx, workersConsumer)
	if err != nil {
		return w.p.c.fail(fmt.Sprintf("worker of pool %q: open the work consumer", w.p.name), err)
	}
	sub, err := w.p.c.NATS().QueueSubscribe(runSubject(w.p.name), workersConsumer, w.answer)
	if err != nil {
		return fmt.Errorf("worker of pool %q: subscribe to runs: %w", w.p.name, err)
	}
	// Once ready, the server knows of the subscription.
	_ = w.p.c.NATS().FlushTimeout(w.p.c.Timeout())
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bg.Go(func() { w.heartbeats(bgCtx) })
	bg.Go(func() { w.p.buryDead(bgCtx, w.log) })
	w.heartbeat(bgCtx)
	w.pulling.Store(true)
	w.log.Info("worker started", "concurrency", w.opts.Concurrency)

	// Drain once ctx ends: no new line or run is taken, then what is held
	// ends.
	bg.Go(func() {
		<-ctx.Done()
		w.draining.Store(true)
		w.log.Info("worker draining")
		_ = sub.Drain()
		w.heartbeat(bgCtx)
	})
	// One puller per slot: each takes a line when it is free, so that no
	// slot waits on another's fetch, and nothing is fetched that waits in
	// this process, its ack wait running, for a slot.
	for range w.opts.Concurrency {
		w.held.Go(func() { w.pull(ctx, cons) })
	}
	w.held.Wait()
	for w.running.Load() > 0 { // runs being answered
		time.Sleep(10 * time.Millisecond)
	}
	stopBG()
	bg.Wait()
	delCtx, cancel := w.p.c.callContext(context.WithoutCancel(ctx))
	defer cancel()
	_ = w.p.kv.Delete(delCtx, workerKeyPrefix+w.opts.ID)
	w.log.Info("worker stopped", "lines", w.lines.Load(), "runs", w.done.Load())
	return nil
}

// pull takes lines one at a time and runs them until ctx ends.
func (w *Worker) pull(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		msg, err := cons.Next(jetstream.FetchMaxWait(fetchWait))
		switch {
		case err == nil:
			w.line(msg)
		case errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages):
		case ctx.Err() == nil:
			w.log.Warn("pull lines", "err", err)
			sleep(ctx, fetchWait)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// line runs one line of a batch, publishes its result, then acks it. A
// line that cannot run here for a reason that may pass (the pool cannot be
// reached) is handed back for another try; one that can never run (its
// bundle is refused) gets a failed result saying why.
func (w *Worker) line(msg jetstream.Msg) {
	var wk work
	if err := json.Unmarshal(msg.Data(), &wk); err != nil {
		w.log.Error("a line that does not read: dropped", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("unreadable")
		return
	}
	// The job names the subject of the line's result: one with a '.' or a
	// wildcard would put it where another job's lines are collected.
	if !namePattern.MatchString(wk.Job) || wk.Line < 1 {
		w.log.Error("a line of no job or line a batch makes: dropped", "subject", msg.Subject(), "job", wk.Job, "line", wk.Line)
		_ = msg.TermWithReason("bad job or line")
		return
	}
	w.running.Add(1)
	defer w.running.Add(-1)
	stop := w.keepAlive(msg)
	defer stop()
	ctx := extract(context.Background(), msg.Headers())
	var lr engine.LineResult
	f, err := w.flow(ctx, wk.Bundle)
	if err != nil {
		if !errors.Is(err, ErrBundleMismatch) && transient(err) {
			w.log.Warn("line handed back", "job", wk.Job, "line", wk.Line, "err", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		lr = engine.LineResult{Line: wk.Line, Status: engine.Failed, Start: time.Now(),
			Err: &engine.LineError{Line: wk.Line, Kind: engine.ToolFailed, Err: err}}
	} else {
		lr, err = f.RunLine(ctx, wk.Line, wk.Inputs, engine.LineOptions{BatchID: wk.Job, Timeout: wk.Timeout, NoCache: wk.NoCache, NodeValues: wk.NodeValues})
		if err != nil {
			_ = msg.Nak()
			return
		}
	}
	if err := w.p.publishResult(wk.Job, newOutcome(lr, w.opts.ID)); err != nil {
		w.log.Warn("publish a line's result: the line will run again", "job", wk.Job, "line", wk.Line, "err", err)
		_ = msg.Nak()
		return
	}
	w.lines.Add(1)
	// Not waited for: a lost ack brings the line back, and its second
	// result is dropped.
	_ = msg.Ack()
}

// transient reports whether an error of getting a bundle may pass on its
// own: the pool could not be reached, rather than refused the bundle.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat)
}

// keepAlive tells the server the line is still being worked on, every
// third of the pool's ack wait, until stop is called: a long line is not
// given to another worker while this one lives.
func (w *Worker) keepAlive(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	every := max(w.p.settings.AckWait/3, 100*time.Millisecond)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = msg.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// publishTries bounds the tries of publishing a result, about a minute:
// long enough to ride out a server restart.
const publishTries = 120

// publishResult publishes a line's outcome to its subject of the results
// stream, with the line as message id: the first result of a line is
// kept, others are dropped. It tries again while the server is away.
// headroom is what a result's message may take beside its body: its
// headers, under the server's max payload.
const headroom = 1 << 10

func (p *Pool) publishResult(job string, o outcome) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if o.Values != nil && int64(len(data)) > p.c.NATS().MaxPayload()-headroom {
		// The nodes' values are for the record: the result goes without
		// them rather than not at all.
		o.Values = nil
		if data, err = json.Marshal(o); err != nil {
			return err
		}
	}
	msg := nats.NewMsg(resultSubject(p.name, job, o.Line))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s.%d", job, o.Line))
	return p.publish(msg)
}

// publish publishes msg to a stream of the pool and waits for the server's
// ack, trying again for about a minute while it gets none.
func (p *Pool) publish(msg *nats.Msg) error {
	var err error
	for range publishTries {
		ctx, cancel := p.c.callContext(context.Background())
		_, err = p.c.JetStream().PublishMsg(ctx, msg)
		cancel()
		if err == nil || !transient(err) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}

// flow returns the loaded flow of the bundle of digest, fetching and
// loading it the first time. A bundle that failed to load is tried again
// on its next line, unless it was refused.
func (w *Worker) flow(ctx context.Context, digest string) (*engine.Flow, error) {
	w.mu.Lock()
	e, ok := w.flows[digest]
	if !ok {
		e = &flowEntry{ready: make(chan struct{})}
		w.flows[digest] = e
	}
	w.mu.Unlock()
	if ok {
		<-e.ready
		return e.flow, e.err
	}
	path, err := w.p.FetchBundle(ctx, w.opts.CacheDir, digest)
	if err == nil {
		e.flow, err = w.opts.Engine.Load(ctx, path)
	}
	e.err = err
	if err != nil && transient(err) {
		w.mu.Lock()
		delete(w.flows, digest) // try again next time
		w.mu.Unlock()
	}
	close(e.ready)
	return e.flow, e.err
}

// answer runs a single run asked on the pool's run subject and replies
// with its result.
func (w *Worker) answer(msg *nats.Msg) {
	w.runs <- struct{}{}
	go func() {
		defer func() { <-w.runs }()
		w.running.Add(1)
		defer w.running.Add(-1)
		reply := w.run(msg)
		data, err := json.Marshal(reply)
		if err == nil && reply.Values != nil && int64(len(data)) > w.p.c.NATS().MaxPayload() {
			// The values are for a run record: the answer goes without
			// them rather than not at all.
			reply.Inputs, reply.Values = nil, nil
			data, err = json.Marshal(reply)
		}
		if err == nil && len(data) > int(w.p.c.NATS().MaxPayload()) {
			err = fmt.Errorf("the result is %d bytes, more than the NATS server's max payload (%d)", len(data), w.p.c.NATS().MaxPayload())
		}
		if err != nil {
			data, _ = json.Marshal(runReply{Error: &runError{Kind: "other", Message: err.Error()}, Worker: w.opts.ID})
		}
		if err := msg.Respond(data); err != nil {
			w.log.Warn("answer a run", "err", err)
		}
	}()
}

func (w *Worker) run(msg *nats.Msg) runReply {
	var req runRequest
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		return runReply{Error: &runError{Kind: "other", Message: "a run request that does not read: " + err.Error()}, Worker: w.opts.ID}
	}
	ctx := extract(context.Background(), msg.Header)
	f, err := w.flow(ctx, req.Bundle)
	if err != nil {
		return runReply{Error: newRunError(err), Worker: w.opts.ID}
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, req.Timeout, fmt.Errorf("%w after %s", engine.ErrRunTimeout, req.Timeout))
		defer cancel()
	}
	res, err := f.RunWith(ctx, req.Inputs, engine.RunOptions{RunID: req.RunID, NoCache: req.NoCache, NodeValues: req.NodeValues})
	w.done.Add(1)
	return newRunReply(res, err, w.opts.ID)
}

// heartbeats writes the worker's WorkerInfo every heartbeatEvery.
func (w *Worker) heartbeats(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.heartbeat(ctx)
		case <-ctx.Done():
			return
		}
	}
}

func (w *Worker) heartbeat(ctx context.Context) {
	host, _ := os.Hostname()
	info := WorkerInfo{
		ID: w.opts.ID, Host: host, PID: os.Getpid(), Labels: maps.Clone(w.opts.Labels),
		Concurrency: w.opts.Concurrency, Started: w.started, Heartbeat: time.Now(),
		Running: int(w.running.Load()), Lines: w.lines.Load(), Runs: w.done.Load(), Draining: w.draining.Load(),
	}
	data, _ := json.Marshal(info)
	ctx, cancel := w.p.c.callContext(ctx)
	defer cancel()
	if _, err := w.p.kv.Put(ctx, workerKeyPrefix+w.opts.ID, data); err != nil && ctx.Err() == nil {
		w.log.Debug("heartbeat", "err", err)
	}
}
