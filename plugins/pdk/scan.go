package pdk

import (
	"bytes"
	"unsafe"

	"github.com/weirflow/weir/internal/jsonscan"
)

// view is b as a string, without copying, for as long as b is not changed.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scanner reads JSON from b with weir's JSON scanner, following the
// grammar encoding/json checks. Its methods skip white space before a
// value and report false on JSON that is malformed.
type scanner struct {
	b []byte
	i int
}

// peek is the next byte that is not white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.i = jsonscan.Space(s.b, s.i)
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	return jsonscan.Space(s.b, s.i) == len(s.b)
}

func (s *scanner) literal(lit string) bool {
	s.i = jsonscan.Space(s.b, s.i)
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// skip passes over one value, nested at most jsonscan.MaxDepth deep:
// deeper inputs are left to encoding/json.
func (s *scanner) skip() bool {
	return s.advance(jsonscan.Value(s.b, jsonscan.Space(s.b, s.i)))
}

// number passes over a number.
func (s *scanner) number() bool {
	return s.advance(jsonscan.Number(s.b, s.i))
}

// str passes over the string at the scanner and appends it to dst decoded
// as encoding/json decodes it.
func (s *scanner) str(dst []byte) ([]byte, bool) {
	dst, end := jsonscan.Unquote(dst, s.b, s.i)
	return dst, s.advance(end)
}

// advance moves the scanner to end, an offset from the scanner or -1.
func (s *scanner) advance(end int) bool {
	if end < 0 {
		return false
	}
	s.i = end
	return true
}
