package jinja

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tData
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
)

var tokNames = [...]string{"end of template", "template data", "begin of print statement",
	"end of print statement", "begin of statement block", "end of statement block",
	"name", "string", "integer", "float", "operator"}

type token struct {
	kind tokKind
	val  string // data, name, operator, or a string literal's decoded text
	pos  int    // byte offset in the normalized source
}

func (t token) String() string {
	switch t.kind {
	case tName, tOp, tInt, tFloat:
		return strconv.Quote(t.val)
	}
	return tokNames[t.kind]
}

// operators, longest first so that "**" wins over "*".
var operators = []string{"//", "**", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"}

// lexer splits a template into tokens the way jinja2's lexer does with
// trim_blocks=True and keep_trailing_newline=True: "{%-", "-%}" and their
// kin strip all whitespace on their side, and "%}" and "#}" (not "}}")
// swallow the one newline that follows them.
type lexer struct {
	src    string
	pos    int
	tokens []token
}

// lex tokenizes src, whose line breaks are already "\n".
func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	if err := l.run(); err != nil {
		return nil, err
	}
	l.tokens = append(l.tokens, token{kind: tEOF, pos: len(src)})
	return l.tokens, nil
}

// syntaxError is a template error at a byte offset; Parse turns it into a
// *Error with a line and column.
type syntaxError struct {
	pos   int
	msg   string
	limit bool // a Limits bound was hit
}

func (e *syntaxError) Error() string { return e.msg }

// errAt formats an error at a byte offset; it remembers whether one of
// args is an error that wraps ErrLimit.
func errAt(pos int, format string, args ...any) error {
	e := &syntaxError{pos: pos, msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, ErrLimit) {
			e.limit = true
		}
	}
	return e
}

func (l *lexer) run() error {
	for l.pos < len(l.src) {
		start := l.nextTag(l.pos)
		data := l.src[l.pos:start]
		if start == len(l.src) {
			l.emitData(data, l.pos)
			return nil
		}
		kind := l.src[start+1]
		after := start + 2
		sign := byte(0)
		if after < len(l.src) && (l.src[after] == '-' || l.src[after] == '+') {
			sign = l.src[after]
			after++
		}
		if sign == '-' {
			data = strings.TrimRightFunc(data, isSpace)
		}
		l.emitData(data, l.pos)
		switch kind {
		case '#':
			end := strings.Index(l.src[after:], "#}")
			if end < 0 {
				return errAt(start, "missing end of comment tag")
			}
			end += after
			l.pos = l.afterEnd(end, end+2)
		case '%':
			if raw, ok := l.raw(after); ok {
				if err := raw(); err != nil {
					return err
				}
				continue
			}
			l.tokens = append(l.tokens, token{kind: tBlockBegin, pos: start})
			if err := l.inside(after, "%}", tBlockEnd); err != nil {
				return err
			}
		case '{':
			l.tokens = append(l.tokens, token{kind: tVarBegin, pos: start})
			if err := l.inside(after, "}}", tVarEnd); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextTag is the offset of the next "{{", "{%" or "{#" at or after i, or
// len(src).
func (l *lexer) nextTag(i int) int {
	for {
		j := strings.IndexByte(l.src[i:], '{')
		if j < 0 || i+j+1 >= len(l.src) {
			return len(l.src)
		}
		i += j
		switch l.src[i+1] {
		case '{', '%', '#':
			return i
		}
		i++
	}
}

func (l *lexer) emitData(s string, pos int) {
	if s != "" {
		l.tokens = append(l.tokens, token{kind: tData, val: s, pos: pos})
	}
}

// afterEnd is where the text after a block or comment end delimiter at
// [end, next) resumes: after all whitespace for "-%}", after nothing more
// for "+%}", else after one newline (trim_blocks).
func (l *lexer) afterEnd(end, next int) int {
	if end > 0 && l.src[end-1] == '-' {
		return next + len(l.src[next:]) - len(strings.TrimLeftFunc(l.src[next:], isSpace))
	}
	if end > 0 && l.src[end-1] == '+' {
		return next
	}
	if next < len(l.src) && l.src[next] == '\n' {
		return next + 1
	}
	return next
}

// raw handles "{% raw %}...{% endraw %}" starting after "{%" and its sign:
// the text between is data, tags and all.
func (l *lexer) raw(i int) (func() error, bool) {
	j := skipSpace(l.src, i)
	if !strings.HasPrefix(l.src[j:], "raw") {
		return nil, false
	}
	j = skipSpace(l.src, j+3)
	var bodyStart int
	switch {
	case strings.HasPrefix(l.src[j:], "-%}"):
		bodyStart = skipSpace(l.src, j+3)
	case strings.HasPrefix(l.src[j:], "%}"):
		bodyStart = j + 2
	default:
		return nil, false
	}
	return func() error {
		for k := bodyStart; ; {
			next := strings.Index(l.src[k:], "{%")
			if next < 0 {
				return errAt(i, "missing end of raw directive")
			}
			k += next
			m := k + 2
			sign := byte(0)
			if m < len(l.src) && (l.src[m] == '-' || l.src[m] == '+') {
				sign = l.src[m]
				m++
			}
			m = skipSpace(l.src, m)
			if !strings.HasPrefix(l.src[m:], "endraw") {
				k += 2
				continue
			}
			m = skipSpace(l.src, m+6)
			end := m
			switch {
			case strings.HasPrefix(l.src[m:], "-%}"), strings.HasPrefix(l.src[m:], "+%}"):
				end = m + 1
			case strings.HasPrefix(l.src[m:], "%}"):
			default:
				k += 2
				continue
			}
			body := l.src[bodyStart:k]
			if sign == '-' {
				body = strings.TrimRightFunc(body, isSpace)
			}
			l.emitData(body, bodyStart)
			l.pos = l.afterEnd(end, end+2)
			return nil
		}
	}, true
}

// inside tokenizes the expression of a tag from i up to its end delimiter,
// or to the end of the source when end is "". Like jinja2, an end
// delimiter inside brackets does not end the tag.
func (l *lexer) inside(i int, end string, endKind tokKind) error {
	var brackets []byte
	for {
		if i >= len(l.src) {
			if end == "" && len(brackets) == 0 {
				return nil
			}
			if end == "" {
				return errAt(i, "unexpected end, expected '%c'", brackets[len(brackets)-1])
			}
			return errAt(i, "unexpected end of template, expected %s", tokNames[endKind])
		}
		if len(brackets) == 0 && end != "" {
			if strings.HasPrefix(l.src[i:], "-"+end) {
				l.tokens = append(l.tokens, token{kind: endKind, pos: i})
				if endKind == tVarEnd {
					l.pos = i + 3 + len(l.src[i+3:]) - len(strings.TrimLeftFunc(l.src[i+3:], isSpace))
				} else {
					l.pos = l.afterEnd(i+1, i+3)
				}
				return nil
			}
			if endKind == tBlockEnd && strings.HasPrefix(l.src[i:], "+"+end) {
				l.tokens = append(l.tokens, token{kind: endKind, pos: i})
				l.pos = i + 3
				return nil
			}
			if strings.HasPrefix(l.src[i:], end) {
				l.tokens = append(l.tokens, token{kind: endKind, pos: i})
				if endKind == tVarEnd {
					l.pos = i + 2
				} else {
					l.pos = l.afterEnd(i, i+2)
				}
				return nil
			}
		}
		r, size := utf8.DecodeRuneInString(l.src[i:])
		switch {
		case isSpace(r):
			i += size
		case r >= '0' && r <= '9':
			tok, n, err := l.number(i)
			if err != nil {
				return err
			}
			l.tokens = append(l.tokens, tok)
			i = n
		case r == '_' || unicode.IsLetter(r):
			j := i + size
			for j < len(l.src) {
				r, size := utf8.DecodeRuneInString(l.src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			l.tokens = append(l.tokens, token{kind: tName, val: l.src[i:j], pos: i})
			i = j
		case r == '\'' || r == '"':
			s, n, err := readString(l.src, i)
			if err != nil {
				return err
			}
			l.tokens = append(l.tokens, token{kind: tString, val: s, pos: i})
			i = n
		default:
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(l.src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return errAt(i, "unexpected char %s", strconv.QuoteRune(r))
			}
			switch op {
			case "(", "[", "{":
				brackets = append(brackets, map[string]byte{"(": ')', "[": ']', "{": '}'}[op])
			case ")", "]", "}":
				if len(brackets) == 0 {
					return errAt(i, "unexpected '%s'", op)
				}
				if want := brackets[len(brackets)-1]; want != op[0] {
					return errAt(i, "unexpected '%s', expected '%c'", op, want)
				}
				brackets = brackets[:len(brackets)-1]
			}
			l.tokens = append(l.tokens, token{kind: tOp, val: op, pos: i})
			i += len(op)
		}
	}
}

// number reads an integer or float literal at i. Underscores may separate
// digits. Right after a ".", only an integer is read, so a.0.1 is a.0 then .1.
func (l *lexer) number(i int) (token, int, error) {
	s := l.src
	digits := func(j int) int {
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '_' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' && j > 0 && s[j-1] != '_') {
			j++
		}
		return j
	}
	if s[i] == '0' && i+1 < len(s) && strings.ContainsRune("xXoObB", rune(s[i+1])) {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[i+1]|0x20]
		j := i + 2
		for j < len(s) && (s[j] == '_' || strings.ContainsRune("0123456789abcdefABCDEF"[:base+max(0, base-10)], rune(s[j]))) {
			j++
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(s[i:j], "_", ""), 0, 64)
		if err != nil {
			return token{}, 0, errAt(i, "invalid integer %q", s[i:j])
		}
		return token{kind: tInt, val: strconv.FormatInt(v, 10), pos: i}, j, nil
	}
	j := digits(i)
	afterDot := i > 0 && s[i-1] == '.'
	isFloat := false
	if !afterDot {
		if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
			j = digits(j + 1)
			isFloat = true
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if k < len(s) && s[k] >= '0' && s[k] <= '9' {
				j = digits(k)
				isFloat = true
			}
		}
	}
	text := strings.ReplaceAll(s[i:j], "_", "")
	if isFloat {
		return token{kind: tFloat, val: text, pos: i}, j, nil
	}
	if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0") != "" {
		// jinja2 reads "0" and then "12" here, and then fails to parse.
		return token{}, 0, errAt(i, "expected token 'end of print statement', got 'integer'")
	}
	return token{kind: tInt, val: text, pos: i}, j, nil
}

// readString reads a quoted literal at i and decodes its escapes the way
// Python's "unicode-escape" codec does; an unknown escape stays as written.
func readString(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\' && j+1 < len(s):
			n, err := unescape(&b, s, j)
			if err != nil {
				return "", 0, err
			}
			j = n
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, errAt(i, "unexpected char %s", strconv.QuoteRune(rune(q)))
}

// unescape writes the escape at s[j] (a backslash) and returns where the
// text resumes.
func unescape(b *strings.Builder, s string, j int) (int, error) {
	c := s[j+1]
	simple := map[byte]string{'n': "\n", 't': "\t", 'r': "\r", '\\': "\\", '\'': "'", '"': "\"",
		'a': "\a", 'b': "\b", 'f': "\f", 'v': "\v", '\n': ""}
	if r, ok := simple[c]; ok {
		b.WriteString(r)
		return j + 2, nil
	}
	hex := map[byte]int{'x': 2, 'u': 4, 'U': 8}
	if n, ok := hex[c]; ok {
		if j+2+n > len(s) {
			return 0, errAt(j, "truncated \\%cXX escape", c)
		}
		v, err := strconv.ParseUint(s[j+2:j+2+n], 16, 32)
		if err != nil || v > unicode.MaxRune {
			return 0, errAt(j, "truncated \\%cXX escape", c)
		}
		b.WriteRune(rune(v))
		return j + 2 + n, nil
	}
	if c >= '0' && c <= '7' {
		k := j + 1
		v := 0
		for k < len(s) && k < j+4 && s[k] >= '0' && s[k] <= '7' {
			v = v*8 + int(s[k]-'0')
			k++
		}
		b.WriteRune(rune(v))
		return k, nil
	}
	b.WriteByte('\\')
	return j + 1, nil
}

// isSpace is Python's str.isspace for one character.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

func skipSpace(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	return len(s) - len(strings.TrimLeftFunc(s[i:], isSpace))
}
