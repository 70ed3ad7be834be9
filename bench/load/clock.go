package load

import (
	"context"
	"time"
)

// Clock is the time a load reads and waits on. Its methods are called
// from many goroutines at once.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once t has come, true, or once ctx is done, false.
	SleepUntil(ctx context.Context, t time.Time) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
