package jsonschema

import (
	"fmt"

	"cuelang.org/go/cue"
)

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
