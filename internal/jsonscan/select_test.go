package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func key(k string) Step     { return Step{Key: k} }
func index(i int) Step      { return Step{Index: i, IsIndex: true} }
func path(s ...Step) []Step { return s }

func TestSelect(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path []Step
		want string
	}{
		{"field then index", `{"a":{"b":[1,2]}}`, path(key("a"), key("b"), index(0)), `1`},
		{"whitespace everywhere", " \t\n{ \"a\" : { \"b\" : [ 1 , 2 ] } }\r\n", path(key("a"), key("b"), index(1)), `2`},
		{"object kept as written", `{"a": {"x": 1 , "y":[true]} }`, path(key("a")), `{"x": 1 , "y":[true]}`},
		{"empty path", ` [1, 2] `, nil, `[1, 2]`},
		{"top-level string", `"str"`, nil, `"str"`},
		{"skips strings with quotes and brackets", `{"s":"a\"}]{[\\","t":{"u":"]}\""},"a":3}`, path(key("a")), `3`},
		{"skips nested containers", `{"x":[{"y":[[],{}]},[[[]]]],"a":[{"b":"c"}]}`, path(key("a"), index(0), key("b")), `"c"`},
		{"escaped key", `{"\u0061":1}`, path(key("a")), `1`},
		{"escaped quote in key", `{"a\"b":2}`, path(key(`a"b`)), `2`},
		{"surrogate pair in key", `{"\ud83d\ude00":3}`, path(key("😀")), `3`},
		{"lone surrogate in key", `{"\ud800x":3}`, path(key("\ufffdx")), `3`},
		{"non-ASCII key", `{"é":4}`, path(key("é")), `4`},
		{"invalid UTF-8 in key", "{\"\xff\":4}", path(key("\ufffd")), `4`},
		{"escaped slash in key", `{"\/":5}`, path(key("/")), `5`},
		{"empty key", `{"":6}`, path(key("")), `6`},
		{"prefix of a key is not the key", `{"ab":1,"a":2}`, path(key("a")), `2`},
		{"first of duplicate fields", `{"a":1,"a":2}`, path(key("a")), `1`},
		{"nested arrays", `[[1,[2,3]],[4]]`, path(index(0), index(1), index(1)), `3`},
		{"last element", `[1,2,3]`, path(index(2)), `3`},
		{"string value", `{"a":"x y"}`, path(key("a")), `"x y"`},
		{"true", `{"a":true}`, path(key("a")), `true`},
		{"false", `{"a" : false }`, path(key("a")), `false`},
		{"null", `[null]`, path(index(0)), `null`},
		{"number", `{"a":-1.5e+3,"b":0}`, path(key("a")), `-1.5e+3`},
		{"does not validate skipped values", `{"junk":[1 2 x],"bad":"\q","a":1}`, path(key("a")), `1`},
		{"ignores what follows the value", `{"a":1} trailing`, path(key("a")), `1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select([]byte(tt.doc), tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, len(got), cap(got), "result must end its capacity so appends copy")
			if json.Valid([]byte(tt.doc)) && !hasDuplicateKeys([]byte(tt.doc)) {
				checkAgainstOracle(t, []byte(tt.doc), tt.path)
			}
		})
	}
}

func TestSelectMissing(t *testing.T) {
	tests := []struct {
		doc    string
		path   []Step
		at     int
		reason string
	}{
		{`{"a":{"b":1}}`, path(key("a"), key("c")), 1, `no field "c"`},
		{`{}`, path(key("x")), 0, `no field "x"`},
		{`{"a\"":1}`, path(key("a")), 0, `no field "a"`},
		{`[1,2]`, path(index(3)), 0, `index 3 out of range (length 2)`},
		{`[1,2]`, path(index(2)), 0, `index 2 out of range (length 2)`},
		{`[ ]`, path(index(0)), 0, `index 0 out of range (length 0)`},
		{`[1]`, path(index(-1)), 0, `index -1 out of range (length 1)`},
		{`{"a":"s"}`, path(key("a"), key("x")), 1, `cannot select field "x" from a string`},
		{`{"a":[1]}`, path(key("a"), key("b")), 1, `cannot select field "b" from an array`},
		{`{"a":{}}`, path(key("a"), index(0)), 1, `cannot select index 0 from an object`},
		{`-1`, path(key("x")), 0, `cannot select field "x" from a number`},
		{`true`, path(index(1)), 0, `cannot select index 1 from a boolean`},
		{`false`, path(key("x")), 0, `cannot select field "x" from a boolean`},
		{` null `, path(key("x")), 0, `cannot select field "x" from null`},
		{`[{"a":1}]`, path(index(0), key("a"), key("b")), 2, `cannot select field "b" from a number`},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			_, err := Select([]byte(tt.doc), tt.path)
			var me *MissingError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, tt.at, me.At)
			assert.Equal(t, tt.reason, me.Reason)
			assert.EqualError(t, err, tt.reason)
			assert.NotErrorIs(t, err, ErrMalformed)
			checkAgainstOracle(t, []byte(tt.doc), tt.path)
		})
	}
}

func TestSelectMalformed(t *testing.T) {
	tests := []struct {
		doc  string
		path []Step
		want string
	}{
		{``, nil, `malformed JSON at byte 0: unexpected end of input, expected a value`},
		{`  `, path(key("a")), `malformed JSON at byte 2: unexpected end of input`},
		{`x`, nil, `malformed JSON at byte 0: unexpected "x", expected a value`},
		{`x`, path(key("a")), `malformed JSON at byte 0: unexpected "x", expected a value`},
		{`{"a" 1}`, path(key("a")), `malformed JSON at byte 5: unexpected "1", expected ":" after object key`},
		{`{a:1}`, path(key("a")), `malformed JSON at byte 1: unexpected "a", expected a string as object key`},
		{`{"a":1,}`, path(key("b")), `malformed JSON at byte 7: unexpected "}", expected a string as object key`},
		{`{"a":1 "b":2}`, path(key("b")), `malformed JSON at byte 7: unexpected "\"", expected "," or "}" after object value`},
		{`{"a":1`, path(key("b")), `malformed JSON at byte 6: unexpected end of input`},
		{`{"a":`, path(key("a")), `malformed JSON at byte 5: unexpected end of input, expected a value`},
		{`{"a":"x`, path(key("b")), `malformed JSON at byte 5: unterminated string`},
		{`{"a`, path(key("a")), `malformed JSON at byte 1: unterminated string`},
		{`{"a":"x\"}`, path(key("a")), `malformed JSON at byte 5: unterminated string`},
		{`{"a":tru}`, path(key("b")), `malformed JSON at byte 5: invalid literal, expected "true"`},
		{`{"a":[1,{}`, path(key("b")), `malformed JSON at byte 5: unterminated array`},
		{`{"a":{"b":1}`, path(key("z")), `malformed JSON at byte 12: unexpected end of input`},
		{`[1,2`, path(index(5)), `malformed JSON at byte 4: unexpected end of input`},
		{`[1,2}`, path(index(5)), `malformed JSON at byte 4: unexpected "}", expected "," or "]" after array element`},
		{`[1,]`, path(index(1)), `malformed JSON at byte 3: unexpected "]", expected a value`},
		{`[1,`, path(index(1)), `malformed JSON at byte 3: unexpected end of input, expected a value`},
		{"{\"a\":\xff}", path(key("a")), `malformed JSON at byte 5: unexpected "\xff", expected a value`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Select([]byte(tt.doc), tt.path)
			require.ErrorIs(t, err, ErrMalformed)
			assert.EqualError(t, err, tt.want)
			var me *MissingError
			assert.False(t, errors.As(err, &me))
		})
	}
}

func TestSelectDoesNotAllocate(t *testing.T) {
	doc := benchDoc()
	p := path(key("a"), key("b"), index(0))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Select(doc, p); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	escaped := []byte(`{"\u00e9t\u00e9":{"\ud83d\ude00":[1]}}`)
	p = path(key("été"), key("😀"), index(0))
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := Select(escaped, p); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "comparing escaped keys")
}

// oracle is what encoding/json says is at path in doc: a decoded value, or the
// MissingError that Select must return.
func oracle(doc []byte, path []Step) (any, *MissingError) {
	v, err := decode(doc)
	if err != nil {
		panic(err)
	}
	for i, st := range path {
		switch x := v.(type) {
		case map[string]any:
			if st.IsIndex {
				return nil, &MissingError{i, fmt.Sprintf("cannot select index %d from an object", st.Index)}
			}
			var ok bool
			if v, ok = x[st.Key]; !ok {
				return nil, &MissingError{i, fmt.Sprintf("no field %q", st.Key)}
			}
		case []any:
			if !st.IsIndex {
				return nil, &MissingError{i, fmt.Sprintf("cannot select field %q from an array", st.Key)}
			}
			if st.Index < 0 || st.Index >= len(x) {
				return nil, &MissingError{i, fmt.Sprintf("index %d out of range (length %d)", st.Index, len(x))}
			}
			v = x[st.Index]
		default:
			what := fmt.Sprintf("field %q", st.Key)
			if st.IsIndex {
				what = fmt.Sprintf("index %d", st.Index)
			}
			return nil, &MissingError{i, fmt.Sprintf("cannot select %s from %s", what, kindOf(v))}
		}
	}
	return v, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	panic(fmt.Sprintf("unexpected %T", v))
}

// decode decodes one JSON value, keeping numbers as written so that numbers
// beyond float64 compare too.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// checkAgainstOracle checks Select and AppendText against encoding/json on a
// valid document without duplicate keys.
func checkAgainstOracle(t testing.TB, doc []byte, path []Step) {
	t.Helper()
	want, missing := oracle(doc, path)
	got, err := Select(doc, path)
	if missing != nil {
		var me *MissingError
		if !errors.As(err, &me) || *me != *missing {
			t.Fatalf("Select(%q, %v) = %q, %v; want %#v", doc, path, got, err, missing)
		}
		return
	}
	if err != nil {
		t.Fatalf("Select(%q, %v): %v; want %#v", doc, path, err, want)
	}
	if !isSubslice(doc, got) {
		t.Fatalf("Select(%q, %v) = %q is not a slice of the document", doc, path, got)
	}
	if len(got) == 0 || isSpace[got[0]] || isSpace[got[len(got)-1]] {
		t.Fatalf("Select(%q, %v) = %q is not trimmed", doc, path, got)
	}
	v, err := decode(got)
	if err != nil || !json.Valid(got) {
		t.Fatalf("Select(%q, %v) = %q is not one JSON value: %v", doc, path, got, err)
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("Select(%q, %v) = %q, decoding to %#v; want %#v", doc, path, got, v, want)
	}

	text := AppendText([]byte("prefix:"), got)
	var wantText []byte
	if s, ok := want.(string); ok {
		wantText = []byte(s)
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, got); err != nil {
			t.Fatal(err)
		}
		wantText = buf.Bytes()
	}
	if string(text) != "prefix:"+string(wantText) {
		t.Fatalf("AppendText(%q) = %q; want %q", got, text[len("prefix:"):], wantText)
	}
}

func isSubslice(outer, inner []byte) bool {
	if len(inner) == 0 {
		return true
	}
	o := uintptr(unsafe.Pointer(unsafe.SliceData(outer)))
	i := uintptr(unsafe.Pointer(unsafe.SliceData(inner)))
	return i >= o && i+uintptr(len(inner)) <= o+uintptr(len(outer))
}

// hasDuplicateKeys reports whether an object in the valid document doc has
// two fields with the same decoded name: there Select takes the first and
// encoding/json the last.
func hasDuplicateKeys(doc []byte) bool {
	d := json.NewDecoder(bytes.NewReader(doc))
	var stack []map[string]bool // nil for arrays
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	keyNext := false
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, map[string]bool{})
			keyNext = true
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			keyNext = false
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			keyNext = expectKey()
			continue
		}
		if keyNext {
			k := tok.(string)
			if stack[len(stack)-1][k] {
				return true
			}
			stack[len(stack)-1][k] = true
			keyNext = false
		} else {
			keyNext = expectKey()
		}
	}
}

func TestHasDuplicateKeys(t *testing.T) {
	assert.True(t, hasDuplicateKeys([]byte(`{"a":1,"a":2}`)))
	assert.True(t, hasDuplicateKeys([]byte(`[{"x":{"a":[],"\u0061":{}}}]`)))
	assert.False(t, hasDuplicateKeys([]byte(`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`)))
	assert.False(t, hasDuplicateKeys([]byte(`{"a":"a","b":"a"}`)))
}
