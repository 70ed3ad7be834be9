package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/weirflow/weir/internal/jsonscan"
)

// EvalLiteral evaluates src, a Python literal: lists, tuples, dicts with
// string keys, strings, numbers, True, False and None, as in
// "[{'id': 'call_1', 'type': 'function'}]". Names, calls and operators
// other than a sign are errors, so nothing but the literal is evaluated.
func EvalLiteral(src string) (any, error) {
	l := &lexer{src: src}
	if err := l.inside(0, "", tEOF); err != nil {
		return nil, fmt.Errorf("read literal: %w", err)
	}
	p := &parser{src: src, toks: append(l.tokens, token{kind: tEOF, pos: len(src)})}
	x, err := p.parseExpr()
	if err != nil {
		return nil, fmt.Errorf("read literal: %w", err)
	}
	if err := p.expectKind(tEOF); err != nil {
		return nil, fmt.Errorf("read literal: %w", err)
	}
	if !isLiteral(x) {
		return nil, fmt.Errorf("read literal: not a literal")
	}
	r := &renderer{maxOut: defaultMaxOutput, itersLeft: defaultMaxIterations}
	return r.eval(x, &scope{vars: map[string]any{}})
}

func isLiteral(x expr) bool {
	switch x := x.(type) {
	case *literal:
		return true
	case *unaryExpr:
		_, ok := x.x.(*literal)
		return ok && x.op != "not"
	case *listExpr:
		for _, e := range x.items {
			if !isLiteral(e) {
				return false
			}
		}
		return true
	case *dictExpr:
		for i := range x.keys {
			if !isLiteral(x.keys[i]) || !isLiteral(x.vals[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// MarshalJSON writes v, one of the values templates work with, as compact
// JSON: dicts keep their order, tuples become arrays, Undefined is null.
// A float that JSON cannot hold (inf, nan) is an error.
func MarshalJSON(v any) ([]byte, error) {
	return appendJSON(nil, normalize(v))
}

func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil, Undefined:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case *big.Int:
		return v.Append(b, 10), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("write JSON: %s is not a JSON number", formatFloat(v))
		}
		return append(b, formatFloat(v)...), nil
	case string:
		return jsonscan.AppendString(b, v), nil
	case []any, Tuple, view:
		items, _ := iterate(v)
		b = append(b, '[')
		for i, e := range items {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case *Dict:
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, k)
			b = append(b, ':')
			if b, err = appendJSON(b, v.vals[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("write JSON: a %s is not a JSON value", typeName(v))
}
