package engine

import (
	"strings"
	"testing"
)

// FuzzRedactStream cuts a text into pieces and checks that the redacting
// stream emits what Redactor.String makes of the whole text, wherever a
// value is cut.
func FuzzRedactStream(f *testing.F) {
	f.Add("the key abcdefg and abcd, x\"yz!", uint8(3), uint8(7))
	f.Add("abcabcdabcde", uint8(1), uint8(1))
	f.Add(`"x\"yz"`, uint8(2), uint8(0))
	r := NewRedactor()
	for _, v := range []string{"abcd", "abcdefg", "cdab", `x"yz`} {
		r.Add(v)
	}
	f.Fuzz(func(t *testing.T, text string, a, b uint8) {
		var got strings.Builder
		s := r.stream(func(chunk string) { got.WriteString(chunk) })
		// Pieces of a and b bytes in turn; a zero size is one byte.
		for i, size := 0, a; i < len(text); size = a + b - size {
			n := min(int(max(size, 1)), len(text)-i)
			s.write(text[i : i+n])
			i += n
		}
		s.flush()
		if want := r.String(text); got.String() != want {
			t.Fatalf("streamed %q, want %q", got.String(), want)
		}
	})
}
