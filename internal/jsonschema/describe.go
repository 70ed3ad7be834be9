package jsonschema

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
)

// keywords holds the keywords of a JSON Schema that Fields and TypeName
// read.
type keywords struct {
	Ref                  string            `json:"$ref"`
	Type                 json.RawMessage   `json:"type"`
	Const                json.RawMessage   `json:"const"`
	Enum                 []json.RawMessage `json:"enum"`
	AnyOf                []json.RawMessage `json:"anyOf"`
	OneOf                []json.RawMessage `json:"oneOf"`
	Items                json.RawMessage   `json:"items"`
	Properties           json.RawMessage   `json:"properties"`
	Required             []string          `json:"required"`
	AdditionalProperties json.RawMessage   `json:"additionalProperties"`
}

// Fields lists the properties of an object schema for people, in the order
// the schema has them, as name:type (see TypeName), with mark after the
// required ones: "name:string*, times:integer". An object without
// properties is "(none)" when it allows no other fields and "(any)"
// otherwise. It reads raw as it is, without compiling it, and never fails:
// what it cannot read is "(any)".
func Fields(raw []byte, mark string) string {
	var s keywords
	if json.Unmarshal(raw, &s) != nil {
		return "(any)"
	}
	names, schemas := orderedObject(s.Properties)
	if len(names) == 0 {
		if string(bytes.TrimSpace(s.AdditionalProperties)) == "false" {
			return "(none)"
		}
		return "(any)"
	}
	list := make([]string, len(names))
	for i, n := range names {
		list[i] = n + ":" + TypeName(schemas[i])
		if slices.Contains(s.Required, n) {
			list[i] += mark
		}
	}
	return strings.Join(list, ", ")
}

// TypeName names the type a schema allows, for people: a JSON type
// ("string", "integer"), []T for an array ([](a|b) when T is a union), a union as a|b, the values of an
// enum, the name of a $defs entry, or "any". It reads raw as it is, without
// compiling it, and never fails: what it cannot read is "any".
func TypeName(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "true", "{}":
		return "any"
	case "false":
		return "none"
	}
	var s keywords
	if json.Unmarshal(raw, &s) != nil {
		return "any"
	}
	switch {
	case s.Const != nil:
		return compactText(s.Const)
	case len(s.Enum) > 0:
		values := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			values[i] = compactText(v)
		}
		return strings.Join(values, "|")
	case len(s.AnyOf) > 0 || len(s.OneOf) > 0:
		var alts []string
		for _, a := range append(s.AnyOf, s.OneOf...) {
			alts = append(alts, TypeName(a))
		}
		return strings.Join(alts, "|")
	case s.Ref != "":
		if i := strings.LastIndex(s.Ref, "/"); i >= 0 && i < len(s.Ref)-1 {
			return s.Ref[i+1:] // a $defs entry
		}
		return "object"
	}
	var types []string
	if json.Unmarshal(s.Type, &types) != nil {
		var one string
		if json.Unmarshal(s.Type, &one) == nil {
			types = []string{one}
		}
	}
	if len(types) == 0 {
		if s.Properties != nil {
			return "object"
		}
		return "any"
	}
	// null last, as in string|null.
	slices.SortStableFunc(types, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "null":
			return 1
		case b == "null":
			return -1
		}
		return 0
	})
	for i, t := range types {
		if t == "array" {
			elem := TypeName(s.Items)
			if strings.Contains(elem, "|") {
				elem = "(" + elem + ")" // [](string|null), not []string|null
			}
			types[i] = "[]" + elem
		}
	}
	return strings.Join(types, "|")
}

// orderedObject returns the members of a JSON object in document order.
func orderedObject(raw []byte) ([]string, [][]byte) {
	var names []string
	var values [][]byte
	for k, v := range jsonscan.Members(raw) {
		var name string
		if json.Unmarshal(k, &name) != nil {
			return nil, nil
		}
		names = append(names, name)
		values = append(values, v)
	}
	return names, values
}

func compactText(raw []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}
