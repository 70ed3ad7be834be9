package jsonschema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"

	"cuelang.org/go/cue"
)

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
