package jsonschema

import (
	"fmt"
	"slices"
	"strings"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

// A contract's schema comes from a plugin, which may be hostile. These
// bounds keep every use of a schema (compiling it, Lookup, Type, Validate)
// short, whatever its references do.
const (
	// maxDocDepth and maxDocContainers bound the schema document: the
	// library's compile time grows with the cube of the nesting and the
	// square of the number of subschemas (a thousand levels take seconds).
	maxDocDepth      = 128
	maxDocContainers = 4096
	// maxSteps bounds how many subschemas apply to one value: the unfolding
	// of a schema through $ref, allOf, anyOf, oneOf, not, if/then/else and
	// dependent schemas, which a few references can make exponential.
	maxSteps = 10000
)

// checkDoc refuses a decoded schema document that is too deep or too large
// to compile quickly.
func checkDoc(doc any) error {
	containers := 0
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		if depth > maxDocDepth {
			return fmt.Errorf("the schema nests deeper than %d levels", maxDocDepth)
		}
		if containers++; containers > maxDocContainers {
			return fmt.Errorf("the schema has more than %d objects and arrays", maxDocContainers)
		}
		return nil
	}
	return walk(doc, 1)
}

// graph is the compiled schema seen as the subschemas that apply to the
// same value as a given one.
type graph struct {
	// dynamic and recursive are the targets $dynamicRef and $recursiveRef
	// may resolve to at run time, besides their static one: every schema
	// with the anchor, since which one applies depends on the path taken.
	dynamic   map[string][]*jsv.Schema
	recursive []*jsv.Schema
	hasRefs   bool
}

// inPlace returns the subschemas that apply to the same value as sch.
func (g *graph) inPlace(sch *jsv.Schema) []*jsv.Schema {
	var out []*jsv.Schema
	add := func(s *jsv.Schema) {
		if s != nil {
			out = append(out, s)
		}
	}
	add(sch.Ref)
	if sch.RecursiveRef != nil {
		add(sch.RecursiveRef)
		out = append(out, g.recursive...)
	}
	if sch.DynamicRef != nil {
		add(sch.DynamicRef.Ref)
		out = append(out, g.dynamic[sch.DynamicRef.Anchor]...)
	}
	add(sch.Not)
	add(sch.If)
	add(sch.Then)
	add(sch.Else)
	out = append(out, sch.AllOf...)
	out = append(out, sch.AnyOf...)
	out = append(out, sch.OneOf...)
	for _, k := range sortedKeys(sch.DependentSchemas) {
		add(sch.DependentSchemas[k])
	}
	for _, k := range sortedKeys(sch.Dependencies) {
		if s, ok := sch.Dependencies[k].(*jsv.Schema); ok {
			add(s)
		}
	}
	return out
}

// checkGraph refuses a schema whose references loop without going into a
// part of the value (validating it would never end), or that unfolds into
// more than maxSteps subschemas for one value. Every walk of the package
// through references stays within maxSteps once this holds.
func checkGraph(top *jsv.Schema) (*graph, error) {
	g := &graph{dynamic: map[string][]*jsv.Schema{}}
	var all []*jsv.Schema
	seen := map[*jsv.Schema]bool{}
	walkSchemas(top, func(s *jsv.Schema) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		all = append(all, s)
		if s.DynamicAnchor != "" {
			g.dynamic[s.DynamicAnchor] = append(g.dynamic[s.DynamicAnchor], s)
		}
		if s.RecursiveAnchor {
			g.recursive = append(g.recursive, s)
		}
		if s.Ref != nil || s.DynamicRef != nil || s.RecursiveRef != nil {
			g.hasRefs = true
		}
		return true
	})

	const inProgress = -1
	size := map[*jsv.Schema]int{} // unfolded size, capped at maxSteps+1
	var stack []*jsv.Schema
	var unfold func(s *jsv.Schema) error
	unfold = func(s *jsv.Schema) error {
		switch size[s] {
		case 0:
		case inProgress:
			i := slices.Index(stack, s)
			locs := make([]string, 0, len(stack)-i+1)
			for _, x := range append(stack[i:], s) {
				locs = append(locs, shortLocation(x.Location))
			}
			return fmt.Errorf("$ref loop: %s applies a schema to the same value again, without end", strings.Join(locs, " -> "))
		default:
			return nil
		}
		size[s] = inProgress
		stack = append(stack, s)
		n := 1
		for _, c := range g.inPlace(s) {
			if err := unfold(c); err != nil {
				return err
			}
			n = min(n+size[c], maxSteps+1)
		}
		stack = stack[:len(stack)-1]
		size[s] = n
		if n > maxSteps {
			return fmt.Errorf("$ref resolution of %s exceeded %d steps: its references nest too deeply or fan out too widely", shortLocation(s.Location), maxSteps)
		}
		return nil
	}
	for _, s := range all {
		if err := unfold(s); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// shortLocation is a schema's location in the document, as "#/$defs/a".
func shortLocation(loc string) string {
	return strings.TrimPrefix(loc, location)
}

// fits reports an error when validating v against sch would apply more
// than maxSteps subschemas to one part of v. Without references a schema
// is a tree that applies each of its nodes at most once to a part of v;
// with them, a part can receive a schema once per path that leads to it,
// and the paths can double at each level of v.
func (g *graph) fits(schs []*jsv.Schema, v any, loc []string, top any) error {
	for i := 0; i < len(schs); i++ {
		if len(schs) > maxSteps {
			return fmt.Errorf("validate: $ref resolution at %s exceeded %d steps: the schema's references nest too deeply or fan out too widely", describeLoc(top, loc), maxSteps)
		}
		schs = append(schs, g.inPlace(schs[i])...)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			var sub, names []*jsv.Schema
			for _, s := range schs {
				if s.PropertyNames != nil {
					names = append(names, s.PropertyNames)
				}
				matched := false
				if p, ok := s.Properties[k]; ok {
					sub, matched = append(sub, p), true
				}
				for re, p := range s.PatternProperties {
					if re.MatchString(k) {
						sub, matched = append(sub, p), true
					}
				}
				if ap, ok := s.AdditionalProperties.(*jsv.Schema); ok && !matched {
					sub = append(sub, ap)
				}
				if s.UnevaluatedProperties != nil {
					sub = append(sub, s.UnevaluatedProperties)
				}
			}
			if err := g.fits(names, k, loc, top); err != nil {
				return err
			}
			if err := g.fits(sub, x[k], append(loc, k), top); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			var sub []*jsv.Schema
			for _, s := range schs {
				sub = append(sub, itemSchemas(s, i)...)
			}
			if err := g.fits(sub, e, append(loc, fmt.Sprint(i)), top); err != nil {
				return err
			}
		}
	}
	return nil
}

// itemSchemas returns the subschemas of sch that may apply to item i of an
// array.
func itemSchemas(sch *jsv.Schema, i int) []*jsv.Schema {
	var out []*jsv.Schema
	if i < len(sch.PrefixItems) {
		out = append(out, sch.PrefixItems[i])
	} else if sch.Items2020 != nil {
		out = append(out, sch.Items2020)
	}
	switch items := sch.Items.(type) {
	case *jsv.Schema:
		out = append(out, items)
	case []*jsv.Schema:
		if i < len(items) {
			out = append(out, items[i])
		} else if ai, ok := sch.AdditionalItems.(*jsv.Schema); ok {
			out = append(out, ai)
		}
	}
	for _, s := range []*jsv.Schema{sch.Contains, sch.UnevaluatedItems} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// describeLoc names a part of v for messages: "the value" or its path.
func describeLoc(v any, loc []string) string {
	if len(loc) == 0 {
		return "the value"
	}
	return formatPath(v, loc)
}
