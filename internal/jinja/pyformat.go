package jinja

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// percentFormat is Python's "format % args" (printf-style formatting), as
// jinja2 evaluates "{{ '%.2f' % score }}": a tuple gives one value per
// conversion, a dict values by "%(key)s", anything else one value.
func percentFormat(format string, args any) (string, error) {
	var list []any
	mapping, isDict := args.(*Dict)
	// Python takes a non-tuple that has items (a dict, a list, Undefined)
	// as a mapping: no error when the format has no conversion.
	lenient := false
	switch a := args.(type) {
	case Tuple:
		list = a
	case *Dict, []any, Undefined, view:
		list, lenient = []any{a}, true
	default:
		list = []any{a}
	}
	next := 0
	var b strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(format) {
			return "", errors.New("incomplete format")
		}
		var v any
		haveV := false
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", errors.New("incomplete format key")
			}
			if !isDict {
				return "", errors.New("format requires a mapping")
			}
			key := format[i+1 : i+end]
			x, ok := mapping.Get(key)
			if !ok {
				return "", fmt.Errorf("KeyError: %s", reprOf(key))
			}
			v, haveV = x, true
			i += end + 1
		}
		var spec fmtSpec
		for ; i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0; i++ {
			spec.flags += string(format[i])
		}
		takeNum := func() (int, error) {
			if i < len(format) && format[i] == '*' {
				i++
				if next >= len(list) {
					return 0, errors.New("not enough arguments for format string")
				}
				n, ok := list[next].(int64)
				next++
				if !ok {
					return 0, errors.New("* wants int")
				}
				return int(min(max(n, -1024), 1024)), nil
			}
			start := i
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				i++
			}
			if start == i {
				return -1, nil
			}
			n, _ := strconv.Atoi(format[start:i])
			return min(n, 1024), nil
		}
		var err error
		if spec.width, err = takeNum(); err != nil {
			return "", err
		}
		spec.prec = -1
		if i < len(format) && format[i] == '.' {
			i++
			if spec.prec, err = takeNum(); err != nil {
				return "", err
			}
			spec.prec = max(spec.prec, 0)
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return "", errors.New("incomplete format")
		}
		conv := format[i]
		i++
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveV {
			if next >= len(list) {
				return "", errors.New("not enough arguments for format string")
			}
			v = list[next]
			next++
		}
		s, err := spec.convert(conv, v)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	if next < len(list) && !lenient && !isDict {
		return "", errors.New("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

type fmtSpec struct {
	flags       string
	width, prec int
}

func (s fmtSpec) has(flag byte) bool { return strings.IndexByte(s.flags, flag) >= 0 }

func (s fmtSpec) convert(conv byte, v any) (string, error) {
	switch conv {
	case 's', 'r', 'a':
		text := str(v)
		if conv != 's' {
			text = reprOf(v)
		}
		if s.prec >= 0 && utf8.RuneCountInString(text) > s.prec {
			text = string([]rune(text)[:s.prec])
		}
		return s.pad(text), nil
	case 'd', 'i', 'u', 'x', 'X', 'o':
		n, err := formatInt(conv, v)
		if err != nil {
			return "", err
		}
		sign, digits := "", n.String()
		if n.Sign() < 0 {
			sign, digits = "-", digits[1:]
		}
		switch conv {
		case 'x', 'X', 'o':
			base := map[byte]int{'x': 16, 'X': 16, 'o': 8}[conv]
			digits = new(big.Int).Abs(n).Text(base)
			if conv == 'X' {
				digits = strings.ToUpper(digits)
			}
			if s.has('#') {
				digits = "0" + string(conv) + digits
			}
		}
		if s.prec > len(digits) {
			digits = strings.Repeat("0", s.prec-len(digits)) + digits
		}
		return s.padNumber(sign, digits), nil
	case 'f', 'F', 'e', 'E', 'g', 'G':
		f, ok := toFloat(v)
		if !ok {
			return "", fmt.Errorf("must be real number, not %s", typeName(v))
		}
		prec := s.prec
		if prec < 0 {
			prec = 6
		}
		sign := ""
		if math.Signbit(f) && !math.IsNaN(f) {
			sign, f = "-", -f
		}
		var digits string
		switch {
		case math.IsInf(f, 0):
			digits = "inf"
		case math.IsNaN(f):
			digits = "nan"
		case conv == 'g' || conv == 'G':
			digits = formatG(f, prec, s.has('#'))
		default:
			digits = strconv.FormatFloat(f, conv|0x20, prec, 64)
		}
		if conv == 'F' || conv == 'E' || conv == 'G' {
			digits = strings.ToUpper(digits)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			s.flags = strings.ReplaceAll(s.flags, "0", "")
		}
		return s.padNumber(sign, digits), nil
	case 'c':
		switch c := v.(type) {
		case int64:
			if c < 0 || c > unicode10FFFF {
				return "", errors.New("%c arg not in range(0x110000)")
			}
			return s.pad(string(rune(c))), nil
		case string:
			if utf8.RuneCountInString(c) == 1 {
				return s.pad(c), nil
			}
		}
		return "", errors.New("%c requires int or char")
	}
	return "", fmt.Errorf("unsupported format character '%c'", conv)
}

const unicode10FFFF = 0x10ffff

// formatG is C's %g, which Python's % follows: precision significant
// digits, exponent notation below 1e-4 or from 10**precision, trailing
// zeros dropped unless alt.
func formatG(f float64, prec int, alt bool) string {
	if prec == 0 {
		prec = 1
	}
	e := strconv.FormatFloat(f, 'e', prec-1, 64)
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	var out string
	if exp < -4 || exp >= prec {
		if !alt && strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	out = strconv.FormatFloat(f, 'f', max(prec-1-exp, 0), 64)
	if !alt && strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out
}

func formatInt(conv byte, v any) (*big.Int, error) {
	switch n := v.(type) {
	case int64:
		return big.NewInt(n), nil
	case bool:
		return big.NewInt(boolInt(n)), nil
	case *big.Int:
		return n, nil
	case float64:
		if conv == 'x' || conv == 'X' || conv == 'o' {
			return nil, fmt.Errorf("%%%c format: an integer is required, not float", conv)
		}
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, fmt.Errorf("cannot convert float %s to integer", formatFloat(n))
		}
		b, _ := big.NewFloat(math.Trunc(n)).Int(nil)
		return b, nil
	}
	return nil, fmt.Errorf("%%%c format: a real number is required, not %s", conv, typeName(v))
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case bool:
		return float64(boolInt(n)), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(n).Float64()
		return f, true
	}
	return 0, false
}

// pad aligns text in the field width: right unless the flag "-".
func (s fmtSpec) pad(text string) string {
	n := utf8.RuneCountInString(text)
	if s.width <= n {
		return text
	}
	fill := strings.Repeat(" ", s.width-n)
	if s.has('-') {
		return text + fill
	}
	return fill + text
}

// padNumber adds the sign ("+" and " " flags) and pads with zeros after
// the sign when the flag "0" is set and "-" is not.
func (s fmtSpec) padNumber(sign, digits string) string {
	if sign == "" {
		switch {
		case s.has('+'):
			sign = "+"
		case s.has(' '):
			sign = " "
		}
	}
	if s.has('0') && !s.has('-') && s.width > len(sign)+len(digits) {
		digits = strings.Repeat("0", s.width-len(sign)-len(digits)) + digits
	}
	return s.pad(sign + digits)
}
