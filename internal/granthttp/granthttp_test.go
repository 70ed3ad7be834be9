package granthttp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Without an input timeout, a limits.timeout or a deadline in the context,
// a request still has one: the default.
func TestBudget(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	plain := New("web", nil, 0)
	limited := New("web", nil, 3*time.Second)
	tests := []struct {
		name  string
		tool  *Client
		ctx   context.Context
		input time.Duration
		want  time.Duration
		limit string
	}{
		{"default", plain, context.Background(), 0, time.Minute, "the default 1m0s timeout"},
		{"context deadline", plain, ctx, 0, 0, ""},
		{"entry limit", limited, ctx, 0, 3 * time.Second, "the 3s timeout of plugins.web.limits"},
		{"input", limited, context.Background(), time.Second, time.Second, "the 1s timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, limit := tt.tool.budget(tt.ctx, tt.input)
			assert.Equal(t, tt.want, d)
			assert.Equal(t, tt.limit, limit)
		})
	}
}
