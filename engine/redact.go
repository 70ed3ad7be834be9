package engine

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Redacted is what stands in the place of a secret's value.
const Redacted = "***"

// Redactor replaces the values of secrets with Redacted wherever weir
// writes or sends text: run records, errors, logs, traces, the runtime
// server's answers. An Engine has one (Options.Redactor, Engine.Redactor),
// which learns the value of every secret of every flow the engine loads;
// the engine applies it to what runs and batches return, and to its spans.
// Programs apply it to the logs of their plugins with Handler.
//
// A value is found as it is, as a JSON string would escape it and as Go's
// %q would quote it. A tool that transforms a secret (encodes it, splits
// it) defeats it: see the README's Secrets section.
//
// A Redactor is safe for concurrent use; the nil *Redactor redacts nothing.
type Redactor struct {
	mu     sync.Mutex
	forms  []string                         // every form of every value, longest first
	active atomic.Pointer[strings.Replacer] // nil until a value is added
}

// NewRedactor returns a Redactor that knows no value yet.
func NewRedactor() *Redactor { return &Redactor{} }

// Add makes r redact value. Adding a value twice is harmless.
func (r *Redactor) Add(value string) {
	if value == "" {
		return
	}
	forms := []string{value, string(jsonscan.AppendString(nil, value)), strconv.Quote(value)}
	// The quoted forms without their quotes, for a value inside a longer string.
	forms[1], forms[2] = forms[1][1:len(forms[1])-1], forms[2][1:len(forms[2])-1]
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	// Longest first: a value that holds another is replaced whole.
	slices.SortStableFunc(r.forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(r.forms))
	for _, f := range r.forms {
		pairs = append(pairs, f, Redacted)
	}
	r.active.Store(strings.NewReplacer(pairs...))
}

func (r *Redactor) replacer() *strings.Replacer {
	if r == nil {
		return nil
	}
	return r.active.Load()
}

// String returns s with every secret value replaced.
func (r *Redactor) String(s string) string {
	rep := r.replacer()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Bytes returns b with every secret value replaced: b itself when it holds
// none, else a new slice.
func (r *Redactor) Bytes(b []byte) []byte {
	rep := r.replacer()
	if rep == nil || !r.contains(b) {
		return b
	}
	return []byte(rep.Replace(string(b)))
}

// contains reports whether b holds a form of a value.
func (r *Redactor) contains(b []byte) bool {
	if r.replacer() == nil {
		return false
	}
	r.mu.Lock()
	forms := r.forms
	r.mu.Unlock()
	for _, f := range forms {
		if bytes.Contains(b, []byte(f)) {
			return true
		}
	}
	return false
}

// Error returns err when its message holds no secret, else an error whose
// message is redacted and which wraps err, for errors.Is and errors.As.
func (r *Redactor) Error(err error) error {
	if err == nil || r.replacer() == nil {
		return err
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Handler returns a slog.Handler that redacts the message and the
// attributes of each record before h handles it.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &redactHandler{h: h, r: r}
}

type redactHandler struct {
	h slog.Handler
	r *Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	if h.r.replacer() == nil {
		return h.h.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.r.attr(a)
	}
	return &redactHandler{h: h.h.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: h.h.WithGroup(name), r: h.r}
}

func (r *Redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = r.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		s := fmt.Sprint(v.Any())
		if red := r.String(s); red != s {
			return slog.String(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// result redacts what a run returns: its outputs and those of its
// sub-flows. Node errors were redacted as they happened.
func (r *Redactor) result(res *Result) {
	if res == nil || r.replacer() == nil {
		return
	}
	res.Outputs = r.Bytes(res.Outputs)
	for _, sub := range res.Subflows {
		r.result(sub)
	}
}

// redactStream redacts text that arrives in pieces, such as the chunks of
// a streamed output, where a value may be cut between two pieces: it holds
// back the end of the text that could start a value until more comes, or
// until flush.
type redactStream struct {
	r    *Redactor
	emit func(string)
	buf  string
}

// stream returns a redactStream that emits to emit, or nil when r knows no
// value: the caller then emits as it is.
func (r *Redactor) stream(emit func(string)) *redactStream {
	if r.replacer() == nil {
		return nil
	}
	return &redactStream{r: r, emit: emit}
}

// write adds a piece and emits what no value can reach into any more.
func (s *redactStream) write(piece string) {
	s.buf += piece
	s.r.mu.Lock()
	forms := s.r.forms // longest first
	s.r.mu.Unlock()
	// A value that starts before keep ends inside buf: it is whole here.
	keep := len(s.buf) - (len(forms[0]) - 1)
	var out strings.Builder
	i := 0
	for i < keep {
		n := 0
		for _, f := range forms {
			if strings.HasPrefix(s.buf[i:], f) {
				n = len(f)
				break
			}
		}
		if n > 0 {
			out.WriteString(Redacted)
			i += n
			continue
		}
		out.WriteByte(s.buf[i])
		i++
	}
	s.buf = s.buf[i:]
	if out.Len() > 0 {
		s.emit(out.String())
	}
}

// flush emits what was held back.
func (s *redactStream) flush() {
	if s.buf != "" {
		s.emit(s.r.String(s.buf))
		s.buf = ""
	}
}
