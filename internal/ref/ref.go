package ref

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Ref is one reference in a string.
type Ref struct {
	// Root is the name the path starts from: "inputs", a node, "data".
	Root  string
	Steps []jsonscan.Step
	// Offset is the byte offset in the parsed string of the "$" that opens the
	// reference, and End the offset just past its "}".
	Offset int
	End    int
}

// String returns the path in canonical form, such as `inputs.a["b c"][0]`:
// keys that are names after a ".", other keys quoted as JSON strings.
func (r Ref) String() string {
	b := make([]byte, 0, len(r.Root)+8*len(r.Steps))
	b = append(b, r.Root...)
	for _, st := range r.Steps {
		b = appendStep(b, st)
	}
	return string(b)
}

func appendStep(b []byte, st jsonscan.Step) []byte {
	switch {
	case st.IsIndex:
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(st.Index), 10)
		return append(b, ']')
	case isName(st.Key):
		b = append(b, '.')
		return append(b, st.Key...)
	default:
		b = append(b, '[')
		b = jsonscan.AppendString(b, st.Key)
		return append(b, ']')
	}
}

// Part is one piece of a string: literal Text or a Ref, never both.
type Part struct {
	Text string
	Ref  *Ref
}

// Template is a parsed string: its parts in order, with adjacent text merged
// and escapes resolved. The empty string has no parts.
type Template struct {
	Parts []Part
}

// IsRef reports whether the string is exactly one reference, which stands
// for the referenced value with its type rather than for text.
func (t Template) IsRef() bool {
	return len(t.Parts) == 1 && t.Parts[0].Ref != nil
}

// IsLiteral reports whether the string holds no reference.
func (t Template) IsLiteral() bool {
	for _, p := range t.Parts {
		if p.Ref != nil {
			return false
		}
	}
	return true
}

// Refs returns copies of the references in order; nil if there are none.
func (t Template) Refs() []Ref {
	var refs []Ref
	for _, p := range t.Parts {
		if p.Ref != nil {
			refs = append(refs, *p.Ref)
		}
	}
	return refs
}

// String returns the template in canonical source form: text with "${"
// escaped as "$${" and references as "${" + Ref.String() + "}". Parsing it
// gives back the same parts (at other offsets if the source was not
// canonical).
func (t Template) String() string {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Ref != nil {
			b.WriteString("${")
			b.WriteString(p.Ref.String())
			b.WriteString("}")
			continue
		}
		b.WriteString(strings.ReplaceAll(p.Text, "${", "$${"))
	}
	return b.String()
}

// SyntaxError is a malformed reference or path.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the parsed string, for the
	// caller to turn into a line and column of its file.
	Offset int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error returns Msg alone: the caller, who knows the file, adds the position.
func (e *SyntaxError) Error() string { return e.Msg }

// Parse splits s into literal text and references. Errors are *SyntaxError.
func Parse(s string) (Template, error) {
	var t Template
	var text []byte // the literal so far when an escape has split it
	start := 0      // where the literal not yet in text begins
	flush := func(end int) {
		lit := s[start:end]
		if text != nil {
			lit = string(append(text, lit...))
			text = nil
		}
		if lit != "" {
			t.Parts = append(t.Parts, Part{Text: lit})
		}
	}
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			break
		}
		j += i
		switch {
		case strings.HasPrefix(s[j:], "$${"):
			// Keep "${" of the escape as text, drop the first "$".
			text = append(text, s[start:j]...)
			start = j + 1
			i = j + 3
		case strings.HasPrefix(s[j:], "${"):
			r, err := parseRef(s, j)
			if err != nil {
				return Template{}, err
			}
			flush(j)
			t.Parts = append(t.Parts, Part{Ref: r})
			start, i = r.End, r.End
		default:
			i = j + 1
		}
	}
	flush(len(s))
	return t, nil
}

// ParsePath parses a bare path such as "data.col" or `a["b c"][0]`, without
// "${" and "}". Errors are *SyntaxError.
func ParsePath(s string) (root string, steps []jsonscan.Step, err error) {
	p := parser{s: s}
	root, steps, end, err := p.path(0)
	if err != nil {
		return "", nil, err
	}
	if end != len(s) {
		return "", nil, p.unexpected(end)
	}
	return root, steps, nil
}

// ParseSteps parses a path of steps alone, such as "a.b[0]", `["odd key"].x`
// or "[1][0]": the steps of a path whose first step may be a name or a
// bracket, with no root. builtin.json's pick takes paths so. Errors are
// *SyntaxError.
func ParseSteps(s string) ([]jsonscan.Step, error) {
	p := parser{s: s, steps: true}
	root, steps, end, err := p.path(0)
	if err != nil {
		return nil, err
	}
	if end != len(s) {
		return nil, p.unexpected(end)
	}
	if root != "" {
		steps = append([]jsonscan.Step{{Key: root}}, steps...)
	}
	return steps, nil
}

// FormatSteps returns steps in the canonical form ParseSteps reads, such
// as `a["b c"][0]`.
func FormatSteps(steps []jsonscan.Step) string {
	var b []byte
	for _, st := range steps {
		b = appendStep(b, st)
	}
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	return string(b)
}

// parseRef parses the reference whose "${" is at o.
func parseRef(s string, o int) (*Ref, error) {
	p := parser{s: s, start: o, ref: true}
	root, steps, end, err := p.path(o + 2)
	switch {
	case err != nil:
		return nil, err
	case end < len(s) && s[end] == '}':
		return &Ref{Root: root, Steps: steps, Offset: o, End: end + 1}, nil
	}
	// The path is well formed but not closed. If no "}" follows before the
	// next reference, the "}" was forgotten: "Hello ${inputs.name, welcome".
	rest := s[end:]
	closing := strings.IndexByte(rest, '}')
	if next := strings.Index(rest, "${"); closing < 0 || next >= 0 && next < closing {
		return nil, p.unclosed(end)
	}
	return nil, p.unexpected(end)
}

// parser parses one path, in a reference or bare, and words its errors.
type parser struct {
	s     string
	start int  // offset of the "$" of "${", or 0 for a bare path
	ref   bool // whether the path is inside "${...}"
	steps bool // whether the path has no root and may start with "["
}

// path parses a path from offset i and returns the offset just past it: the
// caller decides what may follow.
func (p *parser) path(i int) (root string, steps []jsonscan.Step, end int, err error) {
	s := p.s
	if i == len(s) {
		if p.ref {
			return "", nil, 0, p.unclosed(i)
		}
		return "", nil, 0, p.fail(i, "empty path: write a path such as a.b[0]")
	}
	if p.ref && s[i] == '}' {
		return "", nil, 0, p.fail(p.start, `empty reference "${}": write a path such as ${inputs.name}, or $${} for the literal text`)
	}
	switch {
	case p.steps && s[i] == '[':
	case !isNameStart(s[i]):
		return "", nil, 0, p.noName(i)
	default:
		j := nameEnd(s, i)
		root, i = s[i:j], j
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i == len(s) && p.ref {
				return "", nil, 0, p.unclosed(i)
			}
			if i == len(s) || !isNameStart(s[i]) {
				return "", nil, 0, p.noField(i)
			}
			j := nameEnd(s, i)
			steps = append(steps, jsonscan.Step{Key: s[i:j]})
			i = j
		case '[':
			st, next, err := p.index(i)
			if err != nil {
				return "", nil, 0, err
			}
			steps = append(steps, st)
			i = next
		default:
			return root, steps, i, nil
		}
	}
	return root, steps, i, nil
}

// index parses the step "[N]" or `["key"]` at b.
func (p *parser) index(b int) (jsonscan.Step, int, error) {
	s := p.s
	i := b + 1
	if i == len(s) {
		if p.ref {
			return jsonscan.Step{}, 0, p.unclosed(i)
		}
		return jsonscan.Step{}, 0, p.badIndex(b)
	}
	if s[i] == '"' {
		return p.quotedKey(b)
	}
	if !isDigit(s[i]) {
		return jsonscan.Step{}, 0, p.badIndex(b)
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	switch {
	case j == len(s) && p.ref:
		return jsonscan.Step{}, 0, p.unclosed(j)
	case j == len(s) || p.ref && s[j] == '}':
		return jsonscan.Step{}, 0, p.fail(j, `bad index %s in %s: add "]"`, quote(s[b:j]), quote(p.whole(j)))
	case s[j] != ']' || j-i > 1 && s[i] == '0':
		return jsonscan.Step{}, 0, p.badIndex(b)
	case j-i > 9:
		return jsonscan.Step{}, 0, p.fail(b, "bad index %s in %s: the index is too large", quote(s[b:j+1]), quote(p.whole(b)))
	}
	n := 0
	for _, c := range []byte(s[i:j]) {
		n = n*10 + int(c-'0')
	}
	return jsonscan.Step{Index: n, IsIndex: true}, j + 1, nil
}

// quotedKey parses the step `["key"]` at b, the key a JSON string.
func (p *parser) quotedKey(b int) (jsonscan.Step, int, error) {
	s := p.s
	q := b + 1
	e := q + 1 // just past the closing quote
	for ; e < len(s) && s[e] != '"'; e++ {
		if s[e] == '\\' {
			e++
		}
	}
	if e >= len(s) {
		return jsonscan.Step{}, 0, p.fail(b, "bad key %s in %s: add the closing quote", quote(s[b:]), quote(p.s[p.start:]))
	}
	e++
	bad := func(at int, format string, args ...any) (jsonscan.Step, int, error) {
		key := s[b:e]
		if e < len(s) && s[e] == ']' {
			key = s[b : e+1]
		}
		return jsonscan.Step{}, 0, p.fail(at, "bad key %s in %s: "+format, append([]any{quote(key), quote(p.whole(e))}, args...)...)
	}
	for k := q + 1; k < e-1; k++ {
		switch c := s[k]; {
		case c < ' ':
			return bad(k, "escape the control character %q", string(c))
		case c == '\\':
			switch s[k+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				k++
			case 'u':
				if k+6 > e-1 || !isHex(s[k+2:k+6]) {
					return bad(k, `invalid escape %s: write \u and four hex digits`, quote(s[k:min(k+6, e-1)]))
				}
				k += 5
			default:
				return bad(k, `invalid escape %s: a key is a JSON string`, quote(s[k:k+2]))
			}
		}
	}
	if e == len(s) || s[e] != ']' {
		return bad(e, `add "]" after the key`)
	}
	key := string(jsonscan.AppendText(nil, []byte(s[q:e])))
	return jsonscan.Step{Key: key}, e + 1, nil
}

// whole returns the text of the reference or path to show in a message about
// offset at: for a reference, up to the first "}" from at.
func (p *parser) whole(at int) string {
	if !p.ref {
		return p.s
	}
	end := len(p.s)
	if i := strings.IndexByte(p.s[at:], '}'); i >= 0 {
		end = at + i + 1
	}
	return p.s[p.start:end]
}

func (p *parser) noun() string {
	if p.ref {
		return "reference"
	}
	return "path"
}

func (p *parser) fail(at int, format string, args ...any) error {
	return &SyntaxError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unclosed(end int) error {
	return p.fail(p.start, `unclosed reference %s: add "}"`, quote(p.s[p.start:end]))
}

// noName reports that the path does not start with a name at i.
func (p *parser) noName(i int) error {
	s := p.s
	switch {
	case isSpace(s[i]):
		return p.unexpected(i)
	case p.ref:
		return p.fail(i, `bad reference %s: expected a name after "${", such as ${inputs.name}`, quote(p.whole(i)))
	case strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}"):
		return p.fail(i, `bad path %s: write it without "${" and "}", as %s`, quote(s), s[2:len(s)-1])
	case p.steps && !strings.ContainsRune(".]", rune(s[i])):
		return p.fail(i, `bad path %s: expected a name at the start, such as a.b[0]; write ["key"] for a key that is not a name`, quote(s))
	default:
		return p.fail(i, "bad path %s: expected a name at the start, such as a.b[0]", quote(s))
	}
}

// noField reports that no name follows the "." before i.
func (p *parser) noField(i int) error {
	s := p.s
	msg := fmt.Sprintf(`bad %s %s: expected a field name after "."`, p.noun(), quote(p.whole(i)))
	if i < len(s) {
		switch c := s[i]; {
		case isDigit(c):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			msg += fmt.Sprintf("; write [%s] for a list index", s[i:j])
		case !isSpace(c) && !strings.ContainsRune(".[]}", rune(c)):
			msg += `; write ["key"] for a key that is not a name`
		}
	}
	return &SyntaxError{Offset: i, Msg: msg}
}

// unexpected reports the character at i, which cannot follow the path so far.
func (p *parser) unexpected(i int) error {
	s := p.s
	r, _ := utf8.DecodeRuneInString(s[i:])
	var hint string
	switch {
	case isSpace(s[i]):
		hint = "spaces are not allowed in a " + p.noun()
	case isNameChar(s[i]):
		hint = `put "." before a field name`
	default:
		hint = fmt.Sprintf(`a %s is a name followed by .field, [0] or ["key"] steps`, p.noun())
	}
	if i == 0 && !p.ref {
		return p.fail(i, "bad path %s: unexpected %q at the start; %s", quote(s), string(r), hint)
	}
	return p.fail(i, "bad %s %s: unexpected %q after %s; %s", p.noun(), quote(p.whole(i)), string(r), quote(s[p.start:i]), hint)
}

// badIndex reports a step at b that starts with "[" but is no index or key.
func (p *parser) badIndex(b int) error {
	s := p.s
	stops := "]"
	if p.ref {
		stops = "]}"
	}
	end := len(s)
	if i := strings.IndexAny(s[b:], stops); i >= 0 {
		end = b + i
		if s[end] == ']' {
			end++
		}
	}
	return p.fail(b, `bad index %s in %s: use [0], [1], ... or ["key"]`, quote(s[b:end]), quote(p.whole(b)))
}

// quote quotes a piece of a flow for a message, shortened if it is long: an
// unclosed reference can run to the end of a long prompt.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}

func isName(s string) bool {
	return s != "" && isNameStart(s[0]) && nameEnd(s, 0) == len(s)
}

func nameEnd(s string, i int) int {
	for i++; i < len(s) && isNameChar(s[i]); i++ {
	}
	return i
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) || c == '-' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
