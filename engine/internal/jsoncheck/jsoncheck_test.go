package jsoncheck

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestObject(t *testing.T) {
	ok := []string{
		`{}`,
		` {"a":1} `,
		"\t{\n\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\\"\\u00e9\\n\", {}, []]\r\n}",
		`{"é":"日本","nested":{"a":{"b":[[[]]]}}}`,
		`{"n":-0.0,"e":1E9,"f":2e-3}`,
	}
	for _, s := range ok {
		assert.NoError(t, Object([]byte(s), 8), s)
	}
	bad := map[string]string{
		``:                         "empty output, not a JSON object at byte 0",
		`  `:                       "empty output, not a JSON object at byte 2",
		`[1]`:                      "output starts with '[', not a JSON object at byte 0",
		`"x"`:                      `output starts with '"', not a JSON object at byte 0`,
		`{"a":1}{}`:                "data after the JSON object at byte 7",
		`{"a":1`:                   "unexpected end of JSON at byte 6",
		`{"a":"x` + "\x00" + `"}`:  "control character 0x00 in a string at byte 7",
		`{"a":"` + "\xff" + `"}`:   "invalid UTF-8 in a string at byte 6",
		`{"a":"\q"}`:               `invalid escape \q in a string at byte 7`,
		`{"a":"\u12g4"}`:           `invalid \u escape in a string at byte 10`,
		`{"a":tru}`:                "invalid literal, not true at byte 5",
		`{"a":01}`:                 "'1' after a value, where ',' or '}' should be at byte 6",
		`{"a":1.}`:                 "invalid number: no digits after '.' at byte 7",
		`{"a":1e}`:                 "invalid number: no digits in the exponent at byte 7",
		`{"a":-}`:                  "invalid number at byte 6",
		`{a:1}`:                    "'a' where an object key should start at byte 1",
		`{"a" 1}`:                  "'1' after an object key, where ':' should be at byte 5",
		`{"a":1,}`:                 "'}' where an object key should start at byte 7",
		`{"a":[1,]}`:               "']' where a JSON value should start at byte 8",
		`{"a":[1 2]}`:              "'2' after a value, where ',' or ']' should be at byte 8",
		`{"a":` + "\x01" + `}`:     `'\x01' where a JSON value should start at byte 5`,
		`{"a":[[[[[[[[[]]]]]]]]]}`: "JSON nested deeper than 8 at byte 12",
	}
	for in, want := range bad {
		assert.EqualError(t, Object([]byte(in), 8), want, "%q", in)
	}
}

func TestDeepNestingIsRefusedWithoutRecursion(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `}`
	assert.EqualError(t, Object([]byte(deep), 1000), "JSON nested deeper than 1000 at byte 1004")
}

// The check agrees with encoding/json, but for invalid UTF-8, which
// encoding/json accepts and replaces.
func FuzzObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"a":"` + "\xff" + `"}`, `[]`, `{"a":1e5}`, `{"a":-0.1E-2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxDepth = 10000 // encoding/json's own limit
		err := Object(b, maxDepth)
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		want := json.Valid(b) && utf8.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if want != (err == nil) {
			t.Fatalf("Object(%q) = %v, but encoding/json says valid=%v", b, err, want)
		}
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Offset < 0 || e.Offset > len(b) {
				t.Fatalf("Object(%q) = %#v: offset out of range", b, err)
			}
		}
	})
}

func BenchmarkObject(b *testing.B) {
	for _, size := range []int{64, 4096} {
		out := []byte(`{"text":"` + strings.Repeat("x", size-11) + `"}`)
		b.Run(map[int]string{64: "64B", 4096: "4KiB"}[size], func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if err := Object(out, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
