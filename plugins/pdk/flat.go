package pdk

import (
	"bytes"
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/weirflow/weir/internal/jsonscan"
)

// flatType is a struct whose fields are all strings, booleans, integers and
// floats: the usual inputs and outputs of a tool. The PDK decodes and
// encodes such a struct itself, without reflection per call, because in
// Wasm encoding/json costs several microseconds for even a small object,
// which would dwarf the rest of a call.
//
// The fast paths handle the common case only, exactly as encoding/json
// does, and report false for anything else: a key that matches a field only
// case-insensitively, a value of the wrong type, a number out of range,
// malformed JSON, deep nesting, a float that is NaN or infinite. The caller
// then decodes or encodes with encoding/json from scratch, which also words
// the error. So what a tool sees, what it outputs and every error are
// encoding/json's.
type flatType struct {
	fields []flatField
}

type flatField struct {
	name   string
	key    string // `"name":`
	kind   reflect.Kind
	bits   int
	offset uintptr
	// omit leaves the field out of the outputs when it is zero (omitempty
	// or omitzero, which agree for these kinds).
	omit bool
}

var (
	marshalerType       = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	isZeroerType        = reflect.TypeFor[interface{ IsZero() bool }]()
	numberType          = reflect.TypeFor[json.Number]()
)

// flatOf returns the flatType of t, or nil when t is not a flat struct that
// the fast paths handle exactly as encoding/json does.
func flatOf(t reflect.Type) *flatType {
	if t.Kind() != reflect.Struct || customJSON(t) {
		return nil
	}
	ft := &flatType{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // embedded fields follow promotion rules
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := bytes.Cut([]byte(tag), []byte(","))
		omit := false
		for o := range bytes.SplitSeq(opts, []byte(",")) {
			switch string(o) {
			case "":
			case "omitempty", "omitzero":
				omit = true
			default:
				return nil // ",string" and options to come
			}
		}
		if len(name) == 0 {
			name = []byte(sf.Name)
		}
		if !simpleName(name) {
			return nil // encoding/json ignores some tags and escapes some names
		}
		if customJSON(sf.Type) || sf.Type == numberType {
			return nil
		}
		f := flatField{
			name:   string(name),
			key:    `"` + string(name) + `":`,
			kind:   sf.Type.Kind(),
			offset: sf.Offset,
			omit:   omit,
		}
		switch f.kind {
		case reflect.String, reflect.Bool:
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64:
			f.bits = sf.Type.Bits()
		default:
			return nil
		}
		for _, g := range ft.fields {
			if bytes.EqualFold([]byte(g.name), name) {
				return nil // encoding/json picks between them by its own rules
			}
		}
		ft.fields = append(ft.fields, f)
	}
	return ft
}

// customJSON reports whether t has methods that change how encoding/json
// treats it.
func customJSON(t reflect.Type) bool {
	for _, typ := range []reflect.Type{t, reflect.PointerTo(t)} {
		for _, iface := range []reflect.Type{marshalerType, textMarshalerType, unmarshalerType, textUnmarshalerType, isZeroerType} {
			if typ.Implements(iface) {
				return true
			}
		}
	}
	return false
}

// simpleName reports whether name is non-empty letters, digits, _ and -,
// which encoding/json takes as a tag and writes without escaping.
func simpleName(name []byte) bool {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return len(name) > 0
}

// flatDecoder decodes JSON objects into a flatType. It is not safe for
// concurrent use: it keeps scratch buffers.
type flatDecoder struct {
	*flatType
	key, str []byte
}

// decode decodes in into the struct at p, which must be zero, and reports
// whether it could. When it could not, the struct may hold some fields.
func (d *flatDecoder) decode(in []byte, p unsafe.Pointer) bool {
	s := scanner{b: in}
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return s.end()
	}
	for {
		if s.peek() != '"' {
			return false
		}
		var ok bool
		if d.key, ok = s.str(d.key[:0]); !ok || s.peek() != ':' {
			return false
		}
		s.i++
		if f := d.field(d.key); f != nil {
			if !d.set(f, &s, p) {
				return false
			}
		} else if d.folds(d.key) || !s.skip() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.end()
		default:
			return false
		}
	}
}

func (d *flatDecoder) field(key []byte) *flatField {
	for i := range d.fields {
		if d.fields[i].name == string(key) {
			return &d.fields[i]
		}
	}
	return nil
}

// folds reports whether encoding/json might match key to a field
// case-insensitively. Any non-ASCII key might, by Unicode folding.
func (d *flatDecoder) folds(key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for i := range d.fields {
		if bytes.EqualFold([]byte(d.fields[i].name), key) {
			return true
		}
	}
	return false
}

// set decodes the value at the scanner into field f of the struct at p.
func (d *flatDecoder) set(f *flatField, s *scanner, p unsafe.Pointer) bool {
	ptr := unsafe.Add(p, f.offset)
	c := s.peek()
	if c == 'n' {
		return s.literal("null") // encoding/json leaves the field alone
	}
	switch f.kind {
	case reflect.String:
		if c != '"' {
			return false
		}
		var ok bool
		if d.str, ok = s.str(d.str[:0]); !ok {
			return false
		}
		*(*string)(ptr) = string(d.str)
		return true
	case reflect.Bool:
		switch {
		case s.literal("true"):
			*(*bool)(ptr) = true
		case s.literal("false"):
			*(*bool)(ptr) = false
		default:
			return false
		}
		return true
	}
	if c != '-' && (c < '0' || c > '9') {
		return false
	}
	start := s.i
	if !s.number() {
		return false
	}
	lit := view(s.b[start:s.i])
	switch f.kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(lit, 10, f.bits)
		if err != nil {
			return false
		}
		switch f.bits {
		case 8:
			*(*int8)(ptr) = int8(n)
		case 16:
			*(*int16)(ptr) = int16(n)
		case 32:
			*(*int32)(ptr) = int32(n)
		default:
			*(*int64)(ptr) = n
		}
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(lit, f.bits)
		if err != nil {
			return false
		}
		if f.bits == 32 {
			*(*float32)(ptr) = float32(x)
		} else {
			*(*float64)(ptr) = x
		}
	default:
		n, err := strconv.ParseUint(lit, 10, f.bits)
		if err != nil {
			return false
		}
		switch f.bits {
		case 8:
			*(*uint8)(ptr) = uint8(n)
		case 16:
			*(*uint16)(ptr) = uint16(n)
		case 32:
			*(*uint32)(ptr) = uint32(n)
		default:
			*(*uint64)(ptr) = n
		}
	}
	return true
}

// encode appends the struct at p to b as encoding/json does with HTML
// escaping off. It reports false for a float that is NaN or infinite,
// which encoding/json refuses.
func (ft *flatType) encode(b []byte, p unsafe.Pointer) ([]byte, bool) {
	b = append(b, '{')
	first := true
	for i := range ft.fields {
		f := &ft.fields[i]
		ptr := unsafe.Add(p, f.offset)
		if f.omit && isZero(f, ptr) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		switch f.kind {
		case reflect.String:
			b = jsonscan.AppendString(b, *(*string)(ptr))
		case reflect.Bool:
			b = strconv.AppendBool(b, *(*bool)(ptr))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			b = strconv.AppendInt(b, loadInt(f, ptr), 10)
		case reflect.Float32, reflect.Float64:
			x := loadFloat(f, ptr)
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return b, false
			}
			b = appendFloat(b, x, f.bits)
		default:
			b = strconv.AppendUint(b, loadUint(f, ptr), 10)
		}
	}
	return append(b, '}'), true
}

// isZero is reflect.Value.IsZero for the field at ptr: for floats, only +0.
func isZero(f *flatField, ptr unsafe.Pointer) bool {
	switch f.kind {
	case reflect.String:
		return *(*string)(ptr) == ""
	case reflect.Bool:
		return !*(*bool)(ptr)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return loadInt(f, ptr) == 0
	case reflect.Float32:
		return math.Float32bits(*(*float32)(ptr)) == 0
	case reflect.Float64:
		return math.Float64bits(*(*float64)(ptr)) == 0
	}
	return loadUint(f, ptr) == 0
}

func loadInt(f *flatField, ptr unsafe.Pointer) int64 {
	switch f.bits {
	case 8:
		return int64(*(*int8)(ptr))
	case 16:
		return int64(*(*int16)(ptr))
	case 32:
		return int64(*(*int32)(ptr))
	}
	return *(*int64)(ptr)
}

func loadUint(f *flatField, ptr unsafe.Pointer) uint64 {
	switch f.bits {
	case 8:
		return uint64(*(*uint8)(ptr))
	case 16:
		return uint64(*(*uint16)(ptr))
	case 32:
		return uint64(*(*uint32)(ptr))
	}
	return *(*uint64)(ptr)
}

func loadFloat(f *flatField, ptr unsafe.Pointer) float64 {
	if f.bits == 32 {
		return float64(*(*float32)(ptr))
	}
	return *(*float64)(ptr)
}

// appendFloat formats x as encoding/json does: like ES6, %f between 1e-6
// and 1e21 and %e outside, without a zero-padded exponent.
func appendFloat(b []byte, x float64, bits int) []byte {
	abs := math.Abs(x)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, x, format, -1, bits)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
