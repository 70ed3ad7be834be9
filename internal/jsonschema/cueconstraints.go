package jsonschema

import (
	"fmt"
	"regexp"
	"strconv"

	"cuelang.org/go/cue"
)

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
