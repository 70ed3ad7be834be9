package engine

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
)

// tmpl builds one JSON value of a run (a node's inputs, the flow's outputs)
// from the flow's literals and the encoded values of the run, without
// decoding them. Literal parts are encoded once, when the flow is loaded.
type tmpl struct {
	lit    []byte      // the whole value, when it holds no reference
	sel    *selector   // a typed reference: "${node.output.a}"
	parts  []part      // a string interpolating references
	fields []tmplField // an object with references inside
	items  []*tmpl     // a list with references inside
	kind   tmplKind
}

type tmplKind uint8

const (
	tmplLit tmplKind = iota
	tmplSel
	tmplInterp
	tmplObject
	tmplList
)

type tmplField struct {
	key []byte // `"name":`, encoded once
	val *tmpl
	// omit leaves the field out when val, one reference to a node, reads a
	// node that was bypassed: the input is then the tool's own default, as
	// prompt flow gives a Python parameter its default (SPEC.md §2.6). Set
	// for the inputs of a node that its tool's contract declares and does
	// not require.
	omit bool
}

type part struct {
	text string
	sel  *selector
}

// selector picks a value of the run: the flow's inputs (node < 0) or a
// node's outputs, then a path inside it; or a secret's value.
type selector struct {
	node  int
	steps []jsonscan.Step
	text  string // "${greet.output.text}", for messages
	val   []byte // a secret's value as a JSON string, for secretsNode
}

const (
	inputsNode = -1
	// dataNode selects from a batch line's columns, for the --map of a batch.
	dataNode = -2
	// secretsNode is a secret's value, known once the flow is loaded.
	secretsNode = -3
	// runNode selects from the same line of an earlier run, for the
	// ${run.outputs.x} of a batch's mapping (BatchOptions.Run).
	runNode = -4
)

// runValues is what a tmpl reads from: the run's inputs and the outputs of
// the nodes that finished (a nil output is a bypassed node), or the
// columns of a batch line and {"outputs":..,"inputs":..} of the same line
// in an earlier run.
type runValues struct {
	inputs  []byte
	outputs [][]byte
	data    []byte
	run     []byte
}

func (t *tmpl) append(dst []byte, rv *runValues) ([]byte, error) {
	switch t.kind {
	case tmplLit:
		return append(dst, t.lit...), nil
	case tmplSel:
		v, err := t.sel.value(rv)
		if err != nil {
			return dst, err
		}
		return append(dst, v...), nil
	case tmplInterp:
		var text []byte
		for _, p := range t.parts {
			if p.sel == nil {
				text = append(text, p.text...)
				continue
			}
			v, err := p.sel.value(rv)
			if err != nil {
				return dst, err
			}
			text = jsonscan.AppendText(text, v)
		}
		return jsonscan.AppendString(dst, string(text)), nil
	case tmplObject:
		dst = append(dst, '{')
		comma := false
		for _, f := range t.fields {
			if f.omit && rv.outputs[f.val.sel.node] == nil {
				continue
			}
			if comma {
				dst = append(dst, ',')
			}
			comma = true
			dst = append(dst, f.key...)
			var err error
			if dst, err = f.val.append(dst, rv); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	default: // tmplList
		dst = append(dst, '[')
		for i, item := range t.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = item.append(dst, rv); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
}

// size is an upper bound of the bytes append writes, so that a node's
// inputs are built in one allocation: a reference counts the whole document
// it selects from.
func (t *tmpl) size(rv *runValues) int {
	switch t.kind {
	case tmplLit:
		return len(t.lit)
	case tmplSel:
		return t.sel.size(rv)
	case tmplInterp:
		n := 2
		for _, p := range t.parts {
			if p.sel == nil {
				n += len(p.text)
			} else {
				n += p.sel.size(rv)
			}
		}
		// Escaping may grow text; leave room rather than grow the buffer.
		return n + n/8
	case tmplObject:
		n := 2
		for _, f := range t.fields {
			n += len(f.key) + f.val.size(rv) + 1
		}
		return n
	default:
		n := 2
		for _, it := range t.items {
			n += it.size(rv) + 1
		}
		return n
	}
}

func (s *selector) size(rv *runValues) int {
	switch s.node {
	case inputsNode:
		return len(rv.inputs)
	case dataNode:
		return len(rv.data)
	case runNode:
		return len(rv.run)
	case secretsNode:
		return len(s.val)
	}
	return max(len(rv.outputs[s.node]), len(null))
}

var null = []byte("null")

// value returns the selected value. A bypassed node yields null, and so does
// an input the caller left out; a path missing from a node's output is an
// error, since the node's contract promised it.
func (s *selector) value(rv *runValues) ([]byte, error) {
	if s.node == secretsNode {
		return s.val, nil
	}
	if s.node == dataNode || s.node == runNode {
		doc := rv.data
		if s.node == runNode {
			doc = rv.run
		}
		v, err := jsonscan.Select(doc, s.steps)
		var me *jsonscan.MissingError
		if s.node == dataNode && errors.As(err, &me) && me.At == 0 {
			return nil, fmt.Errorf("%s: the line has no column %q", s.text, s.steps[0].Key)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.text, err)
		}
		return v, nil
	}
	doc := rv.inputs
	if s.node != inputsNode {
		doc = rv.outputs[s.node]
		if doc == nil {
			return null, nil
		}
	}
	v, err := jsonscan.Select(doc, s.steps)
	if err != nil {
		if s.node == inputsNode {
			if _, missing := err.(*jsonscan.MissingError); missing {
				return null, nil
			}
		}
		return nil, fmt.Errorf("%s: %w", s.text, err)
	}
	return v, nil
}

// walk calls fn on each reference in t.
func (t *tmpl) walk(fn func(*selector)) {
	switch t.kind {
	case tmplSel:
		fn(t.sel)
	case tmplInterp:
		for _, p := range t.parts {
			if p.sel != nil {
				fn(p.sel)
			}
		}
	case tmplObject:
		for _, f := range t.fields {
			f.val.walk(fn)
		}
	case tmplList:
		for _, it := range t.items {
			it.walk(fn)
		}
	}
}

// literal reports whether t holds no reference.
func (t *tmpl) literal() bool { return t.kind == tmplLit }

func litTmpl(b []byte) *tmpl { return &tmpl{kind: tmplLit, lit: b} }

func stringLit(s string) *tmpl { return litTmpl(jsonscan.AppendString(nil, s)) }

func objectTmpl(fields []tmplField) *tmpl {
	for _, f := range fields {
		if !f.val.literal() {
			return &tmpl{kind: tmplObject, fields: fields}
		}
	}
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		b = append(b, f.val.lit...)
	}
	return litTmpl(append(b, '}'))
}

func listTmpl(items []*tmpl) *tmpl {
	for _, it := range items {
		if !it.literal() {
			return &tmpl{kind: tmplList, items: items}
		}
	}
	b := []byte{'['}
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.lit...)
	}
	return litTmpl(append(b, ']'))
}

func fieldKey(name string) []byte {
	return append(jsonscan.AppendString(nil, name), ':')
}

// refText prints a reference the way the user wrote it.
func refText(r ref.Ref) string { return "${" + r.String() + "}" }

func quote(s string) string { return strconv.Quote(s) }
