package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weirflow/weir/engine"
)

// BatchOptions configure a Batch.
type BatchOptions struct {
	// Job names the batch's lines in the pool: the id of the run that
	// published them first, kept by the runs that resume it. Required;
	// letters, digits, '-' and '_'.
	Job string
	// Bundle is the digest of the bundle the lines run (PutBundle).
	Bundle string
	// LineTimeout bounds each line's run on its worker when positive.
	LineTimeout time.Duration
	// NoCache makes the workers neither read nor write their node cache.
	NoCache bool
	// NodeValues says which lines' workers send back their nodes' inputs,
	// outputs and logs, for the run record: as engine.BatchOptions's.
	NodeValues engine.NodeValues
	// Resumed says lines may have results already: the batch is collected
	// again after its submitter stopped. Each line's result is then looked
	// up before the line is published again.
	Resumed bool
	// Logger receives dead letters that could not be handled; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Batch is a batch's lines on a pool: its Remote publishes each line to the
// work stream and waits for its result, for engine.BatchOptions.Remote.
// Each line's first result is the one taken; a line delivered twice (its
// worker died after running it) is still reported once.
type Batch struct {
	p       *Pool
	opts    BatchOptions
	consume jetstream.ConsumeContext
	stop    context.CancelFunc
	buried  sync.WaitGroup

	mu      sync.Mutex
	waiters map[int]chan outcome
	early   map[int]outcome // results of lines not waited for yet
	// dropped is set once a result was dropped for want of room in early:
	// from then on each line looks its result up first.
	dropped atomic.Bool
}

// maxEarly bounds the results kept for lines the engine has not asked for
// yet; beyond it they are looked up in the results stream when asked.
const maxEarly = 4096

// NewBatch starts collecting the results of job o.Job, and turning dead
// letters into failed results, until Close.
func (p *Pool) NewBatch(ctx context.Context, o BatchOptions) (*Batch, error) {
	if !namePattern.MatchString(o.Job) {
		return nil, fmt.Errorf("pool batch: job %q: use letters, digits, '-' and '_'", o.Job)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := &Batch{p: p, opts: o, waiters: map[int]chan outcome{}, early: map[int]outcome{}}
	cctx, cancel := p.c.callContext(ctx)
	defer cancel()
	// Results published from now on are pushed to take; those from before
	// (a resumed batch) are looked up line by line.
	cons, err := p.c.JetStream().OrderedConsumer(cctx, resultsStream(p.name), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"weir.pool." + p.name + ".results." + o.Job + ".*"}, // a line number alone
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, p.c.fail(fmt.Sprintf("pool %q: collect results", p.name), err)
	}
	// Short pulls with frequent heartbeats: after a server restart the
	// consumer is made again within seconds, not the default half minute.
	if b.consume, err = cons.Consume(b.take, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second)); err != nil {
		return nil, p.c.fail(fmt.Sprintf("pool %q: collect results", p.name), err)
	}
	var bctx context.Context
	bctx, b.stop = context.WithCancel(context.WithoutCancel(ctx))
	b.buried.Go(func() { p.buryDead(bctx, o.Logger) })
	return b, nil
}

// Close stops collecting.
func (b *Batch) Close() {
	b.consume.Stop()
	b.stop()
	b.buried.Wait()
}

// take hands a result to the line waiting for it, or keeps it for later.
func (b *Batch) take(msg jetstream.Msg) {
	var o outcome
	if err := json.Unmarshal(msg.Data(), &o); err != nil {
		b.opts.Logger.Warn("a result that does not read: dropped", "subject", msg.Subject(), "err", err)
		return
	}
	if line, err := strconv.Atoi(msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]); err != nil || line != o.Line {
		b.opts.Logger.Warn("a result on another line's subject: dropped", "subject", msg.Subject(), "line", o.Line)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.waiters[o.Line]; ok {
		select {
		case ch <- o:
		default: // it has one already
		}
		return
	}
	if len(b.early) < maxEarly {
		b.early[o.Line] = o
	} else {
		b.dropped.Store(true)
	}
}

// Remote runs a line on the pool: it publishes it, unless its result is
// there already, and returns its result once a worker sent it. It returns
// an error only when ctx ended first.
func (b *Batch) Remote(ctx context.Context, line int, inputs json.RawMessage) (engine.LineResult, error) {
	ch := make(chan outcome, 1)
	b.mu.Lock()
	o, ok := b.early[line]
	delete(b.early, line)
	if !ok {
		b.waiters[line] = ch
	}
	b.mu.Unlock()
	if ok {
		return o.lineResult(), nil
	}
	defer func() {
		b.mu.Lock()
		delete(b.waiters, line)
		b.mu.Unlock()
	}()
	if b.opts.Resumed || b.dropped.Load() {
		if o, ok, err := b.lookup(ctx, line); err != nil {
			return engine.LineResult{}, err
		} else if ok {
			return o.lineResult(), nil
		}
	}
	if err := b.Publish(ctx, line, inputs); err != nil {
		if ctx.Err() != nil {
			return engine.LineResult{}, err
		}
		return engine.LineResult{Line: line, Status: engine.Failed, Start: time.Now(),
			Err: &engine.LineError{Line: line, Kind: engine.BadInput, Err: err}}, nil
	}
	select {
	case o := <-ch:
		return o.lineResult(), nil
	case <-ctx.Done():
		return engine.LineResult{}, context.Cause(ctx)
	}
}

// lookup returns the result of a line the results stream has.
func (b *Batch) lookup(ctx context.Context, line int) (outcome, bool, error) {
	for {
		cctx, cancel := b.p.c.callContext(ctx)
		raw, err := b.p.results.GetLastMsgForSubject(cctx, resultSubject(b.p.name, b.opts.Job, line))
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return outcome{}, false, nil
		case err == nil:
			var o outcome
			if err := json.Unmarshal(raw.Data, &o); err != nil || o.Line != line {
				return outcome{}, false, nil // run it again
			}
			return o, true, nil
		case ctx.Err() != nil:
			return outcome{}, false, context.Cause(ctx)
		}
		b.opts.Logger.Warn("look up a line's result", "line", line, "err", err)
		sleep(ctx, time.Second)
	}
}

// Publish puts a line on the work stream, with its trace context, once:
// the line's message id makes the stream drop a second copy published
// within its duplicate window. While the server is away it tries again
// until ctx ends. weir batch --detach publishes its lines with it alone.
func (b *Batch) Publish(ctx context.Context, line int, inputs json.RawMessage) error {
	data, err := json.Marshal(work{Job: b.opts.Job, Line: line, Bundle: b.opts.Bundle, Inputs: inputs, Timeout: b.opts.LineTimeout, NoCache: b.opts.NoCache, NodeValues: b.opts.NodeValues})
	if err != nil {
		return err
	}
	msg := nats.NewMsg(workSubject(b.p.name, b.opts.Job))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s.%d", b.opts.Job, line))
	msg.Header.Set(hdrJob, b.opts.Job)
	msg.Header.Set(hdrLine, strconv.Itoa(line))
	inject(ctx, msg.Header)
	for {
		cctx, cancel := b.p.c.callContext(ctx)
		_, err := b.p.c.JetStream().PublishMsg(cctx, msg)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, nats.ErrMaxPayload):
			return fmt.Errorf("line %d: its inputs are %d bytes, more than the NATS server's max payload (%d)", line, len(data), b.p.c.NATS().MaxPayload())
		case !transient(err):
			return b.p.c.fail(fmt.Sprintf("pool %q: publish line %d", b.p.name, line), err)
		}
		sleep(ctx, 250*time.Millisecond)
	}
}
