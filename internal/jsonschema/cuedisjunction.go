package jsonschema

import (
	"reflect"
	"slices"

	"cuelang.org/go/cue"
)

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

func appendUnique(values []any, x any) []any {
	for _, v := range values {
		if reflect.DeepEqual(v, x) {
			return values
		}
	}
	return append(values, x)
}
