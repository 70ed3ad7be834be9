package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// Limits bound what one Render may do, so that a template fed hostile
// variables cannot take the process down. The zero value means the
// defaults.
type Limits struct {
	// MaxOutput caps the rendered text in bytes; default 4 MiB.
	MaxOutput int
	// MaxIterations caps the loop iterations of one Render, over all loops;
	// default 1,000,000.
	MaxIterations int
}

const (
	defaultMaxOutput     = 4 << 20
	defaultMaxIterations = 1_000_000
	// maxRange is jinja2's sandbox limit on range(): 100,000 items.
	maxRange = 100_000
)

// ErrLimit is wrapped by the errors of a Render that went past its Limits.
var ErrLimit = errors.New("limit exceeded")

// Error is a template error with where it happened. Line and Col count
// from 1 (Col in characters); Col is 0 when only the line is known.
type Error struct {
	Name      string
	Line, Col int
	Msg       string
	Err       error // the cause, for errors.Is (ErrLimit), or nil
}

// Error reads "NAME:LINE:COL: MSG".
func (e *Error) Error() string {
	if e.Col == 0 {
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Template is a parsed template. It is immutable, so one Template may
// render from many goroutines at once.
type Template struct {
	name   string
	src    string // line breaks normalized to "\n"
	body   []node
	Limits Limits
}

// Parse parses src, a Jinja2 template, as jinja2's
// SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True) reads
// it. Line breaks "\r\n" and "\r" become "\n", as jinja2 makes them. name
// is used in errors, which read "NAME:LINE:COL: message". Unknown filters
// and tests are errors here, not at Render, as in jinja2.
func Parse(name, src string) (*Template, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	t := &Template{name: name, src: src}
	toks, err := lex(src)
	if err != nil {
		return nil, t.wrap(err)
	}
	p := &parser{src: src, toks: toks}
	body, _, err := p.parseBody(token{})
	if err != nil {
		return nil, t.wrap(err)
	}
	t.body = body
	return t, nil
}

// Name is the name given to Parse.
func (t *Template) Name() string { return t.name }

// wrap gives a syntax or render error its position in the source.
func (t *Template) wrap(err error) error {
	var se *syntaxError
	if !errors.As(err, &se) {
		return &Error{Name: t.name, Line: 1, Msg: err.Error(), Err: err}
	}
	line, col := position(t.src, se.pos)
	var cause error
	if se.limit {
		cause = ErrLimit
	}
	return &Error{Name: t.name, Line: line, Col: col, Msg: se.msg, Err: cause}
}

// position turns a byte offset into a 1-based line and character column.
func position(src string, pos int) (line, col int) {
	pos = min(pos, len(src))
	before := src[:pos]
	line = strings.Count(before, "\n") + 1
	start := strings.LastIndexByte(before, '\n') + 1
	col = len([]rune(before[start:])) + 1
	return line, col
}

// Render renders the template with vars as its variables. Values may be
// what DecodeJSON returns (the faithful choice: dicts keep their order,
// 1 and 1.0 stay apart) or plain Go values decoded from JSON
// (map[string]any, []any, string, float64, json.Number, bool, nil, int);
// a map[string]any prints its keys sorted. Render does not modify vars.
//
// Errors carry the template's name and line, like Parse's; an error that
// wraps ErrLimit means a Limits bound was hit.
func (t *Template) Render(vars map[string]any) (string, error) {
	r := &renderer{t: t, maxOut: t.Limits.MaxOutput, itersLeft: t.Limits.MaxIterations}
	if r.maxOut <= 0 {
		r.maxOut = defaultMaxOutput
	}
	if r.itersLeft <= 0 {
		r.itersLeft = defaultMaxIterations
	}
	root := &scope{vars: make(map[string]any, len(vars))}
	for k, v := range vars {
		if c, ok := v.(ChatLists); ok {
			root.vars[k] = r.markLines(normalize(c.Value))
			continue
		}
		root.vars[k] = normalize(v)
	}
	if err := r.run(t.body, root); err != nil {
		return "", t.wrap(err)
	}
	return r.out.String(), nil
}
