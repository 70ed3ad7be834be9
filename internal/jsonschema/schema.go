package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

// location is where Compile files the schema; nothing is ever loaded from it.
const location = "mem:///schema.json"

// Schema is a compiled JSON Schema, or one of its subschemas as returned by
// Lookup. A Schema is immutable and safe for concurrent use.
type Schema struct {
	s    *jsv.Schema
	root *root
	fast *fastCheck // nil for schemas too rich for it, and for subschemas
}

// root is what a compiled schema and all its subschemas share.
type root struct {
	top       *jsv.Schema
	graph     *graph
	indexOnce sync.Once
	index     map[string]*jsv.Schema // by Location, for error messages
	plans     sync.Map               // *jsv.Schema -> *plan
}

// Compile compiles raw, a JSON Schema. Schemas without $schema are read as
// draft 2020-12; draft 4, 6, 7 and 2019-09 schemas that say so are accepted
// too. References ($ref) must stay inside raw: nothing is loaded from files
// or the network. Formats are annotations only, as 2020-12 says.
//
// Since a schema may come from a hostile plugin, Compile refuses one that
// nests deeper than 128 levels or holds more than 4096 objects and arrays,
// one whose references loop without going into a part of the value
// ({"allOf":[{"$ref":"#"}]}), and one that applies more than 10000
// subschemas to one value through its references: with these bounds every
// use of the schema takes a time bounded by the size of the value.
func Compile(raw []byte) (*Schema, error) {
	doc, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("compile json schema: %w", err)
	}
	if err := checkDoc(doc); err != nil {
		return nil, fmt.Errorf("compile json schema: %w", err)
	}
	c := jsv.NewCompiler()
	c.DefaultDraft(jsv.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(location, doc); err != nil {
		return nil, fmt.Errorf("compile json schema: %w", err)
	}
	s, err := c.Compile(location)
	if err != nil {
		return nil, fmt.Errorf("compile json schema: %w", err)
	}
	g, err := checkGraph(s)
	if err != nil {
		return nil, fmt.Errorf("compile json schema: %w", err)
	}
	return &Schema{s: s, root: &root{top: s, graph: g}, fast: compileFast(doc)}, nil
}

// ErrNotObject is the error of Check for a value that is not a JSON object.
var ErrNotObject = errors.New("want a JSON object")

// Check validates raw, an encoded JSON object, applies the defaults of the
// properties it lacks, and returns the object encoded: raw's bytes, in
// their order and with their numbers and strings as written, with the
// defaults added after the members of each object that lacked them. It
// returns a *ValidationError, an error from Decode, or ErrNotObject.
//
// The flat path reads raw without decoding it and accepts only what it is
// sure of; a value it doubts, a duplicate key or an invalid one sends raw
// through Decode, ApplyDefaults and Validate, so the result and the errors
// are the same either way.
func (s *Schema) Check(raw []byte) ([]byte, error) {
	if s.fast != nil {
		if out, ok := s.fast.check(raw); ok {
			return out, nil
		}
	}
	doc, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	s.ApplyDefaults(obj)
	if err := s.Validate(obj); err != nil {
		return nil, err
	}
	return appendLike(nil, raw, obj)
}

// noLoader refuses every external reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("load %s: external references are not allowed", url)
}

// Decode decodes one JSON value the way Validate and ApplyDefaults expect:
// objects as map[string]any, arrays as []any, numbers as json.Number (so
// that large integers and decimals keep their exact value), strings, bools
// and nil. Anything after the value other than white space is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode json: unexpected data after the value")
	}
	return v, nil
}

// Validate checks v against the schema. v must be a value as Decode returns
// it; values decoded by encoding/json without UseNumber (float64) and Go ints
// also work, but float64 loses precision past 2^53.
//
// Numbers longer than 1000 characters or with an exponent beyond ±1000 are
// violations: the library converts every number to a big.Rat, which takes
// seconds for a million digits and panics past an exponent of a million.
//
// A schema with references can apply a subschema to a part of v once per
// path that leads there, and the paths can double at each level of v: when
// more than 10000 would apply to one part, Validate returns an error that
// says so instead of checking v.
//
// The error is a *ValidationError listing every violation, sorted by path,
// or that error about references. Validate does not modify v and is safe
// for concurrent use.
func (s *Schema) Validate(v any) error {
	if !numbersOK(v, 0) {
		var vs []violation
		badNumbers(v, nil, &vs)
		return toValidationError(vs, v)
	}
	if g := s.root.graph; g.hasRefs {
		if err := g.fits([]*jsv.Schema{s.s}, v, nil, v); err != nil {
			return err
		}
	}
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsv.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate: %w", err)
	}
	return s.root.validationError(ve, v)
}

// ApplyDefaults sets each property of obj that is missing and whose schema
// has a "default" to a copy of that default. It descends into properties
// that are objects (present, or just set from a default) and into the
// objects in arrays, and follows $ref and allOf; it ignores defaults inside
// anyOf, oneOf and if/then/else, where it cannot know which one applies.
//
// Defaults are not checked; Validate after ApplyDefaults if they may be
// invalid. ApplyDefaults modifies obj and so must not run concurrently with
// other uses of obj; it is safe to call on one Schema from many goroutines.
func (s *Schema) ApplyDefaults(obj map[string]any) {
	s.root.apply(s.s, obj, 0)
}

// plan is what ApplyDefaults does for the objects of one schema.
type plan struct {
	props []propPlan // sorted by name
	items *jsv.Schema
}

type propPlan struct {
	name string
	def  *any // nil when there is no default
	sch  *jsv.Schema
}

func (r *root) apply(sch *jsv.Schema, obj map[string]any, depth int) {
	if depth > maxDepth {
		return
	}
	p := r.plan(sch)
	for i := range p.props {
		pp := &p.props[i]
		val, ok := obj[pp.name]
		if !ok {
			if pp.def == nil {
				continue
			}
			val = deepCopy(*pp.def)
			obj[pp.name] = val
		}
		switch x := val.(type) {
		case map[string]any:
			r.apply(pp.sch, x, depth+1)
		case []any:
			r.applyItems(pp.sch, x, depth+1)
		}
	}
}

func (r *root) applyItems(sch *jsv.Schema, list []any, depth int) {
	items := r.plan(sch).items
	if items == nil {
		return
	}
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			r.apply(items, m, depth+1)
		}
	}
}

func (r *root) plan(sch *jsv.Schema) *plan {
	if p, ok := r.plans.Load(sch); ok {
		return p.(*plan)
	}
	p := &plan{}
	seen := map[string]bool{}
	for _, part := range conjuncts(sch) {
		for name, ps := range part.Properties {
			if seen[name] {
				continue
			}
			seen[name] = true
			p.props = append(p.props, propPlan{name: name, def: defaultOf(ps), sch: ps})
		}
		if p.items == nil {
			switch it := part.Items.(type) {
			case *jsv.Schema:
				p.items = it
			}
			if part.Items2020 != nil {
				p.items = part.Items2020
			}
		}
	}
	slices.SortFunc(p.props, func(a, b propPlan) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	actual, _ := r.plans.LoadOrStore(sch, p)
	return actual.(*plan)
}

// conjuncts returns sch and the schemas every valid value must also match:
// its $ref and allOf, recursively.
func conjuncts(sch *jsv.Schema) []*jsv.Schema {
	var out []*jsv.Schema
	seen := map[*jsv.Schema]bool{}
	var walk func(s *jsv.Schema)
	walk = func(s *jsv.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
		walk(s.Ref)
		for _, a := range s.AllOf {
			walk(a)
		}
	}
	walk(sch)
	return out
}

func defaultOf(sch *jsv.Schema) *any {
	for _, s := range conjuncts(sch) {
		if s.Default != nil {
			return s.Default
		}
	}
	return nil
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// Limits on the numbers Validate accepts; see Validate.
const (
	maxNumberLen = 1000
	maxExponent  = 1000
)

// numbersOK reports whether every json.Number in v is one Validate can check.
// It does not allocate: it runs on every run's inputs.
func numbersOK(v any, depth int) bool {
	switch x := v.(type) {
	case json.Number:
		return numberOK(string(x))
	case map[string]any:
		if depth > maxValueDepth {
			return false
		}
		for _, e := range x {
			if !numbersOK(e, depth+1) {
				return false
			}
		}
	case []any:
		if depth > maxValueDepth {
			return false
		}
		for _, e := range x {
			if !numbersOK(e, depth+1) {
				return false
			}
		}
	}
	return true
}

// maxValueDepth bounds how deep Validate goes into a value, against stack
// exhaustion; encoding/json stops at 10000 levels.
const maxValueDepth = 10000

// badNumbers reports the numbers numbersOK rejects, and values nested too deep.
func badNumbers(v any, loc []string, out *[]violation) {
	if len(loc) > maxValueDepth {
		*out = append(*out, violation{loc: slices.Clone(loc), msg: "is nested too deeply"})
		return
	}
	switch x := v.(type) {
	case json.Number:
		if !numberOK(string(x)) {
			msg := "is not a valid number"
			if validNumberSyntax(string(x)) {
				msg = fmt.Sprintf("is too large a number to check (at most %d characters, exponent within ±%d)", maxNumberLen, maxExponent)
			}
			*out = append(*out, violation{loc: slices.Clone(loc), msg: msg})
		}
	case map[string]any:
		for k, e := range x {
			badNumbers(e, append(loc, k), out)
		}
	case []any:
		for i, e := range x {
			badNumbers(e, append(loc, strconv.Itoa(i)), out)
		}
	}
}

// numberOK reports whether s is a JSON number within the limits.
func numberOK(s string) bool {
	if len(s) > maxNumberLen || !validNumberSyntax(s) {
		return false
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	exp := strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")
	if len(exp) > 4 {
		return false
	}
	n, err := strconv.Atoi(exp + "0")
	return err == nil && n/10 <= maxExponent
}

// validNumberSyntax reports whether s is a number in JSON's grammar (leading
// zeros allowed).
func validNumberSyntax(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
