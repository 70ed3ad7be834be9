package jsonschema

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// ValidationError is the error of Validate: every way the value breaks the
// schema, sorted by path.
type ValidationError struct {
	Violations []Violation
}

// Violation is one way a value breaks a schema.
type Violation struct {
	// Path is where in the value, in the style of flow references: empty for
	// the value itself, then names and indexes, as in times, opts.depth,
	// tags[2] or opts["odd key"].
	Path string
	// Message says what is wrong, for a person: "must be <= 5, got 7",
	// "is required".
	Message string
}

// String is "path: message", or the message alone for the value itself.
func (v Violation) String() string {
	if v.Path == "" {
		return v.Message
	}
	return v.Path + ": " + v.Message
}

// Error joins the violations with "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// violation is a Violation before its path is formatted.
type violation struct {
	loc []string // instance location, JSON pointer tokens
	msg string
}

func (r *root) validationError(ve *jsv.ValidationError, v any) *ValidationError {
	var vs []violation
	r.collect(ve, v, &vs)
	return toValidationError(vs, v)
}

func toValidationError(vs []violation, v any) *ValidationError {
	// The library walks objects in map order; sort for stable messages.
	slices.SortStableFunc(vs, func(a, b violation) int { return compareLoc(v, a.loc, b.loc) })
	out := &ValidationError{Violations: make([]Violation, 0, len(vs))}
	for _, x := range vs {
		out.Violations = append(out.Violations, Violation{Path: formatPath(v, x.loc), Message: x.msg})
	}
	out.Violations = slices.Compact(out.Violations)
	return out
}

// collect appends the violations e stands for, built from the kinds of the
// library's errors, never from their text.
func (r *root) collect(e *jsv.ValidationError, inst any, out *[]violation) {
	loc := e.InstanceLocation
	add := func(loc []string, msg string) {
		*out = append(*out, violation{loc: loc, msg: msg})
	}
	child := func(name string) []string {
		return append(slices.Clip(loc), name)
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			r.collect(c, inst, out)
		}
	case *kind.AnyOf:
		var branches []*jsv.Schema
		if sch := r.at(e.SchemaURL); sch != nil {
			branches = sch.AnyOf
		}
		r.alternatives(e, branches, inst, out)
	case *kind.OneOf:
		if len(k.Subschemas) == 2 {
			add(loc, fmt.Sprintf("must match exactly one alternative, matches alternatives %d and %d", k.Subschemas[0]+1, k.Subschemas[1]+1))
			return
		}
		var branches []*jsv.Schema
		if sch := r.at(e.SchemaURL); sch != nil {
			branches = sch.OneOf
		}
		r.alternatives(e, branches, inst, out)
	case *kind.Required:
		for _, name := range k.Missing {
			add(child(name), "is required")
		}
	case *kind.DependentRequired:
		for _, name := range k.Missing {
			add(child(name), fmt.Sprintf("is required when %s is present", k.Prop))
		}
	case *kind.Dependency:
		for _, name := range k.Missing {
			add(child(name), fmt.Sprintf("is required when %s is present", k.Prop))
		}
	case *kind.AdditionalProperties:
		msg := "unknown field"
		if sch := r.at(e.SchemaURL); sch != nil && len(sch.Properties) > 0 {
			msg += " (allowed: " + strings.Join(sortedKeys(sch.Properties), ", ") + ")"
		}
		for _, name := range slices.Sorted(slices.Values(k.Properties)) {
			add(child(name), msg)
		}
	case *kind.PropertyNames:
		add(child(k.Property), "is not an allowed field name")
	case *kind.Not:
		add(loc, notMessage(r.at(e.SchemaURL)))
	case *kind.FalseSchema:
		// items: false after prefixItems, as for [int, string].
		msg := "is not allowed"
		if parent, ok := strings.CutSuffix(e.SchemaURL, "/items"); ok && len(loc) > 0 {
			if _, isList := valueAt(inst, loc[:len(loc)-1]).([]any); isList {
				if sch := r.at(parent); sch != nil {
					msg = fmt.Sprintf("is not allowed, the list has at most %s", count(len(sch.PrefixItems), "item"))
				}
			}
		}
		add(loc, msg)
	default:
		add(loc, message(e.ErrorKind, valueAt(inst, loc)))
	}
}

// alternatives reports an anyOf or oneOf that no branch matched. A branch
// whose errors are all about the value's type or value (a string for an
// integer branch) is not what the user meant; if exactly one branch is left,
// its violations are the useful ones. Otherwise the message lists what the
// branches accept.
func (r *root) alternatives(e *jsv.ValidationError, branches []*jsv.Schema, inst any, out *[]violation) {
	var fitting []*jsv.ValidationError
	for _, c := range e.Causes {
		if !wrongShape(c, len(e.InstanceLocation)) {
			fitting = append(fitting, c)
		}
	}
	if len(fitting) == 1 {
		r.collect(fitting[0], inst, out)
		return
	}
	var descs []string
	if len(fitting) == 0 && len(branches) == len(e.Causes) {
		for _, b := range branches {
			d := describe(b, 0)
			if d == "" {
				descs = nil
				break
			}
			if !slices.Contains(descs, d) {
				descs = append(descs, d)
			}
		}
	}
	if len(descs) > 0 {
		*out = append(*out, violation{loc: e.InstanceLocation, msg: "must be " + strings.Join(descs, " or ")})
		return
	}
	// Several branches fit the value's shape: say what each one lacks.
	var parts []string
	for _, c := range e.Causes {
		var vs []violation
		r.collect(c, inst, &vs)
		var sub []string
		for _, v := range vs {
			rel := v.loc[min(len(e.InstanceLocation), len(v.loc)):]
			sub = append(sub, Violation{Path: formatPath(valueAt(inst, e.InstanceLocation), rel), Message: v.msg}.String())
		}
		parts = append(parts, "["+strings.Join(sub, "; ")+"]")
	}
	*out = append(*out, violation{loc: e.InstanceLocation, msg: "must match one of the alternatives: " + strings.Join(parts, " or ")})
}

// wrongShape reports whether every error under e is a type, const or enum
// mismatch of the value at depth: the branch is for another kind of value.
func wrongShape(e *jsv.ValidationError, depth int) bool {
	switch e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			if !wrongShape(c, depth) {
				return false
			}
		}
		return len(e.Causes) > 0
	case *kind.Type, *kind.Const, *kind.Enum, *kind.FalseSchema:
		return len(e.InstanceLocation) == depth
	}
	return false
}

// describe says in a few words which values sch accepts, or returns "".
func describe(sch *jsv.Schema, depth int) string {
	if sch == nil || depth > maxDepth {
		return ""
	}
	switch {
	case sch.Const != nil:
		return display(*sch.Const)
	case sch.Enum != nil:
		var vs []string
		for _, v := range sch.Enum.Values {
			vs = append(vs, display(v))
		}
		return strings.Join(vs, " or ")
	case sch.Types != nil && !sch.Types.IsEmpty():
		return typeNames(sch.Types.ToStrings())
	case sch.Ref != nil:
		return describe(sch.Ref, depth+1)
	}
	return ""
}

func notMessage(sch *jsv.Schema) string {
	if sch != nil && sch.Not != nil {
		n := sch.Not
		switch {
		case n.Const != nil:
			return "must not be " + display(*n.Const)
		case n.Enum != nil:
			return "must not be " + joinValues(n.Enum.Values)
		case n.Pattern != nil:
			return "must not match " + n.Pattern.String()
		case n.Types != nil && !n.Types.IsEmpty():
			return "must not be " + typeNames(n.Types.ToStrings())
		}
	}
	return "must not match the excluded schema"
}

// message is the text of an error kind that is about the value itself.
func message(k jsv.ErrorKind, got any) string {
	switch k := k.(type) {
	case *kind.Type:
		g := k.Got
		if k.Got == "number" && slices.Contains(k.Want, "integer") {
			g = display(got)
		}
		return "must be " + typeNames(k.Want) + ", got " + g
	case *kind.Const:
		return "must be " + display(k.Want)
	case *kind.Enum:
		if len(k.Want) == 1 {
			return "must be " + display(k.Want[0])
		}
		return "must be one of " + joinValues(k.Want)
	case *kind.Minimum:
		return "must be >= " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.Maximum:
		return "must be <= " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.Pattern:
		return "must match " + k.Want
	case *kind.MinLength:
		return fmt.Sprintf("must have at least %s, got %d", count(k.Want, "character"), k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must have at most %s, got %d", count(k.Want, "character"), k.Got)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %s, got %d", count(k.Want, "item"), k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %s, got %d", count(k.Want, "item"), k.Got)
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %s, got %d", count(k.Want, "field"), k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %s, got %d", count(k.Want, "field"), k.Got)
	case *kind.AdditionalItems:
		if l, ok := got.([]any); ok {
			return fmt.Sprintf("must have at most %s, got %d", count(len(l)-k.Count, "item"), len(l))
		}
		return fmt.Sprintf("has %s too many", count(k.Count, "item"))
	case *kind.UniqueItems:
		return fmt.Sprintf("must not repeat items, items %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "must contain a matching item"
	case *kind.MinContains:
		return fmt.Sprintf("must contain at least %s, got %d", count(k.Want, "matching item"), len(k.Got))
	case *kind.MaxContains:
		return fmt.Sprintf("must contain at most %s, got %d", count(k.Want, "matching item"), len(k.Got))
	case *kind.Format:
		return "must be a valid " + k.Want
	case *kind.ContentEncoding:
		return "must be " + k.Want + " encoded"
	case *kind.ContentMediaType:
		return "must be " + k.Want
	case *kind.ContentSchema:
		return "has content that does not match its schema"
	case *kind.FalseSchema:
		return "is not allowed"
	case *kind.InvalidJsonValue:
		return fmt.Sprintf("is a %T, not a JSON value", k.Value)
	case *kind.RefCycle:
		return "cannot be checked: the schema refers to itself in a cycle"
	}
	return "is invalid (" + strings.Join(k.KeywordPath(), "/") + ")"
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// typeNames says JSON types with articles: "an integer or null".
func typeNames(types []string) string {
	names := make([]string, 0, len(types))
	for _, t := range slices.Sorted(slices.Values(types)) {
		switch t {
		case "null":
			names = append(names, "null")
		case "integer", "array", "object":
			names = append(names, "an "+t)
		default:
			names = append(names, "a "+t)
		}
	}
	return strings.Join(names, " or ")
}

func joinValues(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = display(v)
	}
	return strings.Join(s, ", ")
}

// display writes a JSON value as JSON.
func display(v any) string {
	b, err := marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() && r.Num().BitLen() <= 64 {
		return r.Num().String()
	}
	if f, _ := r.Float64(); !math.IsInf(f, 0) && (f != 0 || r.Sign() == 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	// Beyond float64: 1e+999.
	return new(big.Float).SetRat(r).Text('g', 10)
}

// at returns the subschema at location loc.
func (r *root) at(loc string) *jsv.Schema {
	return r.indexed()[loc]
}

// indexed returns every subschema by location, built on the first error.
func (r *root) indexed() map[string]*jsv.Schema {
	r.indexOnce.Do(func() {
		r.index = map[string]*jsv.Schema{}
		walkSchemas(r.top, func(s *jsv.Schema) bool {
			if _, seen := r.index[s.Location]; seen {
				return false
			}
			r.index[s.Location] = s
			return true
		})
	})
	return r.index
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// valueAt returns the part of v at loc, or nil.
func valueAt(v any, loc []string) any {
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// formatPath writes loc, a location in v, as a flow reference path: names
// that are identifiers after dots, other names quoted in brackets, indexes
// in brackets. Whether a token is a name or an index is read from v.
func formatPath(v any, loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		switch x := v.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
			continue
		case map[string]any:
			v = x[tok]
		default:
			v = nil
		}
		if isIdent(tok) {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		} else {
			b.WriteString("[" + strconv.Quote(tok) + "]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

// compareLoc orders locations in v: parents first, indexes by number.
func compareLoc(v any, a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if _, isList := v.([]any); isList {
				ia, errA := strconv.Atoi(a[i])
				ib, errB := strconv.Atoi(b[i])
				if errA == nil && errB == nil {
					return cmp.Compare(ia, ib)
				}
			}
			return strings.Compare(a[i], b[i])
		}
		v = valueAt(v, a[i:i+1])
	}
	return cmp.Compare(len(a), len(b))
}

var _ error = (*ValidationError)(nil)
