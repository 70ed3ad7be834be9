package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options says how hard and how long to load. The zero value is not
// valid: Clients must be set, and Calls or Duration.
type Options struct {
	// Clients are the closed loop's clients, each making one call at a
	// time; with a Rate, the most calls in flight at once, beyond which a
	// call waits for a free slot (its latency still counts from when it
	// was due).
	Clients int
	// Rate makes the load open-loop: calls start at this many per second,
	// whatever the answers take. Zero is a closed loop.
	Rate float64
	// Warmup calls come first and are not measured; or, when WarmupTime is
	// set, the calls that end before it has passed.
	Warmup     int
	WarmupTime time.Duration
	// Calls bounds the measured calls, Duration the measured window; the
	// load ends at whichever comes first. One of them must be set.
	Calls    int
	Duration time.Duration
	// Ramp spreads the closed loop's clients' first calls over this long,
	// as a load tool's spawn rate does, so that they do not stay in step.
	Ramp time.Duration
	// Mark, when set, is called as the measured window opens and as it
	// closes (open false), for the caller to sample what it measures over
	// the window, such as CPU time. It needs a timed window: a closed loop
	// with a Duration, no Calls, and no Warmup but its WarmupTime.
	Mark func(open bool)
	// Clock is the real one when nil; tests give a fake.
	Clock Clock
}

// Func is one call: i numbers the calls from 0, warm-up included, so that
// a caller can cycle through its data. Its value is kept in Result.Values
// when the call is measured. It must be safe for concurrent use.
type Func[T any] func(ctx context.Context, i int) (T, error)

// Result is what the measured calls did.
type Result[T any] struct {
	// Window is how long the measured calls took, from the window's
	// opening to its end: Duration, or the end of the last call when
	// Calls were all made before.
	Window time.Duration
	// Latencies are those of the measured calls that succeeded, sorted.
	// In an open loop they count from when each call was due.
	Latencies []time.Duration
	// Values are those of every measured call, in no order.
	Values []T
	// Errors counts the measured calls that failed; FirstErr is one of
	// them, to say what went wrong.
	Errors   int
	FirstErr error
}

// Rate is the measured calls that succeeded per second of the window.
func (r *Result[T]) Rate() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Window.Seconds()
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted, by
// nearest rank: a latency that was measured, never one interpolated
// between two. It is 0 for no latency; Percentile(l, 100) is the largest.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Mean returns the mean of durations, 0 for none.
func Mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

// Errors of Options that cannot make a load.
var (
	ErrNoClients = errors.New("load needs at least 1 client")
	ErrUnbounded = errors.New("load needs a number of calls or a duration, to end by itself")
	ErrBadRate   = errors.New("load's rate must be positive and finite")
)

func (o *Options) check() error {
	switch {
	case o.Clients < 1:
		return ErrNoClients
	case o.Calls <= 0 && o.Duration <= 0:
		return ErrUnbounded
	case o.Rate < 0 || math.IsInf(o.Rate, 0) || math.IsNaN(o.Rate):
		return ErrBadRate
	case o.Warmup < 0 || o.WarmupTime < 0 || o.Ramp < 0:
		return errors.New("load's warm-up and ramp must not be negative")
	case o.Mark != nil && (o.Rate > 0 || o.Duration <= 0 || o.Calls > 0 || o.Warmup > 0):
		return errors.New("load's Mark needs a closed loop with a Duration, no Calls and no Warmup")
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return nil
}

// Run puts call under the load opts says and returns what the measured
// calls did. It returns once every call it started has ended; an error only
// for bad options or when ctx ended first.
func Run[T any](ctx context.Context, opts Options, call Func[T]) (*Result[T], error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	var res *Result[T]
	if opts.Rate > 0 {
		res = open(ctx, opts, call)
	} else {
		res = closed(ctx, opts, call)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load: %w", context.Cause(ctx))
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// tally is what one client or call measured: no lock, merged at the end.
type tally[T any] struct {
	latencies []time.Duration
	values    []T
	errors    int
	firstErr  error
}

func (t *tally[T]) add(v T, err error, latency time.Duration) {
	t.values = append(t.values, v)
	if err != nil {
		t.errors++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.latencies = append(t.latencies, latency)
}

func (r *Result[T]) merge(t *tally[T]) {
	r.Latencies = append(r.Latencies, t.latencies...)
	r.Values = append(r.Values, t.values...)
	r.Errors += t.errors
	if r.FirstErr == nil {
		r.FirstErr = t.firstErr
	}
}

// window is the closed loop's measured window: which calls count, and
// when the clients stop.
type window struct {
	opts  Options
	start time.Time

	mu       sync.Mutex
	warm     int       // warm-up calls ended
	open     bool      // the window has opened
	from, to time.Time // its opening and, with a Duration, its end
	measured int       // calls counted
	last     time.Time // the end of the last one
	stop     atomic.Bool
}

// opened opens the window at t and sets its end.
func (w *window) opened(t time.Time) {
	w.open, w.from = true, t
	if w.opts.Duration > 0 {
		w.to = t.Add(w.opts.Duration)
	}
	if w.opts.Calls == 0 || w.measured < w.opts.Calls {
		return
	}
	w.stop.Store(true)
}

// ended counts a call that ended at t and says whether it is measured.
func (w *window) ended(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.open {
		if w.opts.WarmupTime > 0 {
			if t.Before(w.from) {
				return false
			}
			w.opened(w.from)
		} else if w.warm++; w.warm <= w.opts.Warmup {
			if w.warm == w.opts.Warmup {
				w.opened(t)
			}
			return false
		}
	}
	switch {
	case !w.to.IsZero() && !t.Before(w.to):
		w.stop.Store(true)
		return false
	case w.opts.Calls > 0 && w.measured >= w.opts.Calls:
		return false
	}
	w.measured++
	w.last = t
	if w.opts.Calls > 0 && w.measured == w.opts.Calls {
		w.stop.Store(true)
	}
	return true
}

// more says whether a client may start another call at t.
func (w *window) more(t time.Time) bool {
	if w.stop.Load() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.to.IsZero() || t.Before(w.to)
}

// closed runs opts.Clients clients that each call, wait for the answer and
// call again until the window has its calls or its time.
func closed[T any](ctx context.Context, opts Options, call Func[T]) *Result[T] {
	clock := opts.Clock
	w := &window{opts: opts, start: clock.Now()}
	if opts.WarmupTime > 0 {
		w.from = w.start.Add(opts.WarmupTime)
	} else if opts.Warmup == 0 {
		w.opened(w.start)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	tallies := make([]tally[T], opts.Clients)
	var wg sync.WaitGroup
	for c := range tallies {
		t := &tallies[c]
		delay := opts.Ramp * time.Duration(c) / time.Duration(opts.Clients)
		wg.Go(func() {
			if !clock.SleepUntil(ctx, w.start.Add(delay)) {
				return
			}
			for ctx.Err() == nil && w.more(clock.Now()) {
				i := int(next.Add(1) - 1)
				sent := clock.Now()
				v, err := call(ctx, i)
				done := clock.Now()
				if w.ended(done) {
					t.add(v, err, done.Sub(sent))
				}
			}
		})
	}
	if opts.Mark != nil {
		marks(ctx, clock, w, opts.Mark)
	}
	wg.Wait()
	res := &Result[T]{Window: opts.Duration}
	if opts.Calls > 0 && w.measured == opts.Calls && w.open {
		res.Window = w.last.Sub(w.from)
	}
	for i := range tallies {
		res.merge(&tallies[i])
	}
	return res
}

// marks calls mark as the closed loop's timed window opens and closes.
func marks(ctx context.Context, clock Clock, w *window, mark func(bool)) {
	from := w.start.Add(w.opts.WarmupTime)
	if !clock.SleepUntil(ctx, from) {
		return
	}
	mark(true)
	if clock.SleepUntil(ctx, from.Add(w.opts.Duration)) {
		mark(false)
	}
}
