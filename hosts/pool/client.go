package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/weirflow/weir/engine"
)

// ErrNoWorkers is wrapped by the error of a run asked of a pool that has
// no worker to answer it.
var ErrNoWorkers = errors.New("pool has no worker")

// noWorkers is the error of a run asked of a pool with no worker.
type noWorkers string

func (e noWorkers) Error() string {
	return fmt.Sprintf("pool %q has no worker: start one with weir worker --pool %s", string(e), string(e))
}

func (e noWorkers) Is(target error) bool { return target == ErrNoWorkers }

// RunOptions adjust a run on a pool.
type RunOptions struct {
	// RunID names the run; the worker picks one when empty.
	RunID string
	// Timeout bounds the run on its worker when positive; ctx's deadline
	// bounds the wait for its answer either way.
	Timeout time.Duration
	// NoCache makes the run neither read nor write the worker's node cache.
	NoCache bool
	// NodeValues says whether the worker sends back the run's inputs and
	// its nodes' values (engine.RunOptions.NodeValues), for a run record.
	NodeValues engine.NodeValues
}

// Run runs the entry flow of the bundle of digest once on a worker of the
// pool, on inputs (a JSON object), and returns its result as the engine
// would here: the error is an *engine.InputError, an *engine.NodeError or
// wraps engine.ErrRunTimeout, with the worker's text. A pool with no worker
// is an error wrapping ErrNoWorkers; ctx's deadline, when it has one,
// bounds the run too.
func (p *Pool) Run(ctx context.Context, digest string, inputs []byte, o RunOptions) (*engine.Result, error) {
	if d, ok := ctx.Deadline(); ok {
		// The worker stops a little before the caller does, so that its
		// answer, naming the nodes that were running, still arrives.
		if left := time.Until(d) - min(time.Until(d)/10, 100*time.Millisecond); o.Timeout <= 0 || left < o.Timeout {
			o.Timeout = max(left, time.Millisecond)
		}
	}
	data, err := json.Marshal(runRequest{Bundle: digest, Inputs: inputs, RunID: o.RunID, Timeout: o.Timeout, NoCache: o.NoCache, NodeValues: o.NodeValues})
	if err != nil {
		return nil, fmt.Errorf("run on pool %q: %w", p.name, err)
	}
	msg := nats.NewMsg(runSubject(p.name))
	msg.Data = data
	inject(ctx, msg.Header)
	resp, err := p.c.NATS().RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, noWorkers(p.name)
	case errors.Is(err, nats.ErrMaxPayload):
		return nil, fmt.Errorf("run on pool %q: the inputs are %d bytes, more than the NATS server's max payload (%d)", p.name, len(data), p.c.NATS().MaxPayload())
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("run on pool %q: %w", p.name, context.Cause(ctx))
	case err != nil:
		return nil, p.c.fail(fmt.Sprintf("run on pool %q", p.name), err)
	}
	var reply runReply
	if err := json.Unmarshal(resp.Data, &reply); err != nil {
		return nil, fmt.Errorf("run on pool %q: the worker's answer does not read: %w", p.name, err)
	}
	reply.keepValues()
	if reply.Error != nil {
		return reply.Result, reply.Error.err()
	}
	if reply.Result == nil {
		return nil, fmt.Errorf("run on pool %q: worker %s answered with no result", p.name, reply.Worker)
	}
	return reply.Result, nil
}
