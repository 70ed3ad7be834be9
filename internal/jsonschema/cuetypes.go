package jsonschema

import (
	"slices"

	"cuelang.org/go/cue"
)

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

// normalizeTypes sorts and dedups types and drops integer next to number.
func normalizeTypes(types []string) []string {
	slices.Sort(types)
	types = slices.Compact(types)
	if slices.Contains(types, "number") {
		types = slices.DeleteFunc(types, func(t string) bool { return t == "integer" })
	}
	return types
}
