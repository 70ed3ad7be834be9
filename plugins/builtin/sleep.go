package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weirflow/weir/plugins"
)

type sleepIn struct {
	Duration string          `json:"duration" desc:"How long to wait, as a Go duration such as \"250ms\"."`
	Value    json.RawMessage `json:"value,omitempty" desc:"A value to pass through."`
}

type sleepOut struct {
	Value json.RawMessage `json:"value" desc:"The value passed in, or null."`
}

func sleepTool() plugins.Tool {
	return plugins.Func("sleep", "Waits for a duration, then passes its value through.", sleep)
}

func sleep(ctx context.Context, in sleepIn) (sleepOut, error) {
	d, err := time.ParseDuration(in.Duration)
	if err != nil {
		return sleepOut{}, plugins.Errorf(plugins.InvalidInput, "input \"duration\": %w", err)
	}
	if d < 0 {
		return sleepOut{}, plugins.Errorf(plugins.InvalidInput, "input \"duration\": %q is negative", in.Duration)
	}
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return sleepOut{}, fmt.Errorf("sleep %s: %w", in.Duration, ctx.Err())
		}
	}
	return sleepOut{Value: in.Value}, nil
}
