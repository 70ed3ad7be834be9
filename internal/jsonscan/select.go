package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Step is one step of a path: a field of an object (Key) or, when IsIndex is
// set, an element of an array (Index).
type Step struct {
	Key     string
	Index   int
	IsIndex bool
}

// ErrMalformed is wrapped by the errors Select returns for bad JSON on the
// scanned part of a document; the message gives the byte offset.
var ErrMalformed = errors.New("malformed JSON")

// MissingError says that a well-formed document has nothing at a path: a field
// that is absent, an index out of range, or a step into a value of the wrong
// kind. Errors returned by Select are of this type or wrap ErrMalformed.
type MissingError struct {
	// At is the index in the path of the step that failed.
	At int
	// Reason says what was missing, such as `no field "c"`.
	Reason string
}

// Error returns the reason only: the caller knows the path and how to show it.
func (e *MissingError) Error() string { return e.Reason }

// Select returns the raw bytes of the value at path in doc, without the
// whitespace around it. An empty path selects the whole value.
//
// The result aliases doc (its capacity ends with the value, so appending to it
// copies); the caller must not modify it. When two fields of an object have
// the same name, the first one is selected.
func Select(doc []byte, path []Step) ([]byte, error) {
	p := Space(doc, 0)
	for i, st := range path {
		var err error
		if st.IsIndex {
			p, err = selectIndex(doc, p, i, st.Index)
		} else {
			p, err = selectField(doc, p, i, st.Key)
		}
		if err != nil {
			return nil, err
		}
	}
	end, err := skipValue(doc, p)
	if err != nil {
		return nil, err
	}
	return doc[p:end:end], nil
}

// selectField returns the offset of the value of field key in the object at p.
func selectField(doc []byte, p, at int, key string) (int, error) {
	if p >= len(doc) {
		return 0, malformed(p, "unexpected end of input")
	}
	if doc[p] != '{' {
		return 0, wrongKind(doc, p, at, fmt.Sprintf("field %q", key))
	}
	p = Space(doc, p+1)
	if p < len(doc) && doc[p] == '}' {
		return 0, &MissingError{At: at, Reason: fmt.Sprintf("no field %q", key)}
	}
	for {
		if p >= len(doc) || doc[p] != '"' {
			return 0, unexpected(doc, p, "a string as object key")
		}
		end, plain, err := scanKey(doc, p)
		if err != nil {
			return 0, err
		}
		match := keyEqual(doc[p+1:end-1], plain, key)
		p = Space(doc, end)
		if p >= len(doc) || doc[p] != ':' {
			return 0, unexpected(doc, p, `":" after object key`)
		}
		p = Space(doc, p+1)
		if match {
			return p, nil
		}
		if p, err = skipValue(doc, p); err != nil {
			return 0, err
		}
		p = Space(doc, p)
		if p >= len(doc) {
			return 0, malformed(p, "unexpected end of input")
		}
		switch doc[p] {
		case ',':
			p = Space(doc, p+1)
		case '}':
			return 0, &MissingError{At: at, Reason: fmt.Sprintf("no field %q", key)}
		default:
			return 0, unexpected(doc, p, `"," or "}" after object value`)
		}
	}
}

// selectIndex returns the offset of element idx of the array at p. An index
// out of range costs a scan of the whole array, for the length in the error.
func selectIndex(doc []byte, p, at, idx int) (int, error) {
	if p >= len(doc) {
		return 0, malformed(p, "unexpected end of input")
	}
	if doc[p] != '[' {
		return 0, wrongKind(doc, p, at, fmt.Sprintf("index %d", idx))
	}
	p = Space(doc, p+1)
	n := 0
	if p < len(doc) && doc[p] == ']' {
		return 0, outOfRange(at, idx, n)
	}
	for {
		if n == idx {
			return p, nil
		}
		var err error
		if p, err = skipValue(doc, p); err != nil {
			return 0, err
		}
		n++
		p = Space(doc, p)
		if p >= len(doc) {
			return 0, malformed(p, "unexpected end of input")
		}
		switch doc[p] {
		case ',':
			p = Space(doc, p+1)
		case ']':
			return 0, outOfRange(at, idx, n)
		default:
			return 0, unexpected(doc, p, `"," or "]" after array element`)
		}
	}
}

func outOfRange(at, idx, n int) error {
	return &MissingError{At: at, Reason: fmt.Sprintf("index %d out of range (length %d)", idx, n)}
}

// wrongKind reports a step into a value that cannot have one, or bad JSON if
// the value at p is not a value at all.
func wrongKind(doc []byte, p, at int, what string) error {
	var kind string
	switch c := doc[p]; {
	case c == '{':
		kind = "an object"
	case c == '[':
		kind = "an array"
	case c == '"':
		kind = "a string"
	case c == '-' || isDigit(c):
		kind = "a number"
	case hasLiteral(doc[p:], "true") || hasLiteral(doc[p:], "false"):
		kind = "a boolean"
	case hasLiteral(doc[p:], "null"):
		kind = "null"
	default:
		return unexpected(doc, p, "a value")
	}
	return &MissingError{At: at, Reason: fmt.Sprintf("cannot select %s from %s", what, kind)}
}

func malformed(off int, msg string) error {
	return fmt.Errorf("%w at byte %d: %s", ErrMalformed, off, msg)
}

func unexpected(doc []byte, p int, want string) error {
	if p >= len(doc) {
		return malformed(p, "unexpected end of input, expected "+want)
	}
	return malformed(p, fmt.Sprintf("unexpected %q, expected %s", doc[p:p+1], want))
}

// numberByte marks the bytes a number can contain; skipping a number does not
// check their order, since a document is validated where it enters.
var numberByte = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'-': true, '+': true, '.': true, 'e': true, 'E': true,
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func hasLiteral(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// skipValue returns the offset just past the value that starts at p.
func skipValue(doc []byte, p int) (int, error) {
	if p >= len(doc) {
		return 0, malformed(p, "unexpected end of input, expected a value")
	}
	switch c := doc[p]; c {
	case '"':
		return skipString(doc, p)
	case '{', '[':
		return skipContainer(doc, p)
	case 't':
		return skipLiteral(doc, p, "true")
	case 'f':
		return skipLiteral(doc, p, "false")
	case 'n':
		return skipLiteral(doc, p, "null")
	default:
		if c != '-' && !isDigit(c) {
			return 0, unexpected(doc, p, "a value")
		}
		p++
		for p < len(doc) && numberByte[doc[p]] {
			p++
		}
		return p, nil
	}
}

func skipLiteral(doc []byte, p int, lit string) (int, error) {
	if !hasLiteral(doc[p:], lit) {
		return 0, malformed(p, fmt.Sprintf("invalid literal, expected %q", lit))
	}
	return p + len(lit), nil
}

// skipString returns the offset just past the string that starts at p. It
// only looks for the closing quote: escapes and control bytes are not checked.
func skipString(doc []byte, p int) (int, error) {
	i := p + 1
	// Most strings are short: a plain loop beats the call to IndexByte.
	for n := min(len(doc), i+16); i < n; i++ {
		switch doc[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++
		}
	}
	if i > len(doc) {
		return 0, malformed(p, "unterminated string")
	}
	for {
		j := bytes.IndexByte(doc[i:], '"')
		if j < 0 {
			return 0, malformed(p, "unterminated string")
		}
		i += j
		// An odd run of backslashes before a quote escapes it.
		k := i
		for doc[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1, nil
		}
		i++
	}
}

// skipContainer returns the offset just past the object or array at p by
// counting brackets outside strings; it does not check that they pair up.
func skipContainer(doc []byte, p int) (int, error) {
	depth := 0
	for i := p; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			end, err := skipString(doc, i)
			if err != nil {
				return 0, err
			}
			i = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	if doc[p] == '{' {
		return 0, malformed(p, "unterminated object")
	}
	return 0, malformed(p, "unterminated array")
}

// scanKey returns the offset just past the key string at p, and whether its
// bytes are its value (no escapes and no bytes that decoding could replace).
func scanKey(doc []byte, p int) (end int, plain bool, err error) {
	plain = true
	for i := p + 1; i < len(doc); i++ {
		switch c := doc[i]; {
		case c == '"':
			return i + 1, plain, nil
		case c == '\\':
			plain = false
			i++
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return 0, false, malformed(p, "unterminated string")
}

// keyEqual reports whether the raw (still quoted) key decodes to key.
func keyEqual(raw []byte, plain bool, key string) bool {
	if plain {
		return string(raw) == key
	}
	if len(raw) < len(key)/utf8.UTFMax {
		return false
	}
	k := 0
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		r, n := decodeRune(raw[i:])
		i += n
		var b []byte
		if r < utf8.RuneSelf {
			buf[0] = byte(r)
			b = buf[:1]
		} else {
			b = buf[:utf8.EncodeRune(buf[:], r)]
		}
		if len(key)-k < len(b) || key[k:k+len(b)] != string(b) {
			return false
		}
		k += len(b)
	}
	return k == len(key)
}

// decodeRune decodes one character of the content of a JSON string the way
// encoding/json does: invalid UTF-8 and unpaired surrogates become U+FFFD. A
// bad escape decodes as its backslash, so the caller stays in bounds; such a
// key matches nothing that a valid document could hold.
func decodeRune(s []byte) (r rune, n int) {
	c := s[0]
	switch {
	case c < utf8.RuneSelf && c != '\\':
		return rune(c), 1
	case c != '\\':
		return utf8.DecodeRune(s)
	}
	if r, n = unescape(s); n == 0 {
		return '\\', 1
	}
	return r, n
}
