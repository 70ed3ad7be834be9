package load

import (
	"context"
	"math"
	"sync"
	"time"
)

// Due returns when call i of an open loop at rate calls per second that
// began at start is due: the schedule its latency counts from.
func Due(start time.Time, rate float64, i int) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// open starts calls at opts.Rate on the schedule of Due, at most
// opts.Clients in flight, and measures each from when it was due: a call
// that waited for a slot or for a late dispatch counts the wait.
func open[T any](ctx context.Context, opts Options, call Func[T]) *Result[T] {
	clock := opts.Clock
	warmup := opts.Warmup
	if opts.WarmupTime > 0 {
		warmup = int(math.Ceil(opts.WarmupTime.Seconds() * opts.Rate))
	}
	calls := opts.Calls
	if opts.Duration > 0 {
		// The calls due within the window, rounded up: at least one.
		byTime := max(int(math.Ceil(opts.Duration.Seconds()*opts.Rate)), 1)
		if calls == 0 || byTime < calls {
			calls = byTime
		}
	}
	start := clock.Now()
	slots := make(chan struct{}, opts.Clients)
	// Each measured call writes its own outcome: no lock on the way.
	outcomes := make([]outcome[T], calls)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last time.Time
	)
	for i := range warmup + calls {
		due := Due(start, opts.Rate, i)
		if !clock.SleepUntil(ctx, due) {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			v, err := call(ctx, i)
			done := clock.Now()
			if i < warmup {
				return
			}
			outcomes[i-warmup] = outcome[T]{v, err, done.Sub(due), true}
			mu.Lock()
			if done.After(last) {
				last = done
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res := &Result[T]{}
	if !last.IsZero() {
		res.Window = last.Sub(Due(start, opts.Rate, warmup))
	}
	var t tally[T]
	for _, o := range outcomes {
		if o.ended {
			t.add(o.value, o.err, o.latency)
		}
	}
	res.merge(&t)
	return res
}

// outcome is how one call of an open loop ended.
type outcome[T any] struct {
	value   T
	err     error
	latency time.Duration
	ended   bool
}
