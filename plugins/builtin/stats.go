package builtin

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/weirflow/weir/plugins"
)

type statsIn struct {
	Values []json.RawMessage `json:"values" desc:"Numbers, numbers written as text, or booleans (true counts as 1); nulls are skipped. An aggregate node gets one per line."`
}

type statsOut struct {
	Count int     `json:"count" desc:"How many values were counted."`
	Sum   float64 `json:"sum"`
	Mean  float64 `json:"mean" desc:"Sum divided by count; 0 when count is 0. For booleans, the fraction that is true."`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

func statsTool() plugins.Tool {
	return plugins.Func("stats", "Counts, sums and averages a list of numbers: the metric of a batch's aggregate node.", stats)
}

func stats(_ context.Context, in statsIn) (statsOut, error) {
	var out statsOut
	out.Min, out.Max = math.Inf(1), math.Inf(-1)
	for i, raw := range in.Values {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return statsOut{}, plugins.Errorf(plugins.InvalidInput, "values[%d]: %v", i, err)
		}
		var x float64
		switch t := v.(type) {
		case nil:
			continue
		case bool:
			if t {
				x = 1
			}
		case float64:
			x = t
		case string:
			// Scores often arrive as text: from a template, a model, a CSV.
			f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil {
				return statsOut{}, plugins.Errorf(plugins.InvalidInput, "values[%d]: want a number, a boolean or null, got %s", i, raw)
			}
			x = f
		default:
			return statsOut{}, plugins.Errorf(plugins.InvalidInput, "values[%d]: want a number, a boolean or null, got %s", i, raw)
		}
		out.Count++
		out.Sum += x
		out.Min, out.Max = min(out.Min, x), max(out.Max, x)
	}
	if out.Count == 0 {
		out.Min, out.Max = 0, 0
		return out, nil
	}
	out.Mean = out.Sum / float64(out.Count)
	return out, nil
}
