package jsonschema

import (
	"encoding/json"
	"fmt"
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
	"github.com/weirflow/weir/internal/jsonscan"
)

// maxDepth bounds the recursion of FromCUE through nested types and
// expressions; real input types are a few levels deep.
const maxDepth = 64

// UnsupportedError is returned by FromCUE for a CUE constraint that has no
// JSON Schema equivalent, such as strings.HasPrefix("x") or bytes.
type UnsupportedError struct {
	// Pos is where the constraint is written; it may be invalid (token.NoPos)
	// for constraints that come from no file.
	Pos token.Pos
	// Constraint is the constraint as CUE prints it.
	Constraint string
	// Hint says what to write instead; it may be empty.
	Hint string
}

func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("input type %s cannot be checked without CUE", strconv.Quote(e.Constraint))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	if e.Pos.IsValid() {
		msg = e.Pos.String() + ": " + msg
	}
	return msg
}

// FromCUE returns the JSON Schema (draft 2020-12) of the values v allows.
//
// v is normally a flow's inputs struct, before any data is unified with it.
// Structs are closed (additionalProperties: false) unless they declare
// [string]: T or ...; regular fields are required unless they have an
// explicit default (| *x); optional fields (x?:) are never required and
// required fields (x!:) always are. Bounds, !=, =~, !~, concrete values,
// disjunctions, conjunctions, lists, defaults, strings.MinRunes,
// strings.MaxRunes, list.MinItems, list.MaxItems and list.UniqueItems are
// translated; anything else is an [*UnsupportedError].
//
// The output is compact JSON with sorted object keys, the same bytes for the
// same v. CUE values are not safe for concurrent use: do not call FromCUE
// while other goroutines use v's cue.Context.
func FromCUE(v cue.Value) ([]byte, error) {
	if !v.Exists() {
		return nil, fmt.Errorf("translate cue to json schema: value does not exist")
	}
	n, err := (&converter{}).value(v, 0)
	if err != nil {
		return nil, err
	}
	return marshal(n)
}

// marshal encodes n compactly, with sorted keys (encoding/json sorts map keys)
// and without escaping <, > and &, which are common in patterns.
func marshal(n any) ([]byte, error) {
	b, err := jsonscan.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode json schema: %w", err)
	}
	return b, nil
}

// node is one JSON Schema object under construction.
type node = map[string]any

// converter translates CUE values to JSON Schema nodes. fromcue.go holds
// the walk over a value; cuetypes.go, cueconstraints.go, cuedisjunction.go,
// cueconjunction.go and cuestruct.go translate kinds, constraints, |, &,
// and structs and lists.
type converter struct{}

// value translates v where it stands for a whole value (a field, a list
// element, the root): unlike expr, it also records v's explicit default.
func (c *converter) value(v cue.Value, depth int) (node, error) {
	n, err := c.expr(v, depth)
	if err != nil {
		return nil, err
	}
	if hasExplicitDefault(v, depth) {
		if d, ok := v.Default(); ok {
			if j, ok := concreteJSON(d); ok {
				n["default"] = j
			}
		}
	}
	return n, nil
}

// hasExplicitDefault reports whether v's default was written with a *.
//
// cue.Value.Default is not enough: in CUE v0.17 an open list such as
// [...string] has an implicit default ([]), and [int, ...string] even a
// non-concrete one ([int]). Expr, on the other hand, drops the * marks from
// disjunctions, and drops a default altogether when another disjunct subsumes
// it: int | *1 comes back as NoOp with the single argument int. So a default
// is explicit when it shows up on a disjunction, or on a NoOp whose argument
// is not v itself, found through conjunctions and references.
func hasExplicitDefault(v cue.Value, depth int) bool {
	if depth > maxDepth {
		return false
	}
	op, args := v.Expr()
	switch op {
	case cue.OrOp:
		_, ok := v.Default()
		return ok
	case cue.NoOp:
		if len(args) == 1 && args[0] != v {
			_, ok := v.Default()
			return ok
		}
	case cue.AndOp:
		for _, a := range args {
			if hasExplicitDefault(a, depth+1) {
				return true
			}
		}
	case cue.SelectorOp, cue.IndexOp:
		if d := cue.Dereference(v); d != v {
			return hasExplicitDefault(d, depth+1)
		}
	}
	return false
}

// expr translates the constraint v stands for, without its default.
func (c *converter) expr(v cue.Value, depth int) (node, error) {
	if depth > maxDepth {
		return nil, unsupported(v, "it is nested too deeply")
	}
	if isConcreteScalar(v) {
		return c.concrete(v)
	}
	op, args := v.Expr()
	if op == cue.NoOp && len(args) == 1 && args[0] != v {
		// A disjunction whose default is subsumed by its other side: int | *1.
		return c.expr(args[0], depth+1)
	}
	switch op {
	case cue.OrOp:
		return c.disjunction(args, depth)
	case cue.CallOp:
		return c.call(v, args)
	}
	if v.IncompleteKind() == cue.StructKind {
		// The evaluated struct already holds every field of every conjunct
		// and of referenced definitions; only validators need the expression.
		return c.object(v, op, args, depth)
	}
	switch op {
	case cue.NoOp:
		return c.leaf(v, depth)
	case cue.AndOp:
		return c.conjunction(v, args, depth)
	case cue.LessThanOp, cue.LessThanEqualOp, cue.GreaterThanOp, cue.GreaterThanEqualOp:
		return c.bound(v, op, args[0])
	case cue.NotEqualOp:
		return c.notEqual(v, args[0])
	case cue.RegexMatchOp, cue.NotRegexMatchOp:
		return c.regexp(v, op, args[0])
	case cue.InterpolationOp:
		return nil, unsupported(v, "it is computed from other values")
	case cue.SelectorOp, cue.IndexOp:
		if d := cue.Dereference(v); d != v {
			return c.expr(d, depth+1)
		}
	}
	return nil, unsupported(v, "")
}

func isConcreteScalar(v cue.Value) bool {
	switch v.Kind() {
	case cue.NullKind, cue.BoolKind, cue.IntKind, cue.FloatKind, cue.StringKind:
		return v.IsConcrete()
	}
	return false
}

func (c *converter) concrete(v cue.Value) (node, error) {
	j, ok := concreteJSON(v)
	if !ok {
		return nil, unsupported(v, "")
	}
	return node{"const": j}, nil
}

// leaf translates a value that is no expression: a basic type (string, int,
// _), a list, or bottom.
func (c *converter) leaf(v cue.Value, depth int) (node, error) {
	k := v.IncompleteKind()
	switch k {
	case cue.TopKind:
		return node{}, nil
	case cue.ListKind:
		return c.list(v, depth)
	case cue.BottomKind:
		return nil, invalid(v)
	}
	types, err := kindTypes(v, k)
	if err != nil {
		return nil, err
	}
	return node{"type": typeValue(types)}, nil
}

// concreteJSON returns v as a decoded JSON value (json.Number for numbers),
// or false when v is not concrete.
func concreteJSON(v cue.Value) (any, bool) {
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, false
	}
	x, err := Decode(b)
	if err != nil {
		return nil, false
	}
	return x, true
}

func numberJSON(v cue.Value) (json.Number, bool) {
	switch v.Kind() {
	case cue.IntKind, cue.FloatKind:
	default:
		return "", false
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return "", false
	}
	return json.Number(b), true
}

func unsupported(v cue.Value, hint string) *UnsupportedError {
	return &UnsupportedError{Pos: exprPos(v), Constraint: fmt.Sprint(v), Hint: hint}
}

// invalid is the error for a type no value can satisfy, which CUE itself
// reports when the flow is loaded.
func invalid(v cue.Value) error {
	p := exprPos(v)
	err := v.Err()
	if ps := cueerrors.Positions(err); len(ps) > 0 && ps[0].IsValid() {
		p = ps[0]
	}
	pos := ""
	if p.IsValid() {
		pos = p.String() + ": "
	}
	if err != nil {
		return fmt.Errorf("%sinvalid input type: %w", pos, err)
	}
	return fmt.Errorf("%sinput type %s has no valid value", pos, strconv.Quote(fmt.Sprint(v)))
}

// exprPos is where v's expression starts: for the value of a field, v.Pos()
// is the field's label, which is not what a reader looks for.
func exprPos(v cue.Value) token.Pos {
	if f, ok := v.Source().(*ast.Field); ok && f.Value != nil && f.Value.Pos().IsValid() {
		return f.Value.Pos()
	}
	return v.Pos()
}

var _ error = (*UnsupportedError)(nil)
