package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/weirflow/weir/internal/schemas"
)

func TestBackoff(t *testing.T) {
	p := schemas.Retry{Attempts: 6, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	// Doubling from Backoff, capped at MaxBackoff; jitter keeps the wait in
	// [d/2, d] so retries spread out but never come too soon.
	for attempt, full := range map[int]time.Duration{
		1: 100 * time.Millisecond,
		2: 200 * time.Millisecond,
		3: 400 * time.Millisecond,
		4: 800 * time.Millisecond,
		5: time.Second,
		9: time.Second,
	} {
		assert.Equal(t, full/2, backoff(p, attempt, 0), "attempt %d, no jitter", attempt)
		assert.Equal(t, full, backoff(p, attempt, 1), "attempt %d, full jitter", attempt)
		mid := backoff(p, attempt, 0.5)
		assert.True(t, mid > full/2 && mid < full, "attempt %d: %s", attempt, mid)
	}
}
