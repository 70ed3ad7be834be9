package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/weirflow/weir/engine"
)

// advisory is the part of the server's max-deliveries advisory the pool
// reads.
type advisory struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// buryDead turns the lines that reached max-deliver into failed results,
// until ctx ends: workers and collecting batches all do it, so that a batch
// completes even when the line killed every worker it reached.
func (p *Pool) buryDead(ctx context.Context, log *slog.Logger) {
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			var err error
			if cons, err = p.dead.Consumer(ctx, deadConsumer); err != nil {
				sleep(ctx, fetchWait)
				continue
			}
		}
		batch, err := cons.Fetch(16, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			sleep(ctx, fetchWait)
			continue
		}
		for msg := range batch.Messages() {
			if err := p.bury(ctx, msg.Data()); err != nil {
				log.Warn("dead letter", "err", err)
				_ = msg.NakWithDelay(time.Second)
				continue
			}
			_ = msg.Ack()
		}
	}
}

// bury publishes the failed result of the line an advisory names and
// removes the line from the work stream.
func (p *Pool) bury(ctx context.Context, data []byte) error {
	var adv advisory
	if err := json.Unmarshal(data, &adv); err != nil {
		return nil // not ours to read: dropped
	}
	cctx, cancel := p.c.callContext(ctx)
	defer cancel()
	raw, err := p.work.GetMsg(cctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // buried already, or acked at last
	}
	if err != nil {
		return err
	}
	job, line, err := lineOf(raw.Header)
	if err != nil {
		return nil
	}
	o := outcome{Line: line, Status: engine.Failed, Kind: engine.ToolFailed, Start: raw.Time,
		Error: fmt.Sprintf("no worker finished the line: it was delivered %d times (the pool's max-deliver) and each worker it reached stopped before its result (a crash, a kill, or a lost machine)", adv.Deliveries)}
	if err := p.publishResult(job, o); err != nil {
		return err
	}
	if err := p.work.DeleteMsg(cctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return err
	}
	return nil
}
