// Package jsoncheck checks that a tool's output is one JSON object the rest
// of weir can use as it is: valid JSON (RFC 8259) in valid UTF-8, nested at
// most a given depth. It is the one check between a plugin and the engine,
// so it runs on every node's output and is written to be cheap: one pass,
// no allocation for outputs nested less than 64 deep.
package jsoncheck

import (
	"fmt"
	"unicode/utf8"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Error says where and why an output is not acceptable.
type Error struct {
	Offset int // the byte the problem was found at
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d", e.Reason, e.Offset)
}

// Object checks that b is one JSON object, with white space around it at
// most, nested no deeper than maxDepth objects and arrays.
func Object(b []byte, maxDepth int) error {
	c := checker{b: b, max: maxDepth}
	c.space()
	if c.i >= len(b) {
		return &Error{Offset: c.i, Reason: "empty output, not a JSON object"}
	}
	if b[c.i] != '{' {
		return &Error{Offset: c.i, Reason: fmt.Sprintf("output starts with %s, not a JSON object", describe(b[c.i]))}
	}
	if err := c.value(); err != nil {
		return err
	}
	c.space()
	if c.i < len(b) {
		return c.fail("data after the JSON object")
	}
	return nil
}

type checker struct {
	b   []byte
	i   int
	max int
	// The open containers: depth of them, the closing bracket of the
	// first 64 as bits of shallow (1: '}'), of the rest in deep.
	depth   int
	shallow uint64
	deep    []byte
}

func (c *checker) push(close byte) {
	if c.depth < 64 {
		if close == '}' {
			c.shallow |= 1 << c.depth
		} else {
			c.shallow &^= 1 << c.depth
		}
	} else {
		c.deep = append(c.deep, close)
	}
	c.depth++
}

func (c *checker) top() byte {
	if d := c.depth - 1; d >= 64 {
		return c.deep[d-64]
	} else if c.shallow&(1<<d) != 0 {
		return '}'
	}
	return ']'
}

func (c *checker) pop() {
	c.depth--
	if c.depth >= 64 {
		c.deep = c.deep[:c.depth-64]
	}
}

func (c *checker) fail(reason string) error { return &Error{Offset: c.i, Reason: reason} }

func (c *checker) space() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value reads one value, containers included, without recursion.
func (c *checker) value() error {
	for {
		// A value starts here.
		c.space()
		if c.i >= len(c.b) {
			return c.fail("unexpected end of JSON")
		}
		switch ch := c.b[c.i]; {
		case ch == '{' || ch == '[':
			if c.depth >= c.max {
				return c.fail(fmt.Sprintf("JSON nested deeper than %d", c.max))
			}
			c.i++
			c.space()
			if ch == '{' {
				c.push('}')
				if c.i < len(c.b) && c.b[c.i] == '}' {
					c.i++
					c.pop()
					break
				}
				if err := c.key(); err != nil {
					return err
				}
				continue
			}
			c.push(']')
			if c.i < len(c.b) && c.b[c.i] == ']' {
				c.i++
				c.pop()
				break
			}
			continue
		case ch == '"':
			if err := c.str(); err != nil {
				return err
			}
		case ch == 't':
			if err := c.literal("true"); err != nil {
				return err
			}
		case ch == 'f':
			if err := c.literal("false"); err != nil {
				return err
			}
		case ch == 'n':
			if err := c.literal("null"); err != nil {
				return err
			}
		case ch == '-' || ch >= '0' && ch <= '9':
			if err := c.number(); err != nil {
				return err
			}
		default:
			return c.fail(fmt.Sprintf("%s where a JSON value should start", describe(ch)))
		}
		// A value ended: close containers until one goes on.
		for {
			if c.depth == 0 {
				return nil
			}
			c.space()
			if c.i >= len(c.b) {
				return c.fail("unexpected end of JSON")
			}
			top := c.top()
			ch := c.b[c.i]
			if ch == top {
				c.i++
				c.pop()
				continue
			}
			if ch != ',' {
				return c.fail(fmt.Sprintf("%s after a value, where ',' or '%c' should be", describe(ch), top))
			}
			c.i++
			if top == '}' {
				c.space()
				if err := c.key(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// key reads `"name" :`.
func (c *checker) key() error {
	if c.i >= len(c.b) {
		return c.fail("unexpected end of JSON")
	}
	if c.b[c.i] != '"' {
		return c.fail(fmt.Sprintf("%s where an object key should start", describe(c.b[c.i])))
	}
	if err := c.str(); err != nil {
		return err
	}
	c.space()
	if c.i >= len(c.b) || c.b[c.i] != ':' {
		if c.i >= len(c.b) {
			return c.fail("unexpected end of JSON")
		}
		return c.fail(fmt.Sprintf("%s after an object key, where ':' should be", describe(c.b[c.i])))
	}
	c.i++
	return nil
}

func (c *checker) str() error {
	c.i++ // the opening quote
	b, i := c.b, c.i
	for {
		// Past the bytes that need no look, eight at a time: no quote,
		// backslash, control character or byte of a multi-byte rune.
		i = jsonscan.PlainRun(b, i)
		c.i = i
		if i >= len(b) {
			break
		}
		ch := b[i]
		switch {
		case ch == '"':
			c.i++
			return nil
		case ch == '\\':
			if err := c.escape(); err != nil {
				return err
			}
		case ch < 0x20:
			return c.fail(fmt.Sprintf("control character %#02x in a string", ch))
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return c.fail("invalid UTF-8 in a string")
			}
			c.i += n
		}
		i = c.i
	}
	return c.fail("unexpected end of JSON in a string")
}

func (c *checker) escape() error {
	if c.i+1 >= len(c.b) {
		c.i++
		return c.fail("unexpected end of JSON in a string")
	}
	switch c.b[c.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		c.i += 2
		return nil
	case 'u':
		for k := 2; k < 6; k++ {
			if c.i+k >= len(c.b) || !isHex(c.b[c.i+k]) {
				c.i += min(k, len(c.b)-c.i)
				return c.fail(`invalid \u escape in a string`)
			}
		}
		c.i += 6
		return nil
	}
	c.i++
	return c.fail(fmt.Sprintf("invalid escape \\%s in a string", printable(c.b[c.i])))
}

func isHex(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F'
}

func (c *checker) literal(word string) error {
	if len(c.b)-c.i < len(word) || string(c.b[c.i:c.i+len(word)]) != word {
		return c.fail(fmt.Sprintf("invalid literal, not %s", word))
	}
	c.i += len(word)
	return nil
}

func (c *checker) number() error {
	if c.b[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(c.b) && c.b[c.i] == '0':
		c.i++
	case c.digits() == 0:
		return c.fail("invalid number")
	}
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			return c.fail("invalid number: no digits after '.'")
		}
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			return c.fail("invalid number: no digits in the exponent")
		}
	}
	return nil
}

func (c *checker) digits() int {
	start := c.i
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		c.i++
	}
	return c.i - start
}

// describe names a byte for a message: the character when it is printable.
func describe(ch byte) string {
	return "'" + printable(ch) + "'"
}

func printable(ch byte) string {
	if ch >= 0x20 && ch < 0x7f {
		return string(ch)
	}
	return fmt.Sprintf("\\x%02x", ch)
}
