package pdk

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// view is b as a string, without copying, for as long as b is not changed.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// maxDepth is how deep the scanner follows nested values before it leaves
// the inputs to encoding/json.
const maxDepth = 64

// scanner reads JSON from b, following the grammar encoding/json checks.
// Its methods skip white space before a value and report false on JSON
// that is malformed.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the next byte that is not white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *scanner) literal(lit string) bool {
	s.space()
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// skip passes over one value.
func (s *scanner) skip(depth int) bool {
	switch s.peek() {
	case '"':
		_, ok := s.str(nil, false)
		return ok
	case '{':
		if depth >= maxDepth {
			return false
		}
		s.i++
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if s.peek() != '"' || !s.skip(depth+1) || s.peek() != ':' {
				return false
			}
			s.i++
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxDepth {
			return false
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// number passes over a number.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// str passes over the string at the scanner and, when keep is set, appends
// it decoded to dst as encoding/json does, with U+FFFD for invalid UTF-8 and
// lone surrogates.
func (s *scanner) str(dst []byte, keep bool) ([]byte, bool) {
	b := s.b
	i := s.i + 1 // past the quote
	for {
		// Copy a run of bytes that stay as they are in one go.
		start := i
		for i < len(b) {
			i = plainRun(b, i)
			if i == len(b) || b[i] < utf8.RuneSelf {
				break
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		if keep {
			dst = append(dst, b[start:i]...)
		}
		if i >= len(b) {
			return dst, false
		}
		var r rune
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return dst, true
		case c < ' ':
			return dst, false
		case c >= utf8.RuneSelf: // invalid UTF-8
			r = utf8.RuneError
			i++
		default: // an escape
			if i+1 >= len(b) {
				return dst, false
			}
			switch b[i+1] {
			case '"', '\\', '/':
				r = rune(b[i+1])
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				if r = hex4(b[i+2:]); r < 0 {
					return dst, false
				}
				if utf16.IsSurrogate(r) {
					// A valid pair is one rune; anything else is U+FFFD and
					// the next escape is read on its own.
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						if r2 := hex4(b[i+8:]); r2 >= 0 {
							if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
								r = d
								i += 6
							}
						}
					}
					if utf16.IsSurrogate(r) {
						r = unicode.ReplacementChar
					}
				}
				i += 4
			default:
				return dst, false
			}
			i += 2
		}
		if keep {
			dst = utf8.AppendRune(dst, r)
		}
	}
}

// plainRun returns the index of the first byte from i on that is not plain
// ASCII in a JSON string: a quote, a backslash, a control byte or a
// non-ASCII byte. It reads eight bytes at a time, which matters in Wasm,
// where Go's every branch costs several times what it does natively.
func plainRun(b []byte, i int) int {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := load64(b[i:])
		q := w ^ (lo * '"')
		bs := w ^ (lo * '\\')
		// The classic "has a byte less than n" tests (for n = 0x20 and,
		// after the XORs, for zero); they can report a byte after a real
		// match too, which the byte loop below sorts out.
		if (w|(w-lo*0x20)&^w|(q-lo)&^q|(bs-lo)&^bs)&hi != 0 {
			break
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// plain marks the ASCII bytes that a JSON string holds as they are.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hex4 is the value of four hex digits at the start of b, or -1.
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
