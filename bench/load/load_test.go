package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	ten := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 1, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		// Nearest rank: the smallest value with at least p% at or below it.
		{ten, 50, 5 * time.Millisecond},
		{ten, 51, 6 * time.Millisecond},
		{ten, 90, 9 * time.Millisecond},
		{ten, 99, 10 * time.Millisecond},
		{ten, 100, 10 * time.Millisecond},
		{ten, 0.001, time.Millisecond},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Percentile(tc.sorted, tc.p), "p%v of %v", tc.p, tc.sorted)
	}
	assert.Equal(t, 5500*time.Microsecond, Mean(ten))
	assert.Equal(t, time.Duration(0), Mean(nil))
}

func TestOptionsErrors(t *testing.T) {
	call := func(context.Context, int) (int, error) { return 0, nil }
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Calls: 1}, "load needs at least 1 client"},
		{Options{Clients: 1}, "load needs a number of calls or a duration, to end by itself"},
		{Options{Clients: 1, Calls: 1, Rate: -1}, "load's rate must be positive and finite"},
		{Options{Clients: 1, Calls: 1, Warmup: -1}, "load's warm-up and ramp must not be negative"},
		{Options{Clients: 1, Calls: 1, Mark: func(bool) {}}, "load's Mark needs a closed loop with a Duration, no Calls and no Warmup"},
	}
	for _, tc := range tests {
		_, err := Run(context.Background(), tc.opts, call)
		assert.EqualError(t, err, tc.want)
	}
}

// TestClosedCalls counts calls: the warm-up's are left out, the measured
// ones are exactly Calls, and failures are counted apart from latencies.
func TestClosedCalls(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var made []int
	res, err := Run(context.Background(), Options{Clients: 1, Warmup: 2, Calls: 4}, func(_ context.Context, i int) (int, error) {
		mu.Lock()
		made = append(made, i)
		mu.Unlock()
		if i%2 == 1 {
			return i, fmt.Errorf("call %d failed", i)
		}
		return i, nil
	})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, made, "one client makes the warm-up's calls and the measured ones, no more")
	assert.Equal(t, []int{2, 3, 4, 5}, res.Values)
	assert.Len(t, res.Latencies, 2)
	assert.Equal(t, 2, res.Errors)
	assert.EqualError(t, res.FirstErr, "call 3 failed")
	assert.True(t, slices.IsSorted(res.Latencies))
}

// TestClosedClients makes calls from many clients at once: exactly Calls
// are measured, each call number once.
func TestClosedClients(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), Options{Clients: 8, Warmup: 8, Calls: 100}, func(_ context.Context, i int) (int, error) {
		return i, nil
	})
	require.NoError(t, err)
	assert.Len(t, res.Values, 100)
	assert.Len(t, res.Latencies, 100)
	slices.Sort(res.Values)
	assert.Len(t, slices.Compact(res.Values), 100, "a call number measured twice")
	assert.Positive(t, res.Window)
}

// fakeClock is a clock that moves only when the test sets it.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	tick chan struct{} // closed when now moves
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tick: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) bool {
	for {
		c.mu.Lock()
		now, tick := c.now, c.tick
		c.mu.Unlock()
		if !now.Before(t) {
			return true
		}
		select {
		case <-tick:
		case <-ctx.Done():
			return false
		}
	}
}

// set moves the clock to ms milliseconds after its start, never back.
func (c *fakeClock) set(ms int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = later(c.now, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms)*time.Millisecond))
	close(c.tick)
	c.tick = make(chan struct{})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestClosedWindow times the window: calls that end in the warm-up or
// after the window are left out, and Mark is called as it opens and closes.
func TestClosedWindow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var mu sync.Mutex
	var marks []bool
	mark := func(open bool) {
		mu.Lock()
		defer mu.Unlock()
		marks = append(marks, open)
	}
	opts := Options{Clients: 1, WarmupTime: 10 * time.Millisecond, Duration: 30 * time.Millisecond, Mark: mark, Clock: clock}
	res, err := Run(context.Background(), opts, func(_ context.Context, i int) (int, error) {
		// Each call takes 4 ms: it ends at 4, 8, 12... ms.
		clock.set(4 * (i + 1))
		return i, nil
	})
	require.NoError(t, err)
	// 4 and 8 end in the warm-up, 12 to 36 in the window [10, 40), 40 after.
	assert.Equal(t, []int{2, 3, 4, 5, 6, 7, 8}, res.Values)
	assert.Equal(t, 30*time.Millisecond, res.Window)
	assert.Equal(t, slices.Repeat([]time.Duration{4 * time.Millisecond}, 7), res.Latencies)
	assert.Equal(t, []bool{true, false}, marks)
}

// TestOpenLoop runs an open loop of 3 calls due every 10 ms with one call
// in flight at most, the first of which stalls for 50 ms: the calls behind
// it count from when they were due, not from when they could be sent.
func TestOpenLoop(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	started := make(chan int)
	release := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	type out struct {
		res *Result[int]
		err error
	}
	done := make(chan out)
	go func() {
		res, err := Run(context.Background(), Options{Clients: 1, Rate: 100, Calls: 3, Clock: clock}, func(_ context.Context, i int) (int, error) {
			started <- i
			<-release[i]
			return i, nil
		})
		done <- out{res, err}
	}()
	require.Equal(t, 0, <-started) // due at 0
	clock.set(50)                  // call 1 is due at 10 ms and waits for call 0
	close(release[0])              // call 0 ends at 50 ms
	require.Equal(t, 1, <-started)
	clock.set(55)
	close(release[1]) // call 1 ends at 55 ms, 45 ms after it was due
	require.Equal(t, 2, <-started)
	clock.set(56)
	close(release[2]) // call 2 ends at 56 ms, 36 ms after it was due
	o := <-done
	require.NoError(t, o.err)
	assert.Equal(t, []time.Duration{36 * time.Millisecond, 45 * time.Millisecond, 50 * time.Millisecond}, o.res.Latencies)
	assert.ElementsMatch(t, []int{0, 1, 2}, o.res.Values)
	assert.Equal(t, 56*time.Millisecond, o.res.Window)
}

// TestOpenWarmup leaves the calls of an open loop's warm-up out, and bounds
// the measured ones by the window's time as well as by Calls.
func TestOpenWarmup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts Options
		want []int
	}{
		// 1000 calls/s: a 3 ms warm-up is 3 calls, a 5 ms window 5 calls.
		{Options{Clients: 4, Rate: 1000, WarmupTime: 3 * time.Millisecond, Duration: 5 * time.Millisecond}, []int{3, 4, 5, 6, 7}},
		{Options{Clients: 4, Rate: 1000, Warmup: 2, Calls: 3, Duration: time.Second}, []int{2, 3, 4}},
	}
	for _, tc := range tests {
		clock := newFakeClock()
		tc.opts.Clock = clock
		// The call moves the clock to when the next one is due, as if each
		// took 1 ms.
		res, err := Run(context.Background(), tc.opts, func(_ context.Context, i int) (int, error) {
			clock.set(i + 1)
			return i, nil
		})
		require.NoError(t, err)
		slices.Sort(res.Values)
		assert.Equal(t, tc.want, res.Values)
	}
}

// TestCanceled returns the context's cause once the calls in flight end.
func TestCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(context.Background())
	_, err := Run(ctx, Options{Clients: 2, Duration: time.Hour}, func(ctx context.Context, i int) (int, error) {
		if i == 1 {
			cancel(errors.New("stopped by the test"))
		}
		<-ctx.Done()
		return i, ctx.Err()
	})
	assert.EqualError(t, err, "load: stopped by the test")
}
