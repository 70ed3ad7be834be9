package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// scanSeeds are JSON texts, valid and not, on which Value must agree with
// json.Valid and Unquote with json.Unmarshal.
var scanSeeds = []string{
	`null`, `true`, `false`, `nul`, `truth`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `-12.5e+3`,
	`""`, `"a"`, `"a`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\x"`, `"\u00e9"`, `"\u00G9"`, `"\u12"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d x"`, `"\ud83d\u0041"`, `"\ud83d\uZZZZ"`, "\"\xff\xfe\"", "\"tab\there\"",
	`"the quick brown fox jumps over the lazy dog, twice: the quick brown fox"`, `"long run then \"quote\" and \\ backslash"`,
	`{}`, `[]`, `{ }`, `[ ]`, `{"a":1}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":[1,{"b":null}],"c":"d"}`, `{1:2}`,
	" [" + strings.Repeat(`[`, 62) + strings.Repeat(`]`, 63), `{"a":{"b":{"c":[true,false,null,"x",-1.5e3]}}}`,
}

func TestValueAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		assert.Equal(t, json.Valid([]byte(s)), whole([]byte(s)), s)
	}
}

func TestValue(t *testing.T) {
	deep := strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth)
	assert.Equal(t, len(deep), Value([]byte(deep), 0), "MaxDepth arrays deep")
	assert.Equal(t, -1, Value([]byte(`[`+deep+`]`), 0), "one deeper")
	assert.Equal(t, 7, Value([]byte(`{"a":1} , 2`), 0), "the value only")
	assert.Equal(t, 5, Value([]byte(`x12.5]`), 1), "a number ends where its grammar does")
	assert.Equal(t, -1, Value([]byte(`x12.5e]`), 1), "an exponent needs digits")
	assert.Equal(t, -1, Value(nil, 0))
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		s       string
		end     int
		escaped bool
	}{
		{`"plain" tail`, 7, false},
		{`"a\"b"`, 6, true},
		{"\"caf\xc3\xa9\"", 7, false},
		{`"unterminated`, -1, false},
		{"\"ctl\x01\"", -1, false},
		{`"\q"`, -1, false},
		{`"\u00e"`, -1, false},
	} {
		end, escaped := String([]byte(tt.s), 0)
		assert.Equal(t, tt.end, end, tt.s)
		assert.Equal(t, tt.escaped, escaped, tt.s)
	}
}

func TestUnquoteAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		if s == "" || s[0] != '"' {
			continue
		}
		var want string
		err := json.Unmarshal([]byte(s), &want)
		got, end := Unquote([]byte("x"), []byte(s), 0)
		if err != nil {
			assert.Equal(t, -1, end, s)
			continue
		}
		assert.Equal(t, len(s), end, s)
		assert.Equal(t, "x"+want, string(got), s)
	}
}

func TestPlainRun(t *testing.T) {
	for _, stop := range []byte{'"', '\\', 0, 0x1f, 0x80, 0xff} {
		for at := range 40 {
			b := []byte(strings.Repeat("a", 40))
			b[at] = stop
			assert.Equal(t, at, PlainRun(b, 0), "%#x at %d", stop, at)
			assert.Equal(t, at, PlainRun(b, min(at, 3)), "%#x at %d from 3", stop, at)
		}
	}
	assert.Equal(t, 40, PlainRun([]byte(strings.Repeat("~", 40)), 0))
}

func TestScanDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"a":[1,{"b":null}],"c":"d\u00e9\n"}`)
	buf := make([]byte, 0, 64)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = Value(doc, 0)
		_, _ = Unquote(buf[:0], doc, 20)
	}))
}

func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if end := Value(b, Space(b, 0)); end > len(b) || end < -1 {
			t.Fatalf("Value = %d for %d bytes", end, len(b))
		}
		if ok, valid := whole(b), json.Valid(b); ok && !valid || valid && !ok && depth(b) <= MaxDepth {
			t.Fatalf("Value says %v, json.Valid %v", ok, valid)
		}
		if len(b) == 0 || b[0] != '"' {
			return
		}
		var want string
		err := json.Unmarshal(b, &want)
		got, end := Unquote(nil, b, 0)
		ok := end >= 0 && Space(b, end) == len(b)
		switch {
		case err == nil && (!ok || string(got) != want):
			t.Fatalf("Unquote = %q, %d; encoding/json: %q", got, end, want)
		case err != nil && ok:
			t.Fatalf("Unquote took what encoding/json refuses: %v", err)
		}
	})
}

// whole reports whether b is one value, with white space around it at most.
func whole(b []byte) bool {
	end := Value(b, Space(b, 0))
	return end >= 0 && Space(b, end) == len(b)
}

// depth is how deeply b nests brackets, counted outside strings or not.
func depth(b []byte) int {
	d, most := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			d++
			most = max(most, d)
		case ']', '}':
			d--
		}
	}
	return most
}
