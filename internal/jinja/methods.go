package jinja

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// The methods a template may call on values. They are the read-only ones
// prompts use; a template cannot reach anything else of Go or of weir.
var (
	dictMethods = map[string]bool{"get": true, "items": true, "keys": true, "values": true}
	strMethods  = map[string]bool{"capitalize": true, "endswith": true, "find": true,
		"join": true, "lower": true, "lstrip": true, "replace": true, "rstrip": true,
		"split": true, "startswith": true, "strip": true, "upper": true}
)

// call calls a method or the global range.
func call(fn any, args []any, kwargs map[string]any) (any, error) {
	m, ok := fn.(method)
	if !ok {
		if u, ok := fn.(Undefined); ok {
			return nil, u.err()
		}
		return nil, fmt.Errorf("'%s' object is not callable", typeName(fn))
	}
	switch recv := m.recv.(type) {
	case nil:
		return rangeOf(args)
	case *Dict:
		switch m.name {
		case "get":
			if len(args) == 0 {
				return nil, fmt.Errorf("get expected at least 1 argument, got 0")
			}
			if k, ok := args[0].(string); ok {
				if v, ok := recv.vals[k]; ok {
					return v, nil
				}
			}
			return arg(args, nil, 1, "", nil), nil
		case "items", "keys", "values":
			return dictView(recv, "dict_"+m.name), nil
		}
	case string:
		return strMethod(recv, m.name, args, kwargs)
	case *loopState:
		if len(args) == 0 {
			return nil, fmt.Errorf("no items for cycling given")
		}
		return args[recv.index%len(args)], nil
	}
	return nil, fmt.Errorf("unknown method %s", m.name)
}

func dictView(d *Dict, kind string) view {
	items := make([]any, len(d.keys))
	for i, k := range d.keys {
		switch kind {
		case "dict_items":
			items[i] = Tuple{k, d.vals[k]}
		case "dict_keys":
			items[i] = k
		default:
			items[i] = d.vals[k]
		}
	}
	return view{kind: kind, items: items}
}

func rangeOf(args []any) (any, error) {
	var n [3]int64
	for i, a := range args {
		if i > 2 {
			return nil, fmt.Errorf("range expected at most 3 arguments, got %d", len(args))
		}
		v, ok := a.(int64)
		if !ok {
			return nil, fmt.Errorf("'%s' object cannot be interpreted as an integer", typeName(a))
		}
		n[i] = v
	}
	start, stop, step := int64(0), n[0], int64(1)
	switch len(args) {
	case 0:
		return nil, fmt.Errorf("range expected at least 1 argument, got 0")
	case 2:
		start, stop = n[0], n[1]
	case 3:
		start, stop, step = n[0], n[1], n[2]
	}
	if step == 0 {
		return nil, fmt.Errorf("range() arg 3 must not be zero")
	}
	items := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(items) == maxRange {
			return nil, fmt.Errorf("range passes %d items: %w", maxRange, ErrLimit)
		}
		items = append(items, i)
	}
	text := fmt.Sprintf("range(%d, %d)", start, stop)
	if step != 1 {
		text = fmt.Sprintf("range(%d, %d, %d)", start, stop, step)
	}
	return view{kind: "range", items: items, repr: text}, nil
}

func strMethod(s, name string, args []any, kwargs map[string]any) (any, error) {
	strArg := func(i int, kw string) (string, bool, error) {
		v := arg(args, kwargs, i, kw, nil)
		if v == nil {
			return "", false, nil
		}
		a, ok := v.(string)
		if !ok {
			return "", false, fmt.Errorf("%s arg must be None or str", name)
		}
		return a, true, nil
	}
	switch name {
	case "upper":
		return upperCaser.String(s), nil
	case "lower":
		return lowerCaser.String(s), nil
	case "capitalize":
		return capitalize(s), nil
	case "strip", "lstrip", "rstrip":
		chars, set, err := strArg(0, "chars")
		if err != nil {
			return nil, err
		}
		trim := map[string]func(string, func(rune) bool) string{
			"strip": strings.TrimFunc, "lstrip": strings.TrimLeftFunc, "rstrip": strings.TrimRightFunc}[name]
		if !set {
			return trim(s, isSpace), nil
		}
		return trim(s, func(r rune) bool { return strings.ContainsRune(chars, r) }), nil
	case "startswith", "endswith":
		test := strings.HasPrefix
		if name == "endswith" {
			test = strings.HasSuffix
		}
		var options []any
		switch a := arg(args, kwargs, 0, "", nil).(type) {
		case string:
			options = []any{a}
		case Tuple:
			options = a
		default:
			return nil, fmt.Errorf("%s first arg must be str or a tuple of str, not %s", name, typeName(a))
		}
		for _, o := range options {
			if os, ok := o.(string); ok && test(s, os) {
				return true, nil
			}
		}
		return false, nil
	case "replace":
		if len(args) < 2 {
			return nil, fmt.Errorf("replace expected at least 2 arguments, got %d", len(args))
		}
		old, ok1 := args[0].(string)
		repl, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("replace arguments must be str")
		}
		n := -1
		if c, ok := arg(args, kwargs, 2, "count", nil).(int64); ok {
			n = int(max(-1, min(c, 1<<31)))
		}
		return strings.Replace(s, old, repl, n), nil
	case "find":
		sub, _, err := strArg(0, "sub")
		if err != nil {
			return nil, err
		}
		i := strings.Index(s, sub)
		if i < 0 {
			return int64(-1), nil
		}
		return int64(len([]rune(s[:i]))), nil
	case "split":
		sep, set, err := strArg(0, "sep")
		if err != nil {
			return nil, err
		}
		maxSplit := int64(-1)
		if m, ok := arg(args, kwargs, 1, "maxsplit", nil).(int64); ok {
			maxSplit = m
		}
		return split(s, sep, set, maxSplit)
	case "join":
		items, err := iterate(arg(args, kwargs, 0, "", nil))
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		for i, it := range items {
			p, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, typeName(it))
			}
			parts[i] = p
		}
		return strings.Join(parts, s), nil
	}
	return nil, fmt.Errorf("unknown method %s", name)
}

// split is Python's str.split: on runs of whitespace without a separator.
func split(s, sep string, set bool, maxSplit int64) (any, error) {
	var parts []string
	if !set {
		rest := strings.TrimLeftFunc(s, isSpace)
		for rest != "" {
			if maxSplit >= 0 && int64(len(parts)) == maxSplit {
				parts = append(parts, rest)
				break
			}
			i := strings.IndexFunc(rest, isSpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:i])
			rest = strings.TrimLeftFunc(rest[i:], isSpace)
		}
	} else {
		if sep == "" {
			return nil, fmt.Errorf("empty separator")
		}
		n := -1
		if maxSplit >= 0 {
			n = int(min(maxSplit, 1<<31)) + 1
		}
		parts = strings.SplitN(s, sep, n)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// filterToJSON is jinja2's tojson: Python's json.dumps(v, sort_keys=True)
// (ASCII only, ", " and ": " between items) with <, >, & and ' escaped so
// that the text is safe inside HTML.
func filterToJSON(v any, args []any, kwargs map[string]any) (any, error) {
	indent := arg(args, kwargs, 0, "indent", nil)
	var b strings.Builder
	var err error
	switch n := indent.(type) {
	case nil:
		err = dumpJSON(&b, v, "", -1)
	case int64:
		err = dumpJSON(&b, v, strings.Repeat(" ", int(max(0, min(n, 64)))), 0)
	case string:
		err = dumpJSON(&b, v, n, 0)
	default:
		return nil, fmt.Errorf("indent must be an int or a string")
	}
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`)
	return r.Replace(b.String()), nil
}

// dumpJSON writes Python's json.dumps of v. depth < 0 writes on one line;
// otherwise items go on lines indented by indent per level, and items are
// separated by "," alone, as Python does when indent is set.
func dumpJSON(b *strings.Builder, v any, indent string, depth int) error {
	itemSep := ", "
	newline := func(d int) {}
	if depth >= 0 {
		itemSep = ","
		newline = func(d int) {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(indent, d))
		}
	}
	list := func(items []any) error {
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(depth + 1)
			if err := dumpJSON(b, it, indent, deeper(depth)); err != nil {
				return err
			}
		}
		newline(depth)
		b.WriteByte(']')
		return nil
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		b.WriteString(v.String())
	case float64:
		s := formatFloat(v)
		switch s {
		case "inf":
			s = "Infinity"
		case "-inf":
			s = "-Infinity"
		case "nan":
			s = "NaN"
		}
		b.WriteString(s)
	case string:
		jsonString(b, v)
	case []any:
		return list(v)
	case Tuple:
		return list(v)
	case *Dict:
		if v.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := append([]string(nil), v.keys...)
		sort.Strings(keys) // Python sorts by code point, as Go compares UTF-8
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(depth + 1)
			jsonString(b, k)
			b.WriteString(": ")
			if err := dumpJSON(b, v.vals[k], indent, deeper(depth)); err != nil {
				return err
			}
		}
		newline(depth)
		b.WriteByte('}')
	default:
		return fmt.Errorf("object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func deeper(depth int) int {
	if depth < 0 {
		return depth
	}
	return depth + 1
}

// jsonString writes s as Python's json.dumps does with ensure_ascii: every
// character past ASCII as \uXXXX (two of them for one past U+FFFF).
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case writeLineEscape(b, r):
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
