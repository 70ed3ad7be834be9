package jinja

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The values a template works with are the Go types below, chosen so that
// each prints the way Python prints the value json.loads would have made:
//
//	nil            None
//	bool           True, False
//	int64          an int
//	*big.Int       an int beyond 64 bits (printed, compared; no arithmetic)
//	float64        a float, printed with Python's repr (1.0, 1e-05, 1e+16)
//	string         a str
//	[]any          a list
//	Tuple          a tuple
//	*Dict          a dict, in insertion order
//	Undefined      a name or key that is not there; it prints as ""
//
// Render converts what callers pass (map[string]any, json.Number, int,
// []string, ...) into these with normalize.

// Tuple is a Python tuple: a literal (a, b) or an item of dict.items().
type Tuple []any

// Dict is a Python dict of string keys that keeps insertion order, as
// Python's does, so that printing a JSON object lists its keys in the order
// they came. The zero value is an empty dict. A Dict is not safe for
// concurrent writes; templates never write to the Dicts they are given.
type Dict struct {
	keys []string
	vals map[string]any
}

// Set sets key to v; a new key goes last, an existing key keeps its place.
func (d *Dict) Set(key string, v any) {
	if d.vals == nil {
		d.vals = make(map[string]any)
	}
	if _, ok := d.vals[key]; !ok {
		d.keys = append(d.keys, key)
	}
	d.vals[key] = v
}

// Get returns the value of key and whether it is set.
func (d *Dict) Get(key string) (any, bool) {
	v, ok := d.vals[key]
	return v, ok
}

// Keys returns the keys in insertion order. The caller must not modify it.
func (d *Dict) Keys() []string { return d.keys }

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Undefined is what a missing name, key or attribute evaluates to. It prints
// as "", is false, iterates as empty, and is an error to look into or call,
// as jinja2's default Undefined is. hint is Python's message for that error.
type Undefined struct{ hint string }

func (u Undefined) err() error { return errors.New(u.hint) }

// method is a bound method of a str or dict (s.upper, d.items): it can be
// called, not printed faithfully.
type method struct {
	recv any
	name string
}

// view is what dict.keys(), .values() and .items() return, and range():
// it iterates as its items and prints as dict_keys([...]) or range(0, 3).
type view struct {
	kind  string
	items []any
	repr  string // how it prints, when not kind([items]): range(0, 3)
}

// DecodeJSON decodes one JSON value the way Python's json.loads does:
// objects keep their key order (a repeated key keeps its first place and
// its last value), numbers with a fraction or an exponent are floats, and
// other numbers are ints of any size.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode JSON: data after the value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := nextToken(dec)
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := &Dict{}
			for dec.More() {
				k, err := nextToken(dec)
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				d.Set(k.(string), v)
			}
			if _, err := nextToken(dec); err != nil {
				return nil, err
			}
			return d, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := nextToken(dec); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("decode JSON: unexpected %v", t)
	case json.Number:
		return number(string(t)), nil
	}
	return tok, nil // string, bool or nil
}

// nextToken is dec.Token, where the end of the data is unexpected.
func nextToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return tok, nil
}

// number reads a JSON number as Python would: an int unless it has a
// fraction or an exponent.
func number(s string) any {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return b
		}
	}
	f, _ := strconv.ParseFloat(s, 64) // out of range gives ±Inf, as Python's float()
	return f
}

// normalize turns a Go value from a caller into the types templates use.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, bool, int64, float64, string, *big.Int, *Dict, Tuple, Undefined:
		return v
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	case json.Number:
		return number(string(v))
	case json.RawMessage:
		d, err := DecodeJSON(v)
		if err != nil {
			return Undefined{hint: err.Error()}
		}
		return d
	case []string:
		list := make([]any, len(v))
		for i, s := range v {
			list[i] = s
		}
		return list
	case []any:
		list := make([]any, len(v))
		for i, e := range v {
			list[i] = normalize(e)
		}
		return list
	case map[string]any:
		// A Go map has no order; sorted keys at least print the same each time.
		d := &Dict{}
		for _, k := range slices.Sorted(mapsKeys(v)) {
			d.Set(k, normalize(v[k]))
		}
		return d
	}
	return Undefined{hint: fmt.Sprintf("unsupported value of Go type %T", v)}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// typeName is Python's name for the type of v, as error messages show it.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case Undefined:
		return "Undefined"
	case method:
		return "builtin_function_or_method"
	case *loopState:
		return "LoopContext"
	case view:
		return v.(view).kind
	}
	return fmt.Sprintf("%T", v)
}

// str is Python's str(v), except that Undefined is "".
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Undefined:
		return ""
	}
	var b strings.Builder
	repr(&b, v)
	return b.String()
}

// repr writes Python's repr(v).
func repr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		b.WriteString(v.String())
	case float64:
		b.WriteString(formatFloat(v))
	case string:
		reprString(b, v)
	case []any:
		b.WriteByte('[')
		reprItems(b, v)
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		reprItems(b, v)
		if len(v) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Dict:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			reprString(b, k)
			b.WriteString(": ")
			repr(b, v.vals[k])
		}
		b.WriteByte('}')
	case view:
		if v.repr != "" {
			b.WriteString(v.repr)
			return
		}
		b.WriteString(v.kind)
		b.WriteString("([")
		reprItems(b, v.items)
		b.WriteString("])")
	case Undefined:
		b.WriteString("Undefined")
	case *loopState:
		fmt.Fprintf(b, "<LoopContext %d/%d>", v.index+1, v.length)
	case method:
		fmt.Fprintf(b, "<built-in method %s of %s object>", v.name, typeName(v.recv))
	default:
		fmt.Fprintf(b, "<%T>", v)
	}
}

func reprItems(b *strings.Builder, items []any) {
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		repr(b, e)
	}
}

// reprString writes Python's repr of a str: single quotes unless the text
// has a single quote and no double quote, printable characters as they are,
// others escaped.
func reprString(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case writeLineEscape(b, r):
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f || isPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
}

// writeLineEscape writes \n, \r or \t for those characters, as both
// Python's repr and its json.dumps do, and reports whether r was one.
func writeLineEscape(b *strings.Builder, r rune) bool {
	switch r {
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	default:
		return false
	}
	return true
}

// isPrintable is Python's str.isprintable for one character: graphic, or
// the ASCII space.
func isPrintable(r rune) bool {
	return unicode.IsPrint(r)
}

// formatFloat is Python's repr of a float: the shortest digits that read
// back the same, in fixed notation when the exponent is from -4 to 15 and
// with at least one digit after the point, else in exponent notation.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1 // the point goes after this many digits
	var out string
	switch {
	case decpt > -4 && decpt <= 16:
		switch {
		case decpt <= 0:
			out = "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			out = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			out = digits[:decpt] + "." + digits[decpt:]
		}
	default:
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if x < 0 {
			sign, x = "-", -x
		}
		out += fmt.Sprintf("e%s%02d", sign, x)
	}
	if neg {
		out = "-" + out
	}
	return out
}

// truth is Python's bool(v).
func truth(v any) bool {
	switch v := v.(type) {
	case nil, Undefined:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case *big.Int:
		return v.Sign() != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case Tuple:
		return len(v) > 0
	case *Dict:
		return v.Len() > 0
	case view:
		return len(v.items) > 0
	}
	return true
}
