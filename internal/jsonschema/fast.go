package jsonschema

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/weirflow/weir/internal/jsonscan"
)

// fastCheck checks an encoded JSON object against a flat object schema (the
// common shape of a flow's inputs: properties of scalar types with bounds,
// lengths, patterns, enums and defaults) without decoding it. It only ever
// says "valid": anything invalid, or unusual, goes to the full check, so the
// messages a user reads are the same either way.
type fastCheck struct {
	props    []fastProp
	index    map[string]int
	required []int
	closed   bool
}

type fastProp struct {
	name       string
	types      uint8 // bits of jsonTypes; 0 allows any type
	def        []byte
	strs       map[string]bool // enum or const, all strings
	notStr     *string
	min, max   *float64
	exMin      bool
	exMax      bool
	minLen     int
	maxLen     int
	pattern    *regexp.Regexp
	itemTypes  uint8 // for arrays: the type of every item; 0 allows any
	needText   bool
	checkItems bool
}

const (
	tString uint8 = 1 << iota
	tInteger
	tNumber
	tBoolean
	tNull
	tObject
	tArray
)

var typeBits = map[string]uint8{"string": tString, "integer": tInteger, "number": tNumber | tInteger,
	"boolean": tBoolean, "null": tNull, "object": tObject, "array": tArray}

// compileFast returns a fastCheck for the schema doc, or nil when the schema
// is not flat enough for one.
func compileFast(doc any) *fastCheck {
	root, ok := doc.(map[string]any)
	if !ok || root["type"] != "object" {
		return nil
	}
	f := &fastCheck{index: map[string]int{}}
	for k, v := range root {
		switch k {
		case "type", "description", "$schema":
		case "additionalProperties":
			b, ok := v.(bool)
			if !ok {
				return nil
			}
			f.closed = !b
		case "properties":
			props, ok := v.(map[string]any)
			if !ok || len(props) > 64 {
				return nil
			}
			// In name order, so that the defaults a check adds come out
			// in the same order every time.
			for _, name := range slices.Sorted(maps.Keys(props)) {
				p, ok := compileProp(name, props[name])
				if !ok {
					return nil
				}
				f.index[name] = len(f.props)
				f.props = append(f.props, p)
			}
		case "required":
		default:
			return nil
		}
	}
	if req, ok := root["required"].([]any); ok {
		for _, r := range req {
			name, _ := r.(string)
			i, ok := f.index[name]
			if !ok {
				return nil
			}
			f.required = append(f.required, i)
		}
	} else if root["required"] != nil {
		return nil
	}
	return f
}

func compileProp(name string, v any) (fastProp, bool) {
	s, ok := v.(map[string]any)
	p := fastProp{name: name, minLen: -1, maxLen: -1}
	if !ok {
		return p, false
	}
	for k, v := range s {
		if !p.compile(k, v) {
			return p, false
		}
	}
	// Bounds on both exclusive and inclusive forms at once are rare: leave
	// them, and anything odd, to the full check.
	return p, true
}

// compile adds keyword k of the property's schema, with value v, to the
// check; it reports false for what it leaves to the full check.
func (p *fastProp) compile(k string, v any) bool {
	switch k {
	case "description":
		return true
	case "type":
		bits, ok := types(v)
		p.types = bits
		return ok
	case "default":
		b, err := jsonscan.Marshal(v)
		p.def = b
		return err == nil
	case "enum", "const":
		return p.compileStrings(v)
	case "not":
		n, ok := v.(map[string]any)
		str, isStr := n["const"].(string)
		p.notStr, p.needText = &str, true
		return ok && len(n) == 1 && isStr
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		return p.compileBound(k, v)
	case "minLength", "maxLength":
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if k == "minLength" {
			p.minLen = int(i)
		} else {
			p.maxLen = int(i)
		}
		p.needText = true
		return ok && err == nil
	case "pattern":
		str, ok := v.(string)
		re, err := regexp.Compile(str)
		p.pattern, p.needText = re, true
		return ok && err == nil
	case "items":
		return p.compileItems(v)
	}
	return false
}

// compileStrings compiles an enum or a const whose values are strings.
func (p *fastProp) compileStrings(v any) bool {
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	p.strs = map[string]bool{}
	for _, e := range list {
		str, ok := e.(string)
		if !ok {
			return false
		}
		p.strs[str] = true
	}
	p.needText = true
	return true
}

// compileBound compiles a bound on a number, inclusive or exclusive.
func (p *fastProp) compileBound(k string, v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	f, err := n.Float64()
	if err != nil {
		return false
	}
	switch k {
	case "minimum":
		p.min = &f
	case "maximum":
		p.max = &f
	case "exclusiveMinimum":
		p.min, p.exMin = &f, true
	case "exclusiveMaximum":
		p.max, p.exMax = &f, true
	}
	return true
}

// compileItems compiles the schema of an array's items: none, or one
// scalar type.
func (p *fastProp) compileItems(v any) bool {
	it, ok := v.(map[string]any)
	if !ok {
		return false
	}
	p.checkItems = true
	if len(it) == 0 {
		return true
	}
	bits, ok := types(it["type"])
	p.itemTypes = bits
	return ok && len(it) == 1 && bits&(tObject|tArray) == 0
}

func types(v any) (uint8, bool) {
	var names []any
	switch t := v.(type) {
	case string:
		names = []any{t}
	case []any:
		names = t
	default:
		return 0, false
	}
	var bits uint8
	for _, n := range names {
		s, _ := n.(string)
		b, ok := typeBits[s]
		if !ok {
			return 0, false
		}
		bits |= b
	}
	return bits, true
}

// check returns raw, with the defaults of missing properties added, when it
// is sure raw is valid; ok is false otherwise.
func (f *fastCheck) check(raw []byte) (out []byte, ok bool) {
	var seen uint64
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = jsonscan.Space(raw, i+1)
	closing := -1
	members := 0
	for i < len(raw) {
		if raw[i] == '}' && members == 0 {
			closing = i
			break
		}
		if raw[i] != '"' {
			return nil, false
		}
		end, escaped := jsonscan.String(raw, i)
		if end < 0 || escaped {
			return nil, false
		}
		key := raw[i+1 : end-1]
		idx, known := f.index[string(key)]
		if !known && f.closed {
			return nil, false
		}
		i = jsonscan.Space(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = jsonscan.Space(raw, i+1)
		vend := jsonscan.Value(raw, i)
		if vend < 0 {
			return nil, false
		}
		if known {
			if seen&(1<<idx) != 0 {
				return nil, false // a duplicate: the full check decides which counts
			}
			seen |= 1 << idx
			if !f.props[idx].ok(raw[i:vend]) {
				return nil, false
			}
		}
		members++
		i = jsonscan.Space(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = jsonscan.Space(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == '}' {
			closing = i
		}
		break
	}
	if closing < 0 || jsonscan.Space(raw, closing+1) != len(raw) {
		return nil, false
	}
	for _, r := range f.required {
		if seen&(1<<r) == 0 {
			return nil, false
		}
	}
	out = raw
	for idx, p := range f.props {
		if p.def == nil || seen&(1<<idx) != 0 {
			continue
		}
		if len(out) == len(raw) {
			out = append([]byte(nil), raw[:closing]...)
		}
		if members > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, p.name)
		out = append(out, ':')
		out = append(out, p.def...)
		members++
	}
	if len(out) != len(raw) {
		out = append(out, '}')
	}
	return out, true
}

// ok reports whether the encoded value v surely meets the property's schema.
func (p *fastProp) ok(v []byte) bool {
	kind := kindOf(v)
	if p.types != 0 && p.types&kind == 0 {
		return false
	}
	switch kind {
	case tString:
		if !p.needText {
			return true
		}
		text := v[1 : len(v)-1]
		if end, escaped := jsonscan.String(v, 0); end != len(v) || escaped {
			var end int
			if text, end = jsonscan.Unquote(nil, v, 0); end != len(v) {
				return false
			}
		}
		if p.strs != nil && !p.strs[string(text)] || p.notStr != nil && string(text) == *p.notStr {
			return false
		}
		if p.minLen >= 0 || p.maxLen >= 0 {
			n := utf8.RuneCount(text)
			if p.minLen >= 0 && n < p.minLen || p.maxLen >= 0 && n > p.maxLen {
				return false
			}
		}
		return p.pattern == nil || p.pattern.Match(text)
	case tInteger, tNumber:
		if p.strs != nil || len(v) > 64 {
			return false
		}
		if p.min != nil || p.max != nil {
			x, ok := number(v)
			if !ok || p.min != nil && (x < *p.min || p.exMin && x == *p.min) ||
				p.max != nil && (x > *p.max || p.exMax && x == *p.max) {
				return false
			}
		}
		return true
	case tArray:
		if !p.checkItems || p.itemTypes == 0 {
			return p.strs == nil
		}
		for it := range jsonscan.Elements(v) {
			if p.itemTypes&kindOf(it) == 0 {
				return false
			}
		}
		return true
	default:
		return p.strs == nil && p.notStr == nil
	}
}

// number reads an encoded number; small integers without allocating.
func number(v []byte) (float64, bool) {
	if len(v) <= 15 {
		n, neg, digits := 0.0, false, v
		if len(digits) > 0 && digits[0] == '-' {
			neg, digits = true, digits[1:]
		}
		plain := len(digits) > 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + float64(c-'0')
		}
		if plain {
			if neg {
				n = -n
			}
			return n, true
		}
	}
	x, err := strconv.ParseFloat(string(v), 64)
	return x, err == nil
}

// kindOf is the type bit of a syntactically valid encoded value. A number
// with a fraction or an exponent is a number, not an integer: the full
// check decides whether 1.0 is an integer.
func kindOf(v []byte) uint8 {
	switch v[0] {
	case '"':
		return tString
	case '{':
		return tObject
	case '[':
		return tArray
	case 't', 'f':
		return tBoolean
	case 'n':
		return tNull
	}
	for _, c := range v {
		if c == '.' || c == 'e' || c == 'E' {
			return tNumber
		}
	}
	return tInteger
}
