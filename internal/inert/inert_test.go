package inert

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestText(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"plain text, é and 日本", 0, "plain text, é and 日本"},
		{"two\nlines", 0, `two\nlines`},
		{"forged\nlevel=ERROR msg=\"admin logged in\"", 0, `forged\nlevel=ERROR msg="admin logged in"`},
		{"\x1b[31mred\x1b[0m", 0, `\x1b[31mred\x1b[0m`},
		{"nul\x00 del\x7f tab\t cr\r", 0, `nul\x00 del\x7f tab\t cr\r`},
		{"bad \xff utf-8", 0, `bad \xff utf-8`},
		{"abc\u202edcba", 0, `abc\u202edcba`},
		{"\u0085next line", 0, `\u0085next line`},
		{strings.Repeat("x", 100), 10, "xxxxxxxxxx… (90 bytes more)"},
		{"ééééé", 3, "é… (8 bytes more)"},
		{"a\nb" + strings.Repeat("y", 10), 4, `a\nby… (9 bytes more)`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Text(c.in, c.max), "%q", c.in)
	}
}

func FuzzText(f *testing.F) {
	f.Add("hello\n\x1b[0m\xff", 8)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 16
		out := Text(s, max)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Text(%q) = %q keeps %U", s, out, r)
			}
		}
		if !strings.Contains(out, "\uFFFD") && !isValid(out) {
			t.Fatalf("Text(%q) = %q is not valid UTF-8", s, out)
		}
	})
}

func isValid(s string) bool { return strings.ToValidUTF8(s, "?") == s }
