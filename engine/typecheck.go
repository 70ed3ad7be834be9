package engine

import (
	"errors"
	"strings"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/schemas"
)

// checkType compares what a tool input wants with what its binding gives,
// when both are known: a literal is validated against the contract, and a
// reference whose type the contracts make knowable must be compatible.
func (c *compiler) checkType(sn *schemas.Node, label string, in schemas.Field, t *tmpl, want *jsonschema.Schema) {
	switch t.kind {
	case tmplLit:
		doc, err := jsonschema.Decode(t.lit)
		if err != nil {
			return
		}
		var ve *jsonschema.ValidationError
		if err := want.Validate(doc); errors.As(err, &ve) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s breaks the contract of %s: %v", sn.Name, in.Name, t.lit, label, err)
		} else if err != nil {
			c.errs.Add(in.Value.Pos, "node %q: input %q: cannot check %s against the contract of %s: %v", sn.Name, in.Name, t.lit, label, err)
		}
	case tmplInterp:
		if !typesMeet(want.Type(), []string{"string"}) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s wants %s, but an interpolated string is a string", sn.Name, in.Name, label, strings.Join(want.Type(), " or "))
		}
	case tmplSel:
		got := c.selectorType(t.sel)
		if !typesMeet(want.Type(), got) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s wants %s, but %s is %s", sn.Name, in.Name, label,
				strings.Join(want.Type(), " or "), t.sel.text, strings.Join(got, " or "))
		}
	}
}

// selectorType is the JSON types the selected value may have, or nil when
// that is not known. A node's output may be null when the node is bypassed.
func (c *compiler) selectorType(s *selector) []string {
	var schema *jsonschema.Schema
	if s.node == secretsNode {
		return []string{"string"}
	}
	if s.node == inputsNode {
		schema = c.f.inputs
	} else if te := c.toolOf(s.node); te != nil {
		schema = te.out
	}
	if schema == nil {
		return nil
	}
	for _, step := range s.steps {
		var elem any = step.Key
		if step.IsIndex {
			elem = step.Index
		}
		sub, res := schema.Lookup([]any{elem})
		if res != jsonschema.Exists {
			return nil
		}
		schema = sub
	}
	return schema.Type()
}

// typesMeet reports whether a value of one of the types got can satisfy a
// schema of one of the types want. Unknown (empty) matches anything.
func typesMeet(want, got []string) bool {
	if len(want) == 0 || len(got) == 0 {
		return true
	}
	for _, w := range want {
		for _, g := range got {
			if w == g || (w == "number" && g == "integer") || (w == "integer" && g == "number") {
				return true
			}
		}
	}
	return false
}
