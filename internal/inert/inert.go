// Package inert makes text from a plugin safe to show: bounded in size and
// unable to act on a terminal or a log. A guest's error message or log line
// passes through Text before it reaches an error, a log record or a reply.
package inert

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text returns s with control characters, invalid UTF-8 and the Unicode
// characters that reorder text escaped (a newline becomes `\n`, an ANSI
// escape `\x1b`), cut to at most max bytes of s with "… (N bytes more)"
// after the cut. A max of 0 means no cut.
func Text(s string, max int) string {
	more := 0
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		more = len(s) - cut
		s = s[:cut]
	}
	if clean(s) {
		if more > 0 {
			return fmt.Sprintf("%s… (%d bytes more)", s, more)
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	if more > 0 {
		fmt.Fprintf(&b, "… (%d bytes more)", more)
	}
	return b.String()
}

// clean reports whether s needs no escaping, the common case.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
				return false
			}
			i += n - 1
		}
	}
	return true
}

// unsafeRune: C1 controls, and the marks and overrides that change the
// order text is shown in, which can make a message read as something else.
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) ||
		r == 0x061c || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x2028 || r == 0x2029
}
