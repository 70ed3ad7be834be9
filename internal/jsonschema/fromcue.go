package jsonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encode json schema: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// node is one JSON Schema object under construction.
type node = map[string]any

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

// kindTypes returns the JSON types of the CUE kinds in k.
func kindTypes(v cue.Value, k cue.Kind) ([]string, error) {
	if k&cue.BytesKind != 0 {
		return nil, unsupported(v, "JSON has no bytes, use string")
	}
	var types []string
	if k&cue.NullKind != 0 {
		types = append(types, "null")
	}
	if k&cue.BoolKind != 0 {
		types = append(types, "boolean")
	}
	switch k & cue.NumberKind {
	case cue.IntKind:
		types = append(types, "integer")
	case cue.FloatKind, cue.NumberKind:
		// JSON does not tell 1 from 1.0 once decoded: float is any number.
		types = append(types, "number")
	}
	if k&cue.StringKind != 0 {
		types = append(types, "string")
	}
	if k&cue.ListKind != 0 {
		types = append(types, "array")
	}
	if k&cue.StructKind != 0 {
		types = append(types, "object")
	}
	slices.Sort(types)
	return types, nil
}

// typeValue is the "type" keyword for types: a string when there is one.
func typeValue(types []string) any {
	if len(types) == 1 {
		return types[0]
	}
	return types
}

// typeList reads a "type" keyword back.
func typeList(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	}
	return nil
}

func (c *converter) bound(v cue.Value, op cue.Op, arg cue.Value) (node, error) {
	num, ok := numberJSON(arg)
	switch {
	case !ok && arg.IncompleteKind()&^cue.NumberKind == 0:
		return nil, unsupported(v, "a bound must be a number, not a reference to another field")
	case !ok:
		return nil, unsupported(v, "only numbers can be bounded")
	}
	key := map[cue.Op]string{
		cue.LessThanOp:         "exclusiveMaximum",
		cue.LessThanEqualOp:    "maximum",
		cue.GreaterThanOp:      "exclusiveMinimum",
		cue.GreaterThanEqualOp: "minimum",
	}[op]
	return node{"type": "number", key: num}, nil
}

func (c *converter) notEqual(v, arg cue.Value) (node, error) {
	j, ok := concreteJSON(arg)
	if !ok {
		return nil, unsupported(v, "")
	}
	n := node{"not": node{"const": j}}
	switch arg.Kind() {
	case cue.StringKind:
		n["type"] = "string"
	case cue.IntKind, cue.FloatKind:
		n["type"] = "number"
	case cue.NullKind:
	default:
		return nil, unsupported(v, "")
	}
	return n, nil
}

func (c *converter) regexp(v cue.Value, op cue.Op, arg cue.Value) (node, error) {
	re, err := arg.String()
	if err != nil || !arg.IsConcrete() {
		return nil, unsupported(v, "the regular expression must be a string literal")
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, unsupported(v, err.Error())
	}
	if op == cue.NotRegexMatchOp {
		return node{"type": "string", "not": node{"pattern": re}}, nil
	}
	return node{"type": "string", "pattern": re}, nil
}

// call translates the validators JSON Schema has a keyword for. The function
// is named by how CUE prints it, which is the package path and name whatever
// the import is called in the file.
func (c *converter) call(v cue.Value, args []cue.Value) (node, error) {
	name := fmt.Sprint(args[0])
	pos := args[0].Pos()
	type keyword struct{ typ, key string }
	kw, ok := map[string]keyword{
		"strings.MinRunes": {"string", "minLength"},
		"strings.MaxRunes": {"string", "maxLength"},
		"list.MinItems":    {"array", "minItems"},
		"list.MaxItems":    {"array", "maxItems"},
	}[name]
	if ok && len(args) == 2 {
		n, err := args[1].Int64()
		if err == nil && n >= 0 {
			return node{"type": kw.typ, kw.key: n}, nil
		}
	}
	// CUE prints this validator, which takes no arguments, with its ().
	if (name == "list.UniqueItems()" || name == "list.UniqueItems") && len(args) == 1 {
		return node{"type": "array", "uniqueItems": true}, nil
	}
	e := &UnsupportedError{Pos: pos, Constraint: fmt.Sprint(v), Hint: "use a type, a bound, a regular expression or a disjunction"}
	if len(args) == 2 {
		if s, err := args[1].String(); err == nil {
			switch name {
			case "strings.HasPrefix":
				e.Hint = "use a regular expression (=~" + strconv.Quote("^"+regexp.QuoteMeta(s)) + ")"
			case "strings.HasSuffix":
				e.Hint = "use a regular expression (=~" + strconv.Quote(regexp.QuoteMeta(s)+"$") + ")"
			case "strings.Contains":
				e.Hint = "use a regular expression (=~" + strconv.Quote(regexp.QuoteMeta(s)) + ")"
			}
		}
	}
	return nil, e
}

// disjunction translates a | b | c. Concrete alternatives become one enum,
// alternatives that only name types become one type list, the rest anyOf.
func (c *converter) disjunction(args []cue.Value, depth int) (node, error) {
	var branches []node
	for _, a := range args {
		n, err := c.expr(a, depth+1)
		if err != nil {
			return nil, err
		}
		if alts, ok := n["anyOf"].([]any); ok && len(n) == 1 {
			for _, a := range alts {
				branches = append(branches, a.(node))
			}
			continue
		}
		branches = append(branches, n)
	}
	var (
		values []any // from const and enum branches
		first  = -1  // index in others where the values go
		others []any
	)
	for _, b := range branches {
		if len(b) == 1 && hasKey(b, "const") {
			if first < 0 {
				first = len(others)
			}
			values = appendUnique(values, b["const"])
			continue
		}
		if len(b) == 1 && b["enum"] != nil {
			if first < 0 {
				first = len(others)
			}
			for _, x := range b["enum"].([]any) {
				values = appendUnique(values, x)
			}
			continue
		}
		others = append(others, b)
	}
	if len(others) == 0 {
		if len(values) == 1 {
			return node{"const": values[0]}, nil
		}
		return node{"enum": values}, nil
	}
	// int | null and int | string read best as a type list.
	if onlyTypes(others) && (len(values) == 0 || len(values) == 1 && values[0] == nil) {
		var types []string
		if len(values) == 1 {
			types = append(types, "null")
		}
		for _, o := range others {
			types = append(types, typeList(o.(node)["type"])...)
		}
		return node{"type": typeValue(normalizeTypes(types))}, nil
	}
	if len(values) > 0 {
		var vn node
		if len(values) == 1 {
			vn = node{"const": values[0]}
		} else {
			vn = node{"enum": values}
		}
		others = slices.Insert(others, first, any(vn))
	}
	return node{"anyOf": others}, nil
}

func hasKey(n node, k string) bool {
	_, ok := n[k]
	return ok
}

func onlyTypes(ns []any) bool {
	for _, n := range ns {
		if n := n.(node); len(n) != 1 || n["type"] == nil {
			return false
		}
	}
	return true
}

// normalizeTypes sorts and dedups types and drops integer next to number.
func normalizeTypes(types []string) []string {
	slices.Sort(types)
	types = slices.Compact(types)
	if slices.Contains(types, "number") {
		types = slices.DeleteFunc(types, func(t string) bool { return t == "integer" })
	}
	return types
}

func appendUnique(values []any, x any) []any {
	for _, v := range values {
		if reflect.DeepEqual(v, x) {
			return values
		}
	}
	return append(values, x)
}

// conjunction translates a & b & c by merging the keywords of each side.
func (c *converter) conjunction(v cue.Value, args []cue.Value, depth int) (node, error) {
	if v.Err() != nil {
		// A struct reaches here only when v is an error: otherwise its kind
		// sends it to object. Translating its conjuncts one by one would
		// close each of them against the fields of the others.
		for _, a := range args {
			if a.IncompleteKind()&cue.StructKind != 0 {
				return nil, invalid(v)
			}
		}
	}
	n := node{}
	for _, a := range args {
		an, err := c.expr(a, depth+1)
		if err != nil {
			return nil, err
		}
		if n, err = merge(n, an); err != nil {
			return nil, invalid(v)
		}
	}
	return n, nil
}

// mergeable are the keywords merge can combine when both sides have them.
var mergeable = map[string]func(a, b any) (any, bool){
	"type":             mergeTypes,
	"minimum":          func(a, b any) (any, bool) { return pickNumber(a, b, 1), true },
	"exclusiveMinimum": func(a, b any) (any, bool) { return pickNumber(a, b, 1), true },
	"minLength":        func(a, b any) (any, bool) { return pickNumber(a, b, 1), true },
	"minItems":         func(a, b any) (any, bool) { return pickNumber(a, b, 1), true },
	"minProperties":    func(a, b any) (any, bool) { return pickNumber(a, b, 1), true },
	"maximum":          func(a, b any) (any, bool) { return pickNumber(a, b, -1), true },
	"exclusiveMaximum": func(a, b any) (any, bool) { return pickNumber(a, b, -1), true },
	"maxLength":        func(a, b any) (any, bool) { return pickNumber(a, b, -1), true },
	"maxItems":         func(a, b any) (any, bool) { return pickNumber(a, b, -1), true },
	"maxProperties":    func(a, b any) (any, bool) { return pickNumber(a, b, -1), true },
	"uniqueItems":      func(a, b any) (any, bool) { return true, true },
	"default":          func(a, b any) (any, bool) { return a, true },
	"allOf":            func(a, b any) (any, bool) { return append(slices.Clone(a.([]any)), b.([]any)...), true },
	"const":            func(a, b any) (any, bool) { return a, reflect.DeepEqual(a, b) },
}

// merge returns the schema of a & b. Keywords on one side only, and the ones
// in mergeable, are merged; if any other keyword is on both sides, b goes
// whole into allOf, since keywords such as items and prefixItems, or
// properties and additionalProperties, only mean something together. It fails
// when the types have nothing in common.
func merge(a, b node) (node, error) {
	out := node{}
	for k, x := range a {
		out[k] = x
	}
	whole := false
	for k, y := range b {
		x, ok := out[k]
		if !ok {
			continue
		}
		f := mergeable[k]
		if f == nil {
			whole = true
			break
		}
		if _, ok := f(x, y); !ok {
			whole = true
			break
		}
	}
	if whole {
		// Types still merge, so that the result says what it is.
		if ta, tb := a["type"], b["type"]; ta != nil && tb != nil {
			t, ok := mergeTypes(ta, tb)
			if !ok {
				return nil, fmt.Errorf("no common type")
			}
			out["type"] = t
		}
		all, _ := out["allOf"].([]any)
		out["allOf"] = append(slices.Clone(all), any(b))
		return out, nil
	}
	for k, y := range b {
		x, ok := out[k]
		if !ok {
			out[k] = y
			continue
		}
		m, ok := mergeable[k](x, y)
		if !ok {
			return nil, fmt.Errorf("cannot merge %s", k)
		}
		out[k] = m
	}
	return out, nil
}

// mergeTypes intersects two "type" keywords; integer is a number.
func mergeTypes(a, b any) (any, bool) {
	var out []string
	for _, x := range typeList(a) {
		for _, y := range typeList(b) {
			switch {
			case x == y:
				out = append(out, x)
			case x == "integer" && y == "number", x == "number" && y == "integer":
				out = append(out, "integer")
			}
		}
	}
	out = normalizeTypes(out)
	if len(out) == 0 {
		return nil, false
	}
	return typeValue(out), true
}

// pickNumber returns the larger (sign 1) or smaller (sign -1) of two numbers
// held as json.Number or int64.
func pickNumber(a, b any, sign int) any {
	ra, rb := toRat(a), toRat(b)
	if ra == nil || rb == nil {
		return a
	}
	if ra.Cmp(rb)*sign >= 0 {
		return a
	}
	return b
}

func toRat(x any) *big.Rat {
	switch x := x.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return nil
		}
		return r
	case int64:
		return new(big.Rat).SetInt64(x)
	}
	return nil
}

// object translates a struct from its evaluated fields. op and args are v's
// expression, searched for validators among conjuncts, which are all errors:
// struct.MinFields(1) & {...} does not even evaluate in CUE v0.17, as the
// empty struct fails the validator.
func (c *converter) object(v cue.Value, op cue.Op, args []cue.Value, depth int) (node, error) {
	n := node{"type": "object"}
	props := node{}
	var required []string
	patterns := node{}
	var additional node // from [string]: T
	iter, err := v.Fields(cue.Optional(true), cue.Patterns(true))
	if err != nil {
		return nil, unsupported(v, err.Error())
	}
	for iter.Next() {
		sel := iter.Selector()
		if sel.ConstraintType() == cue.PatternConstraint {
			sub, err := c.expr(iter.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			p := sel.Pattern()
			pop, pargs := p.Expr()
			switch {
			case pop == cue.NoOp && p.IncompleteKind() == cue.StringKind && !p.IsConcrete():
				additional = sub
			case pop == cue.RegexMatchOp && pargs[0].IsConcrete():
				re, err := pargs[0].String()
				if err != nil {
					return nil, unsupported(p, "")
				}
				patterns[re] = sub
			default:
				return nil, &UnsupportedError{Pos: exprPos(p), Constraint: "[" + fmt.Sprint(p) + "]", Hint: "a field pattern must be string or a regular expression (=~\"...\")"}
			}
			continue
		}
		if !sel.IsString() {
			continue
		}
		name := sel.Unquoted()
		sub, err := c.value(iter.Value(), depth+1)
		if err != nil {
			return nil, err
		}
		props[name] = sub
		switch sel.ConstraintType() {
		case cue.OptionalConstraint:
		case cue.RequiredConstraint:
			required = append(required, name)
		default:
			if !hasKey(sub, "default") {
				required = append(required, name)
			}
		}
	}
	if len(props) > 0 {
		n["properties"] = props
	}
	if len(required) > 0 {
		n["required"] = required
	}
	if len(patterns) > 0 {
		n["patternProperties"] = patterns
	}
	switch {
	case additional != nil:
		if len(additional) > 0 {
			n["additionalProperties"] = additional
		}
	case v.LookupPath(cue.MakePath(cue.AnyString)).Exists():
		// Open: {...}.
	default:
		n["additionalProperties"] = false
	}
	if op == cue.AndOp {
		var err error
		if n, err = c.validators(v, n, args, depth); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// validators merges into n the validator calls among the conjuncts args.
func (c *converter) validators(v cue.Value, n node, args []cue.Value, depth int) (node, error) {
	for _, a := range args {
		op, sub := a.Expr()
		switch op {
		case cue.AndOp:
			var err error
			if n, err = c.validators(v, n, sub, depth+1); err != nil {
				return nil, err
			}
		case cue.CallOp:
			cn, err := c.call(a, sub)
			if err != nil {
				return nil, err
			}
			if n, err = merge(n, cn); err != nil {
				return nil, invalid(v)
			}
		}
	}
	return n, nil
}

// list translates [a, b, ...T] from its evaluated elements.
func (c *converter) list(v cue.Value, depth int) (node, error) {
	n := node{"type": "array"}
	iter, err := v.List()
	if err != nil {
		return nil, unsupported(v, err.Error())
	}
	var prefix []any
	for iter.Next() {
		sub, err := c.expr(iter.Value(), depth+1)
		if err != nil {
			return nil, err
		}
		prefix = append(prefix, sub)
	}
	if len(prefix) > 0 {
		n["prefixItems"] = prefix
		n["minItems"] = int64(len(prefix))
	}
	rest := v.LookupPath(cue.MakePath(cue.AnyIndex))
	switch {
	case rest.Exists():
		items, err := c.expr(rest, depth+1)
		if err != nil {
			return nil, err
		}
		if len(items) > 0 {
			n["items"] = items
		}
	case len(prefix) > 0:
		n["items"] = false
	default:
		n["maxItems"] = int64(0)
	}
	return n, nil
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
