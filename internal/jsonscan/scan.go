package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The functions of this file check what they scan, following the grammar
// encoding/json checks (RFC 8259, except that bytes from 0x80 in strings
// are not checked as UTF-8). Each takes a document and the offset of a
// token, returns the offset just past it, or -1 when the bytes there are
// not one; they never allocate and never panic.

// MaxDepth is how deeply Value follows objects and arrays inside each other.
const MaxDepth = 64

// Space returns the offset of the first byte from i on that is not JSON
// white space.
func Space(b []byte, i int) int {
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	return i
}

// isSpace marks JSON's four white space bytes.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// Value returns the offset just past the value at b[i], or -1 when it is
// not valid or nests objects and arrays deeper than MaxDepth.
func Value(b []byte, i int) int { return value(b, i, 0) }

func value(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		end, _ := String(b, i)
		return end
	case '{', '[':
		if depth >= MaxDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = Space(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return -1
				}
				end, _ := String(b, i)
				if end < 0 {
					return -1
				}
				if i = Space(b, end); i >= len(b) || b[i] != ':' {
					return -1
				}
				i = Space(b, i+1)
			}
			end := value(b, i, depth+1)
			if end < 0 {
				return -1
			}
			switch i = Space(b, end); {
			case i >= len(b):
				return -1
			case b[i] == ',':
				i = Space(b, i+1)
			case b[i] == closer:
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	return Number(b, i)
}

func literal(b []byte, i int, lit string) int {
	if hasLiteral(b[i:], lit) {
		return i + len(lit)
	}
	return -1
}

// Number returns the offset just past the number at b[i], or -1 when none
// starts there.
func Number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		end := digits(b, i+1)
		if end == i+1 {
			return -1
		}
		i = end
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		end := digits(b, i)
		if end == i {
			return -1
		}
		i = end
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// String returns the offset just past the string at b[i], a quote, or -1
// when it is not valid (a control byte, a bad escape, no closing quote);
// escaped says whether it holds an escape.
func String(b []byte, i int) (end int, escaped bool) {
	for i++; ; {
		i = PlainRun(b, i)
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 {
				return -1, false
			}
			i += n
			escaped = true
		case c < ' ':
			return -1, false
		default: // from 0x80
			i++
		}
	}
}

// escapeLen is the length of the valid escape at the start of s, or 0.
func escapeLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if hex4(s[2:]) >= 0 {
			return 6
		}
	}
	return 0
}

// Unquote appends the content of the string at b[i] to dst, decoded as
// encoding/json decodes it (invalid UTF-8 and lone surrogates become
// U+FFFD), and returns the offset just past the string, or -1 when it is
// not valid.
func Unquote(dst, b []byte, i int) ([]byte, int) {
	for i++; ; {
		// Append a run of bytes that stay as they are in one go.
		start := i
		for i < len(b) {
			if i = PlainRun(b, i); i == len(b) || b[i] < utf8.RuneSelf {
				break
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		dst = append(dst, b[start:i]...)
		if i >= len(b) {
			return dst, -1
		}
		switch c := b[i]; {
		case c == '"':
			return dst, i + 1
		case c < ' ':
			return dst, -1
		case c >= utf8.RuneSelf: // invalid UTF-8
			dst = append(dst, "\uFFFD"...)
			i++
		default:
			r, n := unescape(b[i:])
			if n == 0 {
				return dst, -1
			}
			dst = utf8.AppendRune(dst, r)
			i += n
		}
	}
}

// unescape decodes the escape at the start of s, and returns its length, 0
// for an invalid one. A valid pair of \u escapes of surrogates is one rune;
// a surrogate outside such a pair is U+FFFD, 6 bytes long.
func unescape(s []byte) (rune, int) {
	if len(s) < 2 {
		return 0, 0
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s[2:])
		switch {
		case r < 0:
			return 0, 0
		case !utf16.IsSurrogate(r):
			return r, 6
		}
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2 := hex4(s[8:]); r2 >= 0 {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return 0, 0
}

// hex4 is the value of the four hex digits at the start of b, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// PlainRun returns the offset of the first byte from i on that a JSON
// string does not hold as it is: a quote, a backslash, a control byte or a
// byte from 0x80. It reads eight bytes at a time, two words a turn, which matters most in
// Wasm, where every branch costs several times what it does natively.
func PlainRun(b []byte, i int) int {
	rest := b[i:]
	for len(rest) >= 8 && !special(load64(rest[:8])) {
		if len(rest) < 16 || special(load64(rest[8:16])) {
			rest = rest[8:]
			break
		}
		rest = rest[16:]
	}
	i = len(b) - len(rest)
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// special reports whether any of the eight bytes in x is not plain: the
// classic tests for a zero byte, on x and on x xor the byte looked for,
// and for a byte under 0x20. They can report a byte after a real match
// too, which the byte loop of PlainRun sorts out.
func special(x uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return (x|(q-ones)&^q|(bs-ones)&^bs|(x-ones*0x20)&^x)&highs != 0
}

// plain marks the bytes a JSON string holds as they are: printable ASCII
// but for the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
