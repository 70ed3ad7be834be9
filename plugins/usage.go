package plugins

import (
	"cmp"
	"context"
)

// Usage is what one call of a metered service cost a tool: the tokens of a
// model, for an LLM call. Tools report it with ReportUsage; the engine adds
// it to the node's result, its trace span and the server's metrics.
type Usage struct {
	// Provider names the service as OpenTelemetry's GenAI conventions do
	// ("openai", "azure.ai.openai"), when known.
	Provider string `json:"provider,omitempty"`
	// Operation is the kind of call ("chat", "text_completion").
	Operation string `json:"operation,omitempty"`
	// RequestModel is the model or deployment the call asked for; Model is
	// the one the service answered with.
	RequestModel string `json:"request_model,omitempty"`
	Model        string `json:"model,omitempty"`
	// InputTokens and OutputTokens are the prompt's and the answer's tokens.
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Add returns the sum of u and v: the tokens add up, and the names are v's
// where v has them, else u's.
func (u Usage) Add(v Usage) Usage {
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
	u.Provider = cmp.Or(v.Provider, u.Provider)
	u.Operation = cmp.Or(v.Operation, u.Operation)
	u.RequestModel = cmp.Or(v.RequestModel, u.RequestModel)
	u.Model = cmp.Or(v.Model, u.Model)
	return u
}

// Metered is a Tool whose calls report their usage with ReportUsage. The
// engine listens for reports only around the calls of Metered tools, so
// that the calls of other tools pay nothing for it.
type Metered interface {
	Tool
	// Metered marks the type; the engine never calls it.
	Metered()
}

type usageKey struct{}

// WithUsage returns a context whose ReportUsage calls report. The engine
// sets it around each call of a tool; report must be safe to call from the
// goroutines the tool reports from.
func WithUsage(ctx context.Context, report func(Usage)) context.Context {
	return context.WithValue(ctx, usageKey{}, report)
}

// ReportUsage tells whoever runs the tool what a call of a metered service
// cost. A tool calls it once per call it makes, after the call; it does
// nothing when nobody listens (a tool called outside the engine, or one
// that is not Metered).
func ReportUsage(ctx context.Context, u Usage) {
	if report, ok := ctx.Value(usageKey{}).(func(Usage)); ok && report != nil {
		report(u)
	}
}
