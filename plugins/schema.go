package plugins

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// schemaCache maps a reflect.Type to the encoded schema of SchemaOf. Types
// are few and live as long as the program, so the cache is never trimmed.
var schemaCache sync.Map

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
	mapAnyType        = reflect.TypeFor[map[string]any]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// SchemaOf returns the JSON Schema (draft 2020-12) of the JSON that
// encoding/json reads into and writes from a value of type t.
//
// A struct is an object whose properties are named as encoding/json names
// them (json tags, embedded structs flattened, "-" and unexported fields
// skipped), with additionalProperties false. A property is required unless
// its field is a pointer, is tagged omitempty or omitzero, or is promoted
// through an embedded pointer. A `desc:"..."` struct tag becomes the
// property's description. Pointers, slices and maps may also be null, since
// encoding/json writes nil ones as null and reads null into them. Other
// types follow encoding/json too: time.Duration is an integer, []byte a
// base64 string, time.Time a date-time string, an encoding.TextMarshaler a
// string, and interfaces, json.RawMessage and other json.Marshaler types
// allow any value. A recursive type refers back to itself with $ref ("#"
// for t itself, or an entry of $defs).
//
// SchemaOf panics when t holds a type that encoding/json cannot encode (a
// channel, a function, a complex number, a map with unsupported keys): that
// is a programming error. A nil t allows any value.
//
// SchemaOf is safe for concurrent use. Its result depends on t alone, byte
// for byte, and is computed once per type; each call returns a fresh copy
// that the caller may keep or modify.
func SchemaOf(t reflect.Type) json.RawMessage {
	if t == nil {
		return json.RawMessage(`{}`)
	}
	if b, ok := schemaCache.Load(t); ok {
		return slices.Clone(b.([]byte))
	}
	g := &schemaGen{root: t}
	s := g.typeSchema(t)
	s.Defs = g.defs
	b := encodeSchema(s)
	actual, _ := schemaCache.LoadOrStore(t, b)
	return slices.Clone(actual.([]byte))
}

// schema holds the keywords SchemaOf uses; the field order is the order a
// reader expects, and encoding/json keeps it, which makes the bytes stable.
type schema struct {
	Ref   string    `json:"$ref,omitempty"`
	AnyOf []*schema `json:"anyOf,omitempty"`
	// Type is a string, or a list of them for a type that may also be null.
	Type            any          `json:"type,omitempty"`
	Format          string       `json:"format,omitempty"`
	ContentEncoding string       `json:"contentEncoding,omitempty"`
	Description     string       `json:"description,omitempty"`
	Minimum         *int         `json:"minimum,omitempty"`
	Items           *schema      `json:"items,omitempty"`
	Properties      namedSchemas `json:"properties,omitempty"`
	Required        []string     `json:"required,omitempty"`
	// AdditionalProperties is false or a *schema.
	AdditionalProperties any          `json:"additionalProperties,omitempty"`
	Defs                 namedSchemas `json:"$defs,omitempty"`
}

type namedSchema struct {
	name   string
	schema *schema
}

// namedSchemas is an object of schemas that keeps the order of its entries,
// so properties read in field order rather than sorted.
type namedSchemas []namedSchema

func (ns namedSchemas) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, n := range ns {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeJSON(&buf, n.name); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := writeJSON(&buf, n.schema); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func encodeSchema(s *schema) []byte {
	var buf bytes.Buffer
	if err := writeJSON(&buf, s); err != nil {
		panic("plugins: encode schema: " + err.Error()) // the schema type always encodes
	}
	return buf.Bytes()
}

// writeJSON appends the encoding of v to buf without escaping HTML:
// descriptions and outputs are read in terminals and files more than in web
// pages, and "<" or "&" should stay readable there.
func writeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// schemaGen builds the schema of one root type.
type schemaGen struct {
	root      reflect.Type
	stack     []reflect.Type
	path      []string // field names from the root, for panic messages
	defNames  map[reflect.Type]string
	usedNames map[string]bool
	defs      namedSchemas
	moved     map[reflect.Type]bool // recursive types already put in defs
}

func (g *schemaGen) typeSchema(t reflect.Type) *schema {
	switch t {
	case timeType:
		return &schema{Type: "string", Format: "date-time"}
	case rawMessageType:
		return &schema{}
	case numberType:
		return &schema{Type: "number"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		// Only a type like "type P *P" could loop here; it can only be null.
		seen := map[reflect.Type]bool{t: true}
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			if seen[e] {
				return &schema{}
			}
			seen[e] = true
			e = e.Elem()
		}
		return nullable(g.typeSchema(e))
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		return g.composite(t)
	}
	return g.build(t)
}

// composite builds the schema of a type that may contain itself. Types on
// the stack are being built; meeting one again means the type is recursive,
// and it is referred to by $ref instead of being expanded again.
func (g *schemaGen) composite(t reflect.Type) *schema {
	if slices.Contains(g.stack, t) {
		if t == g.root {
			return &schema{Ref: "#"}
		}
		return &schema{Ref: "#/$defs/" + g.defName(t)}
	}
	if g.moved[t] {
		return &schema{Ref: "#/$defs/" + g.defNames[t]}
	}

	g.stack = append(g.stack, t)
	s := g.build(t)
	g.stack = g.stack[:len(g.stack)-1]

	// A type that turned out to refer to itself lives in $defs so that every
	// use, including the ones inside it, shares one definition.
	if name, ok := g.defNames[t]; ok && t != g.root {
		if g.moved == nil {
			g.moved = make(map[reflect.Type]bool)
		}
		g.moved[t] = true
		g.defs = append(g.defs, namedSchema{name, s})
		return &schema{Ref: "#/$defs/" + name}
	}
	return s
}

func (g *schemaGen) build(t reflect.Type) *schema {
	if implements(t, marshalerType) {
		return &schema{}
	}
	if implements(t, textMarshalerType) {
		return &schema{Type: "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &schema{Type: "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		zero := 0
		return &schema{Type: "integer", Minimum: &zero}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Interface:
		return &schema{}
	case reflect.Slice:
		if isByteSlice(t) {
			return nullable(&schema{Type: "string", ContentEncoding: "base64"})
		}
		return nullable(&schema{Type: "array", Items: g.typeSchema(t.Elem())})
	case reflect.Array:
		return &schema{Type: "array", Items: g.typeSchema(t.Elem())}
	case reflect.Map:
		if !validMapKey(t.Key()) {
			g.unsupported(t)
		}
		return nullable(&schema{Type: "object", AdditionalProperties: g.typeSchema(t.Elem())})
	case reflect.Struct:
		return g.structSchema(t)
	}
	g.unsupported(t)
	return nil
}

// nullable lets s be null too: encoding/json writes a nil pointer, slice or
// map as null, and reads null into one, so a schema without it would reject
// what the Go code really sends.
func nullable(s *schema) *schema {
	switch typ := s.Type.(type) {
	case string:
		s.Type = []string{typ, "null"}
	case nil:
		if s.Ref != "" {
			return &schema{AnyOf: []*schema{s, {Type: "null"}}}
		}
		// Otherwise s allows anything already.
	}
	return s
}

func (g *schemaGen) unsupported(t reflect.Type) {
	where := ""
	if len(g.path) > 0 {
		where = fmt.Sprintf(": field %q", strings.Join(g.path, "."))
	}
	panic(fmt.Sprintf("plugins: SchemaOf(%v)%s has type %v, which encoding/json cannot encode", g.root, where, t))
}

func (g *schemaGen) structSchema(t reflect.Type) *schema {
	s := &schema{Type: "object", AdditionalProperties: false}
	for _, f := range structFields(t) {
		g.path = append(g.path, f.name)
		var fs *schema
		if f.quoted {
			// ",string" wraps the value in a JSON string.
			fs = &schema{Type: "string"}
			if f.typ.Kind() == reflect.Pointer {
				fs = nullable(fs)
			}
		} else {
			fs = g.typeSchema(f.typ)
		}
		g.path = g.path[:len(g.path)-1]
		fs.Description = f.desc
		s.Properties = append(s.Properties, namedSchema{f.name, fs})
		if f.required {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

// defName gives t a name in $defs that is a valid JSON Pointer token and
// differs from the names of other types.
func (g *schemaGen) defName(t reflect.Type) string {
	if name, ok := g.defNames[t]; ok {
		return name
	}
	base := strings.Map(func(r rune) rune {
		if r == '_' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, t.Name())
	if base == "" {
		base = "T"
	}
	name := base
	for i := 2; g.usedNames[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	if g.defNames == nil {
		g.defNames = make(map[reflect.Type]string)
		g.usedNames = make(map[string]bool)
	}
	g.defNames[t] = name
	g.usedNames[name] = true
	return name
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// isByteSlice reports whether encoding/json writes t as base64: a slice of a
// byte type that does not marshal itself.
func isByteSlice(t reflect.Type) bool {
	e := t.Elem()
	return e.Kind() == reflect.Uint8 && !implements(e, marshalerType) && !implements(e, textMarshalerType)
}

func validMapKey(k reflect.Type) bool {
	switch k.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return implements(k, textMarshalerType)
}

// structField is one JSON property of a struct, after encoding/json's rules
// for tags and embedded structs.
type structField struct {
	name     string
	typ      reflect.Type
	index    []int
	tagged   bool
	required bool
	quoted   bool
	desc     string
}

// structFields lists the properties encoding/json gives t, in its order.
// Embedded structs are walked breadth first so that a shallower field hides
// a deeper one of the same name; at equal depth a tagged field wins, and
// two untagged ones hide each other.
func structFields(t reflect.Type) []structField {
	type embedded struct {
		typ    reflect.Type
		index  []int
		viaPtr bool
	}
	var all []structField
	seen := map[reflect.Type]bool{}
	level := []embedded{{typ: t}}
	for len(level) > 0 {
		var next []embedded
		for _, e := range level {
			if seen[e.typ] {
				continue
			}
			seen[e.typ] = true
			for i := range e.typ.NumField() {
				sf := e.typ.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					// Exported fields of an unexported embedded struct are
					// still promoted.
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clone(e.index), i)
				viaPtr := e.viaPtr || sf.Type.Kind() == reflect.Pointer
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, embedded{ft, index, viaPtr})
					continue
				}
				f := structField{
					name:   name,
					typ:    sf.Type,
					index:  index,
					tagged: name != "",
					desc:   sf.Tag.Get("desc"),
				}
				if f.name == "" {
					f.name = sf.Name
				}
				omit := false
				for o := range strings.SplitSeq(opts, ",") {
					switch o {
					case "omitempty", "omitzero":
						omit = true
					case "string":
						switch ft.Kind() {
						case reflect.Bool, reflect.String,
							reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64:
							f.quoted = true
						}
					}
				}
				f.required = !omit && !e.viaPtr && sf.Type.Kind() != reflect.Pointer
				all = append(all, f)
			}
		}
		level = next
	}

	byName := map[string][]structField{}
	for _, f := range all {
		byName[f.name] = append(byName[f.name], f)
	}
	var out []structField
	for _, fs := range byName {
		if f, ok := dominant(fs); ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	return out
}

// dominant picks the field that encoding/json keeps among fields of one name.
func dominant(fs []structField) (structField, bool) {
	depth := len(fs[0].index)
	for _, f := range fs {
		depth = min(depth, len(f.index))
	}
	var shallow []structField
	for _, f := range fs {
		if len(f.index) == depth {
			shallow = append(shallow, f)
		}
	}
	if len(shallow) == 1 {
		return shallow[0], true
	}
	var tagged []structField
	for _, f := range shallow {
		if f.tagged {
			tagged = append(tagged, f)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], true
	}
	return structField{}, false
}

// validTagName follows encoding/json: a tag name that it would ignore must be
// ignored here too, or the schema would name a property that never appears.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			continue
		}
		if r == '"' || r == '\\' || !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", r) {
			return false
		}
	}
	return true
}
