package jinja

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Python's str.upper and str.lower map whole strings ("ß" upper is "SS",
// a final sigma lowers to "ς"); x/text's cases do the same, Go's strings
// package maps rune by rune.
var (
	upperCaser = cases.Upper(language.Und)
	lowerCaser = cases.Lower(language.Und)
	titleCaser = cases.Title(language.Und, cases.NoLower)
)

type filterFunc func(v any, args []any, kwargs map[string]any) (any, error)

type testFunc func(v any, args []any) (bool, error)

var filters map[string]filterFunc

var tests map[string]testFunc

func init() {
	filters = map[string]filterFunc{
		"abs":        filterAbs,
		"capitalize": stringFilter(capitalize),
		"count":      filterLength,
		"d":          filterDefault,
		"default":    filterDefault,
		"e":          stringFilter(escapeHTML),
		"escape":     stringFilter(escapeHTML),
		"first":      filterFirst,
		"float":      filterFloat,
		"indent":     filterIndent,
		"int":        filterInt,
		"items":      filterItems,
		"join":       filterJoin,
		"last":       filterLast,
		"length":     filterLength,
		"list":       filterList,
		"lower":      stringFilter(lowerCaser.String),
		"replace":    filterReplace,
		"reverse":    filterReverse,
		"safe":       stringFilter(func(s string) string { return s }),
		"sort":       filterSort,
		"string":     stringFilter(func(s string) string { return s }),
		"sum":        filterSum,
		"tojson":     filterToJSON,
		"trim":       filterTrim,
		"upper":      stringFilter(upperCaser.String),
	}
	tests = map[string]testFunc{
		"boolean":     typeTest(func(v any) bool { _, ok := v.(bool); return ok }),
		"defined":     typeTest(func(v any) bool { _, ok := v.(Undefined); return !ok }),
		"divisibleby": testDivisibleBy,
		"eq":          compareTest("=="),
		"==":          compareTest("=="),
		"equalto":     compareTest("=="),
		"even":        parityTest(0),
		"false":       typeTest(func(v any) bool { b, ok := v.(bool); return ok && !b }),
		"float":       typeTest(func(v any) bool { _, ok := v.(float64); return ok }),
		"ge":          compareTest(">="),
		">=":          compareTest(">="),
		"gt":          compareTest(">"),
		">":           compareTest(">"),
		"greaterthan": compareTest(">"),
		"in":          testIn,
		"integer":     typeTest(isInt),
		"iterable":    typeTest(func(v any) bool { _, err := iterate(v); return err == nil }),
		"le":          compareTest("<="),
		"<=":          compareTest("<="),
		"lower":       typeTest(func(v any) bool { return isCased(str(v), lowerCaser.String) }),
		"lt":          compareTest("<"),
		"<":           compareTest("<"),
		"lessthan":    compareTest("<"),
		"mapping":     typeTest(func(v any) bool { _, ok := v.(*Dict); return ok }),
		"ne":          compareTest("!="),
		"!=":          compareTest("!="),
		"none":        typeTest(func(v any) bool { return v == nil }),
		"number":      typeTest(func(v any) bool { _, _, _, ok := numeric(v); return ok || isInt(v) }),
		"odd":         parityTest(1),
		"sequence":    typeTest(isSequence),
		"string":      typeTest(func(v any) bool { _, ok := v.(string); return ok }),
		"true":        typeTest(func(v any) bool { b, ok := v.(bool); return ok && b }),
		"undefined":   typeTest(func(v any) bool { _, ok := v.(Undefined); return ok }),
		"upper":       typeTest(func(v any) bool { return isCased(str(v), upperCaser.String) }),
	}
}

// arg returns argument i, or the keyword name, or def.
func arg(args []any, kwargs map[string]any, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if v, ok := kwargs[name]; ok {
		return v
	}
	return def
}

// stringFilter makes a filter of a function of str(v).
func stringFilter(f func(string) string) filterFunc {
	return func(v any, _ []any, _ map[string]any) (any, error) { return f(str(v)), nil }
}

func filterAbs(v any, _ []any, _ map[string]any) (any, error) {
	switch n := v.(type) {
	case int64:
		if n < 0 {
			return negate("-", n)
		}
		return n, nil
	case float64:
		return math.Abs(n), nil
	case bool:
		return boolInt(n), nil
	case *big.Int:
		return new(big.Int).Abs(n), nil
	}
	return nil, fmt.Errorf("bad operand type for abs(): '%s'", typeName(v))
}

// capitalize is Python's str.capitalize: the first character in title
// case, the rest lower.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	_, size := utf8.DecodeRuneInString(s)
	return titleCaser.String(s[:size]) + lowerCaser.String(s[size:])
}

func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func filterDefault(v any, args []any, kwargs map[string]any) (any, error) {
	def := arg(args, kwargs, 0, "default_value", "")
	boolean := truth(arg(args, kwargs, 1, "boolean", false))
	if _, undef := v.(Undefined); undef || boolean && !truth(v) {
		return def, nil
	}
	return v, nil
}

func filterFirst(v any, _ []any, _ map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{hint: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func filterLast(v any, _ []any, _ map[string]any) (any, error) {
	if _, ok := v.(*Dict); !ok && !isSequence(v) {
		return nil, fmt.Errorf("'%s' object is not reversible", typeName(v))
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{hint: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

// filterInt is jinja2's int filter: int(v), else int(float(v)), else the
// default (0).
func filterInt(v any, args []any, kwargs map[string]any) (any, error) {
	def := arg(args, kwargs, 0, "default", int64(0))
	switch n := v.(type) {
	case Undefined:
		return nil, n.err()
	case int64, *big.Int:
		return n, nil
	case bool:
		return boolInt(n), nil
	case float64:
		return floatToInt(n)
	case string:
		s := strings.ReplaceAll(strings.TrimFunc(n, isSpace), "_", "")
		if i, ok := new(big.Int).SetString(s, 10); ok {
			if i.IsInt64() {
				return i.Int64(), nil
			}
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return floatToInt(f)
		}
	}
	return def, nil
}

func floatToInt(f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("cannot convert float %s to integer", formatFloat(f))
	}
	t := math.Trunc(f)
	if t >= -(1<<63) && t < 1<<63 {
		return int64(t), nil
	}
	b, _ := big.NewFloat(t).Int(nil)
	return b, nil
}

func filterFloat(v any, args []any, kwargs map[string]any) (any, error) {
	def := arg(args, kwargs, 0, "default", 0.0)
	switch n := v.(type) {
	case Undefined:
		return nil, n.err()
	case float64:
		return n, nil
	case int64:
		return float64(n), nil
	case bool:
		return float64(boolInt(n)), nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(n).Float64()
		return f, nil
	case string:
		s := strings.ToLower(strings.TrimFunc(n, isSpace))
		switch strings.TrimLeft(s, "+-") {
		case "inf", "infinity", "nan":
			f, _ := strconv.ParseFloat(s, 64)
			return f, nil
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
			return f, nil
		}
	}
	return def, nil
}

// filterIndent is jinja2's indent(width=4, first=False, blank=False).
func filterIndent(v any, args []any, kwargs map[string]any) (any, error) {
	width := arg(args, kwargs, 0, "width", int64(4))
	first := truth(arg(args, kwargs, 1, "first", false))
	blank := truth(arg(args, kwargs, 2, "blank", false))
	var pad string
	switch w := width.(type) {
	case string:
		pad = w
	case int64:
		pad = strings.Repeat(" ", int(max(0, min(w, 1024))))
	default:
		return nil, fmt.Errorf("width must be an int or a string, not %s", typeName(width))
	}
	s, ok := v.(string)
	if !ok {
		if u, isU := v.(Undefined); isU {
			return nil, u.err()
		}
		// jinja2 appends "\n" to the value and splits its lines.
		return nil, fmt.Errorf("unsupported operand type(s) for +=: '%s' and 'str'", typeName(v))
	}
	lines := splitLines(s + "\n")
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteString("\n")
			if blank || line != "" {
				b.WriteString(pad)
			}
		}
		b.WriteString(line)
	}
	if first {
		return pad + b.String(), nil
	}
	return b.String(), nil
}

// splitLines is Python's str.splitlines().
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029, '\r':
			lines = append(lines, s[start:i])
			i += size
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			start = i
			continue
		}
		i += size
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func filterItems(v any, _ []any, _ map[string]any) (any, error) {
	switch d := v.(type) {
	case Undefined:
		return []any{}, nil
	case *Dict:
		return dictView(d, "dict_items").items, nil
	}
	return nil, fmt.Errorf("can only get item pairs from a mapping")
}

func filterJoin(v any, args []any, kwargs map[string]any) (any, error) {
	sep := str(arg(args, kwargs, 0, "d", ""))
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if attr := arg(args, kwargs, 1, "attribute", nil); attr != nil {
		if items, err = attributes(items, attr); err != nil {
			return nil, err
		}
	}
	parts := make([]string, len(items))
	size := len(sep) * len(items)
	for i, it := range items {
		parts[i] = str(it)
		size += len(parts[i])
	}
	if size > defaultMaxOutput {
		return nil, fmt.Errorf("text passes %d bytes: %w", defaultMaxOutput, ErrLimit)
	}
	return strings.Join(parts, sep), nil
}

// attributes maps items to item[attr], an attribute path like "a.b" or an
// index, as jinja2's attribute arguments do.
func attributes(items []any, attr any) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		v := it
		var parts []any
		if s, ok := attr.(string); ok {
			for _, p := range strings.Split(s, ".") {
				if n, err := strconv.ParseInt(p, 10, 64); err == nil {
					parts = append(parts, n)
				} else {
					parts = append(parts, p)
				}
			}
		} else {
			parts = []any{attr}
		}
		for _, p := range parts {
			var err error
			if v, err = getItem(v, p); err != nil {
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

func filterLength(v any, _ []any, _ map[string]any) (any, error) {
	n, err := length(v)
	return int64(n), err
}

func filterList(v any, _ []any, _ map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	return append([]any{}, items...), nil
}

func filterReplace(v any, args []any, kwargs map[string]any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("replace needs the old and the new text")
	}
	n := -1
	if c, ok := arg(args, kwargs, 2, "count", nil).(int64); ok {
		n = int(max(-1, min(c, math.MaxInt32)))
	}
	s, old, repl := str(v), str(args[0]), str(args[1])
	if grow := len(repl) - len(old); grow > 0 && len(s)+grow*(strings.Count(s, old)) > defaultMaxOutput {
		return nil, fmt.Errorf("text passes %d bytes: %w", defaultMaxOutput, ErrLimit)
	}
	return strings.Replace(s, old, repl, n), nil
}

// filterReverse reverses a string, or lists the items of a sequence in
// reverse. (jinja2 returns an iterator there, which only prints as its
// address.)
func filterReverse(v any, _ []any, _ map[string]any) (any, error) {
	if s, ok := v.(string); ok {
		r := []rune(s)
		slices.Reverse(r)
		return string(r), nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := append([]any{}, items...)
	slices.Reverse(out)
	return out, nil
}

// filterSort is jinja2's sort(reverse=False, case_sensitive=False,
// attribute=None), stable as Python's sorted is.
func filterSort(v any, args []any, kwargs map[string]any) (any, error) {
	reverse := truth(arg(args, kwargs, 0, "reverse", false))
	caseSensitive := truth(arg(args, kwargs, 1, "case_sensitive", false))
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	keys := items
	if attr := arg(args, kwargs, 2, "attribute", nil); attr != nil {
		if keys, err = attributes(items, attr); err != nil {
			return nil, err
		}
	}
	type pair struct{ key, item any }
	pairs := make([]pair, len(items))
	for i := range items {
		k := keys[i]
		if s, ok := k.(string); ok && !caseSensitive {
			k = lowerCaser.String(s)
		}
		pairs[i] = pair{k, items[i]}
	}
	var sortErr error
	slices.SortStableFunc(pairs, func(a, b pair) int {
		c, err := order(a.key, b.key, "<")
		if err != nil && sortErr == nil {
			sortErr = err
		}
		if reverse {
			return -c
		}
		return c
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = p.item
	}
	return out, nil
}

func filterSum(v any, args []any, kwargs map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if attr := arg(args, kwargs, 0, "attribute", nil); attr != nil {
		if items, err = attributes(items, attr); err != nil {
			return nil, err
		}
	}
	total := arg(args, kwargs, 1, "start", int64(0))
	for _, it := range items {
		if total, err = binary("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func filterTrim(v any, args []any, kwargs map[string]any) (any, error) {
	chars := arg(args, kwargs, 0, "chars", nil)
	if chars == nil {
		return strings.TrimFunc(str(v), isSpace), nil
	}
	return strings.Trim(str(v), str(chars)), nil
}

func isInt(v any) bool {
	switch v.(type) {
	case int64, *big.Int:
		return true
	}
	return false
}

func isSequence(v any) bool {
	switch v := v.(type) {
	case string, []any, Tuple, *Dict, Undefined:
		return true
	case view:
		return v.kind == "range"
	}
	return false
}

// isCased is Python's str.islower (with lower) or str.isupper (with
// upper): there are cased characters, and mapping changes none of them.
func isCased(s string, mapping func(string) string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) {
			cased = true
			if mapping(string(r)) != string(r) {
				return false
			}
		}
	}
	return cased
}

func typeTest(f func(any) bool) testFunc {
	return func(v any, args []any) (bool, error) {
		if len(args) > 0 {
			return false, fmt.Errorf("takes no argument, got %d", len(args))
		}
		return f(v), nil
	}
}

func compareTest(op string) testFunc {
	return func(v any, args []any) (bool, error) {
		if len(args) != 1 {
			return false, fmt.Errorf("takes one argument")
		}
		return compare(op, v, args[0])
	}
}

func parityTest(rem int64) testFunc {
	return func(v any, args []any) (bool, error) {
		if len(args) > 0 {
			return false, fmt.Errorf("takes no argument, got %d", len(args))
		}
		m, err := binary("%", v, int64(2))
		if err != nil {
			return false, err
		}
		return equal(m, rem), nil
	}
}

func testDivisibleBy(v any, args []any) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("takes one argument")
	}
	m, err := binary("%", v, args[0])
	if err != nil {
		return false, err
	}
	return equal(m, int64(0)), nil
}

func testIn(v any, args []any) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("takes one argument")
	}
	return contains(args[0], v)
}
