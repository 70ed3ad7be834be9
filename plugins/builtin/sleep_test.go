package builtin

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestSleep(t *testing.T) {
	tool := toolNamed(t, "sleep", plugins.Grants{})
	for _, tc := range []struct{ in, want string }{
		{`{"duration":"1ms","value":{"a": [1, 2]}}`, `{"value":{"a":[1,2]}}`},
		{`{"duration":"0s"}`, `{"value":null}`},
		{`{"duration":"1us","value":"x"}`, `{"value":"x"}`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			out, err := call(t, tool, tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out)
		})
	}
}

func TestSleepErrors(t *testing.T) {
	tool := toolNamed(t, "sleep", plugins.Grants{})
	for _, tc := range []struct{ in, want string }{
		{`{"duration":"soon"}`, `input "duration": time: invalid duration "soon"`},
		{`{}`, `input "duration": time: invalid duration ""`},
		{`{"duration":5}`, `input "duration": want string, got number`},
		{`{"duration":"-1s"}`, `input "duration": "-1s" is negative`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := call(t, tool, tc.in)
			require.EqualError(t, err, tc.want)
			assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
		})
	}
}

// A long sleep must end as soon as the context does; the test would hang,
// not flake, if it did not.
func TestSleepContext(t *testing.T) {
	tool := toolNamed(t, "sleep", plugins.Grants{})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := callCtx(t, ctx, tool, `{"duration":"1h"}`)
	require.EqualError(t, err, "sleep 1h: context canceled")
	assert.True(t, errors.Is(err, context.Canceled))

	ctx, cancel = context.WithTimeout(context.Background(), 0)
	defer cancel()
	_, err = callCtx(t, ctx, tool, `{"duration":"1h"}`)
	require.EqualError(t, err, "sleep 1h: context deadline exceeded")
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
}
