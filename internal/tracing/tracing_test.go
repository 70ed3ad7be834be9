package tracing

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weirflow/weir/plugins"
)

func TestTypeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "internal"},
		{plugins.Errorf(plugins.Retryable, "busy"), "retryable"},
		{fmt.Errorf("call: %w", plugins.Errorf(plugins.Limit, "too big")), "limit"},
		{plugins.Errorf(plugins.InvalidInput, "no"), "invalid_input"},
		{plugins.Errorf(plugins.Timeout, "slow"), "timeout"},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("wait: %w", context.Canceled), "canceled"},
	} {
		assert.Equal(t, c.want, TypeOf(c.err), c.err.Error())
	}
}
