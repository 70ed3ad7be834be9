package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/inert"
)

// LogLine is a line a node's tool logged while the node ran: a Wasm
// guest's log call, a line a Python tool printed, a record a native tool
// logged with the context of its call.
type LogLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	// Attrs are the record's attributes but the plugin and tool, which
	// the node names: a Python line's stream, say.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Bounds on the lines a run keeps of one node: lines past maxNodeLogLines
// are counted in a last line, and each is cut at maxLogMessage bytes.
const (
	maxNodeLogLines = 100
	maxLogMessage   = 4 << 10
	maxLogAttrs     = 16 // of a line from elsewhere (a pool's worker)
)

// nodeLog gathers the lines of one node's calls.
type nodeLog struct {
	mu      sync.Mutex
	lines   []LogLine
	dropped int
}

type nodeLogKey struct{}

// withNodeLog returns ctx carrying l, for the handler of CaptureNodeLogs
// to find the records of the node's tool in.
func withNodeLog(ctx context.Context, l *nodeLog) context.Context {
	return context.WithValue(ctx, nodeLogKey{}, l)
}

func (l *nodeLog) add(rec slog.Record, attrs []slog.Attr) {
	line := LogLine{Time: rec.Time, Level: rec.Level.String(), Message: inert.Text(rec.Message, maxLogMessage)}
	keep := func(a slog.Attr) bool {
		if a.Key != "plugin" && a.Key != "tool" {
			if line.Attrs == nil {
				line.Attrs = map[string]string{}
			}
			line.Attrs[a.Key] = inert.Text(a.Value.Resolve().String(), maxLogMessage)
		}
		return true
	}
	for _, a := range attrs {
		keep(a)
	}
	rec.Attrs(keep)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= maxNodeLogLines {
		l.dropped++
		return
	}
	l.lines = append(l.lines, line)
}

// result returns the lines gathered, redacted by red, with a last line
// counting those over the bound.
func (l *nodeLog) result(red *Redactor) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return nil
	}
	out := make([]LogLine, len(l.lines), len(l.lines)+1)
	for i, line := range l.lines {
		line.Message = red.String(line.Message)
		for k, v := range line.Attrs {
			line.Attrs[k] = red.String(v)
		}
		out[i] = line
	}
	if l.dropped > 0 {
		last := out[len(out)-1]
		out = append(out, LogLine{Time: last.Time, Level: slog.LevelWarn.String(),
			Message: fmt.Sprintf("… %d more lines: a run keeps at most %d of a node", l.dropped, maxNodeLogLines)})
	}
	return out
}

// CaptureNodeLogs returns a slog.Handler that hands each record to h and,
// when the record was logged with the context of a node's call in a run
// that keeps its nodes' values (RunOptions.NodeValues), keeps it in that
// node's NodeResult.Logs, whatever level h lets through. Give plugin
// providers a logger over it for their tools' lines to reach a run
// record.
func CaptureNodeLogs(h slog.Handler) slog.Handler {
	return &captureHandler{h: h}
}

type captureHandler struct {
	h     slog.Handler
	attrs []slog.Attr // of WithAttrs, for the node's lines
}

func (c *captureHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return ctx.Value(nodeLogKey{}) != nil || c.h.Enabled(ctx, level)
}

func (c *captureHandler) Handle(ctx context.Context, rec slog.Record) error {
	if l, ok := ctx.Value(nodeLogKey{}).(*nodeLog); ok {
		l.add(rec, c.attrs)
		if !c.h.Enabled(ctx, rec.Level) {
			return nil
		}
	}
	return c.h.Handle(ctx, rec)
}

func (c *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &captureHandler{h: c.h.WithAttrs(attrs), attrs: append(c.attrs[:len(c.attrs):len(c.attrs)], attrs...)}
}

// WithGroup drops what it groups from the node's lines, which keep the
// record's own attributes.
func (c *captureHandler) WithGroup(name string) slog.Handler {
	return &captureHandler{h: c.h.WithGroup(name), attrs: c.attrs}
}
