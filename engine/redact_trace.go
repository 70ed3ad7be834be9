package engine

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// TracerProvider returns a provider whose spans redact their names, string
// attributes, events and status before tp sees them. The engine wraps
// Options.TracerProvider so; a program wraps the provider it gives other
// parts of weir (the runtime server) the same way. The context a span
// starts returns the redacting span, so that plugins which add to the
// current span are redacted too.
func (r *Redactor) TracerProvider(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return nil
	}
	if rp, ok := tp.(*redactProvider); ok && rp.r == r {
		return tp
	}
	return &redactProvider{tp: tp, r: r}
}

type redactProvider struct {
	embedded.TracerProvider
	tp trace.TracerProvider
	r  *Redactor
}

func (p *redactProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &redactTracer{t: p.tp.Tracer(name, opts...), p: p}
}

type redactTracer struct {
	embedded.Tracer
	t trace.Tracer
	p *redactProvider
}

func (t *redactTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	r := t.p.r
	if r.replacer() != nil {
		cfg := trace.NewSpanStartConfig(opts...)
		opts = []trace.SpanStartOption{
			trace.WithAttributes(r.attrs(cfg.Attributes())...),
			trace.WithLinks(cfg.Links()...),
			trace.WithSpanKind(cfg.SpanKind()),
		}
		if !cfg.Timestamp().IsZero() {
			opts = append(opts, trace.WithTimestamp(cfg.Timestamp()))
		}
		if cfg.NewRoot() {
			opts = append(opts, trace.WithNewRoot())
		}
		name = r.String(name)
	}
	ctx, span := t.t.Start(ctx, name, opts...)
	rs := &redactSpan{Span: span, p: t.p}
	return trace.ContextWithSpan(ctx, rs), rs
}

// redactSpan is a span whose text passes through the redactor.
type redactSpan struct {
	trace.Span
	p *redactProvider
}

func (s *redactSpan) SetName(name string) { s.Span.SetName(s.p.r.String(name)) }

func (s *redactSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.Span.SetAttributes(s.p.r.attrs(kv)...)
}

func (s *redactSpan) SetStatus(code codes.Code, description string) {
	s.Span.SetStatus(code, s.p.r.String(description))
}

func (s *redactSpan) AddEvent(name string, opts ...trace.EventOption) {
	s.Span.AddEvent(s.p.r.String(name), s.p.r.eventOptions(opts)...)
}

func (s *redactSpan) RecordError(err error, opts ...trace.EventOption) {
	s.Span.RecordError(s.p.r.Error(err), s.p.r.eventOptions(opts)...)
}

// eventOptions rebuilds an event's options with its attributes redacted:
// an event keeps every attribute it is given, the original ones too.
func (r *Redactor) eventOptions(opts []trace.EventOption) []trace.EventOption {
	if r.replacer() == nil || len(opts) == 0 {
		return opts
	}
	cfg := trace.NewEventConfig(opts...)
	out := []trace.EventOption{trace.WithAttributes(r.attrs(cfg.Attributes())...), trace.WithStackTrace(cfg.StackTrace())}
	if !cfg.Timestamp().IsZero() {
		out = append(out, trace.WithTimestamp(cfg.Timestamp()))
	}
	return out
}

func (s *redactSpan) TracerProvider() trace.TracerProvider { return s.p }

// attrs returns kv with string values redacted.
func (r *Redactor) attrs(kv []attribute.KeyValue) []attribute.KeyValue {
	if r.replacer() == nil {
		return kv
	}
	out := make([]attribute.KeyValue, len(kv))
	for i, a := range kv {
		out[i] = a
		switch a.Value.Type() {
		case attribute.STRING:
			out[i] = attribute.String(string(a.Key), r.String(a.Value.AsString()))
		case attribute.STRINGSLICE:
			ss := a.Value.AsStringSlice()
			for j := range ss {
				ss[j] = r.String(ss[j])
			}
			out[i] = attribute.StringSlice(string(a.Key), ss)
		}
	}
	return out
}
