package engine

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/plugins"
)

// OpenTelemetry's GenAI attributes, on the span of a node attempt whose
// tool reported usage (plugins.ReportUsage). gen_ai.system is the older
// name of gen_ai.provider.name; both are set, for the backends that know
// only one.
const (
	attrGenAIOperation     = attribute.Key("gen_ai.operation.name")
	attrGenAIProvider      = attribute.Key("gen_ai.provider.name")
	attrGenAISystem        = attribute.Key("gen_ai.system")
	attrGenAIRequestModel  = attribute.Key("gen_ai.request.model")
	attrGenAIResponseModel = attribute.Key("gen_ai.response.model")
	attrGenAIInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	attrGenAIOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
)

// usageSum adds up what the calls of one attempt reported.
type usageSum struct {
	mu  sync.Mutex
	u   plugins.Usage
	set bool
}

func (s *usageSum) add(u plugins.Usage) {
	s.mu.Lock()
	s.u, s.set = s.u.Add(u), true
	s.mu.Unlock()
}

// withUsage returns ctx with a usageSum to report to, for a tool that
// reports usage (plugins.Metered): listening costs a few allocations per
// call, which the calls of other tools do not pay.
func withUsage(ctx context.Context, n *node) (context.Context, *usageSum) {
	if _, ok := n.tool.(plugins.Metered); !ok {
		return ctx, nil
	}
	s := &usageSum{}
	return plugins.WithUsage(ctx, s.add), s
}

// endUsage adds an attempt's usage to the node's result and its span.
func (r *run) endUsage(n *node, s *usageSum, span trace.Span) {
	if s == nil {
		return
	}
	s.mu.Lock()
	u, set := s.u, s.set
	s.mu.Unlock()
	if !set {
		return
	}
	if span != nil {
		span.SetAttributes(
			attrGenAIOperation.String(u.Operation),
			attrGenAIProvider.String(u.Provider),
			attrGenAISystem.String(u.Provider),
			attrGenAIRequestModel.String(u.RequestModel),
			attrGenAIResponseModel.String(u.Model),
			attrGenAIInputTokens.Int64(u.InputTokens),
			attrGenAIOutputTokens.Int64(u.OutputTokens),
		)
	}
	// A node's usage is its attempts' together: a failed one may have
	// cost tokens too.
	nr := &r.nodes[n.index]
	if nr.Usage != nil {
		u = nr.Usage.Add(u)
	}
	nr.Usage = &u
}
