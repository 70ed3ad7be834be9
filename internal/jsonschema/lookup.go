package jsonschema

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

// LookupResult is what a schema says about a path into its values.
type LookupResult int

const (
	// Unknown: the schema does not say whether the path can exist (no type,
	// open additionalProperties, alternatives that disagree, ...).
	Unknown LookupResult = iota
	// Exists: the schema describes the path; it may still be optional.
	Exists
	// Missing: no valid value has the path, because an object does not allow
	// that field, a list is too short, or a step goes into a value that is
	// neither object nor array.
	Missing
)

func (r LookupResult) String() string {
	switch r {
	case Unknown:
		return "unknown"
	case Exists:
		return "exists"
	case Missing:
		return "missing"
	}
	return fmt.Sprintf("LookupResult(%d)", int(r))
}

// Lookup follows path, made of field names (string) and list indexes (int),
// through the schema, as the engine does for ${node.output.a.b[0]}. For
// Exists it also returns the schema of the value at path (when several
// conjuncts describe it, the first of the schema itself, its $ref, its
// allOf); otherwise nil.
// An empty path is the schema itself. Lookup follows $ref and allOf; it
// reads anyOf and oneOf only to find that every alternative lacks the path.
// A path element of any other type is a programmer error and panics.
// Lookup is safe for concurrent use.
func (s *Schema) Lookup(path []any) (*Schema, LookupResult) {
	cur := s.s
	for _, el := range path {
		switch el.(type) {
		case string, int:
		default:
			panic(fmt.Sprintf("jsonschema: Lookup path element is %T, want string or int", el))
		}
		sub, res := step(cur, el)
		if res != Exists {
			return nil, res
		}
		cur = sub
	}
	return &Schema{s: cur, root: s.root}, Exists
}

// step looks el up in sch. Compile's bound on references bounds its
// recursion.
func step(sch *jsv.Schema, el any) (*jsv.Schema, LookupResult) {
	if sch.Bool != nil {
		if !*sch.Bool {
			return nil, Missing
		}
		return nil, Unknown
	}
	var found *jsv.Schema
	res := Unknown
	// Every one of sch itself, its $ref and its allOf must hold: one Missing
	// settles it, else the first Exists.
	combine := func(sub *jsv.Schema, r LookupResult) {
		if r == Exists && sub != nil && sub.Bool != nil && !*sub.Bool {
			r = Missing
		}
		switch {
		case r == Missing:
			res, found = Missing, nil
		case r == Exists && res == Unknown:
			res, found = Exists, sub
		}
	}
	combine(stepOwn(sch, el))
	if sch.Ref != nil {
		combine(step(sch.Ref, el))
	}
	for _, a := range sch.AllOf {
		combine(step(a, el))
	}
	// Alternatives settle it only when none of them has the path.
	for _, alts := range [][]*jsv.Schema{sch.AnyOf, sch.OneOf} {
		if len(alts) == 0 {
			continue
		}
		all := true
		for _, a := range alts {
			if _, r := step(a, el); r != Missing {
				all = false
				break
			}
		}
		if all {
			res, found = Missing, nil
		}
	}
	return found, res
}

// stepOwn looks el up in the keywords of sch alone.
func stepOwn(sch *jsv.Schema, el any) (*jsv.Schema, LookupResult) {
	types := ownTypes(sch)
	switch el := el.(type) {
	case string:
		if types != nil && !slices.Contains(types, "object") {
			return nil, Missing
		}
		if p, ok := sch.Properties[el]; ok {
			return p, Exists
		}
		for re, p := range sch.PatternProperties {
			if re.MatchString(el) {
				return p, Exists
			}
		}
		switch ap := sch.AdditionalProperties.(type) {
		case bool:
			if !ap {
				return nil, Missing
			}
		case *jsv.Schema:
			return ap, Exists
		}
	case int:
		if types != nil && !slices.Contains(types, "array") {
			return nil, Missing
		}
		if el < 0 || sch.MaxItems != nil && el >= *sch.MaxItems {
			return nil, Missing
		}
		if el < len(sch.PrefixItems) {
			return sch.PrefixItems[el], Exists
		}
		if sch.Items2020 != nil {
			return sch.Items2020, Exists
		}
		// Drafts before 2020-12.
		switch items := sch.Items.(type) {
		case *jsv.Schema:
			return items, Exists
		case []*jsv.Schema:
			if el < len(items) {
				return items[el], Exists
			}
			switch ai := sch.AdditionalItems.(type) {
			case bool:
				if !ai {
					return nil, Missing
				}
			case *jsv.Schema:
				return ai, Exists
			}
		}
	}
	return nil, Unknown
}

// Type returns the JSON types ("array", "boolean", "integer", "null",
// "number", "object", "string") a valid value may have, sorted, or nil when
// the schema does not say. "integer" is left out when "number" is there.
// It reads type, const and enum, and follows $ref, allOf, anyOf and oneOf.
func (s *Schema) Type() []string {
	return schemaTypes(s.s)
}

// schemaTypes is Type for sch. Compile's bound on references bounds its
// recursion.
func schemaTypes(sch *jsv.Schema) []string {
	if sch == nil || sch.Bool != nil {
		return nil
	}
	var set typeSet
	set.and(ownTypes(sch))
	set.and(schemaTypes(sch.Ref))
	for _, a := range sch.AllOf {
		set.and(schemaTypes(a))
	}
	for _, alts := range [][]*jsv.Schema{sch.AnyOf, sch.OneOf} {
		if len(alts) == 0 {
			continue
		}
		var union []string
		for _, a := range alts {
			t := schemaTypes(a)
			if t == nil {
				union = nil
				break
			}
			union = append(union, t...)
		}
		if union != nil {
			set.and(union)
		}
	}
	return slices.Clone(set.list())
}

// ownTypes returns the types the keywords type, const and enum of sch allow,
// or nil when they do not say.
func ownTypes(sch *jsv.Schema) []string {
	var set typeSet
	if sch.Types != nil && !sch.Types.IsEmpty() {
		set.and(sch.Types.ToStrings())
	}
	if sch.Const != nil {
		set.and([]string{jsonType(*sch.Const)})
	}
	if sch.Enum != nil {
		var t []string
		for _, v := range sch.Enum.Values {
			t = append(t, jsonType(v))
		}
		set.and(t)
	}
	return set.list()
}

// typeSet intersects lists of JSON types.
type typeSet struct {
	types []string
	known bool // whether a list was added
}

// and narrows the set to the types in t too; a nil t says nothing.
func (s *typeSet) and(t []string) {
	switch {
	case t == nil:
	case !s.known:
		s.types, s.known = normalizeTypes(t), true
	default:
		m, ok := mergeTypes(s.types, t)
		s.types = []string{}
		if ok {
			s.types = typeList(m)
		}
	}
}

// list is the types the lists added allow, nil when none was added.
func (s *typeSet) list() []string {
	if !s.known {
		return nil
	}
	return s.types
}

// jsonType is the JSON Schema type of a decoded JSON value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		if r := toRat(v); r != nil && r.IsInt() {
			return "integer"
		}
		return "number"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

// Properties returns the names of the properties the schema declares,
// itself or through $ref and allOf, sorted.
func (s *Schema) Properties() []string {
	var names []string
	for _, c := range conjuncts(s.s) {
		for name := range c.Properties {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Required returns the names of the properties the schema requires, itself
// or through $ref and allOf, sorted.
func (s *Schema) Required() []string {
	var names []string
	for _, c := range conjuncts(s.s) {
		names = append(names, c.Required...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// walkSchemas calls visit on sch and every schema under it; visit returns
// false to skip what is under a schema.
func walkSchemas(sch *jsv.Schema, visit func(*jsv.Schema) bool) {
	if sch == nil || !visit(sch) {
		return
	}
	var subs []*jsv.Schema
	subs = append(subs, sch.Ref, sch.RecursiveRef, sch.Not, sch.If, sch.Then, sch.Else,
		sch.PropertyNames, sch.UnevaluatedProperties, sch.Contains, sch.Items2020,
		sch.UnevaluatedItems, sch.ContentSchema)
	if sch.DynamicRef != nil {
		subs = append(subs, sch.DynamicRef.Ref)
	}
	subs = append(subs, sch.AllOf...)
	subs = append(subs, sch.AnyOf...)
	subs = append(subs, sch.OneOf...)
	subs = append(subs, sch.PrefixItems...)
	for _, p := range sch.Properties {
		subs = append(subs, p)
	}
	for _, p := range sch.PatternProperties {
		subs = append(subs, p)
	}
	for _, p := range sch.DependentSchemas {
		subs = append(subs, p)
	}
	for _, d := range sch.Dependencies {
		if p, ok := d.(*jsv.Schema); ok {
			subs = append(subs, p)
		}
	}
	for _, x := range []any{sch.AdditionalProperties, sch.AdditionalItems, sch.Items} {
		switch x := x.(type) {
		case *jsv.Schema:
			subs = append(subs, x)
		case []*jsv.Schema:
			subs = append(subs, x...)
		}
	}
	for _, sub := range subs {
		walkSchemas(sub, visit)
	}
}
