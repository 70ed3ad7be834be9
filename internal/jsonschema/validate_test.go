package jsonschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flowInputs is the inputs block of the flow the tests check runs against.
const flowInputs = `inputs: {
	name:  string & !=""
	times: int & >=1 & <=5 | *1
	tags?: [...string]
	mode:  "fast" | "slow" | *"fast"
	opts:  {depth: int | *2, label?: string}
	ratio: number & >0 & <1
	any:   _
	code:  =~"^[a-z]+$"
	alt?:  "auto" | int & >0
	pair?: [int, string]
	shape?: {a: int} | {b: string}
}`

func flowSchema(t testing.TB) *Schema {
	t.Helper()
	raw, err := FromCUE(compileCUE(t, flowInputs, "inputs"))
	require.NoError(t, err)
	s, err := Compile(raw)
	require.NoError(t, err)
	return s
}

func mustDecode(t testing.TB, data string) any {
	t.Helper()
	v, err := Decode([]byte(data))
	require.NoError(t, err)
	return v
}

func TestValidateFlowInputs(t *testing.T) {
	s := flowSchema(t)
	const valid = `"name":"x","opts":{},"ratio":0.5,"any":null,"code":"abc"`
	tests := []struct {
		name, in, want string
	}{
		{"valid", `{` + valid + `}`, ""},
		{"valid with everything", `{` + valid + `,"times":5,"tags":[],"mode":"slow","alt":"auto","pair":[1,"a"],"shape":{"b":"x"}}`, ""},
		{"too big", `{` + valid + `,"times":7}`, "times: must be <= 5, got 7"},
		{"too small", `{` + valid + `,"times":0}`, "times: must be >= 1, got 0"},
		{"not an integer", `{` + valid + `,"times":1.5}`, "times: must be an integer, got 1.5"},
		{"wrong type", `{` + valid + `,"times":"3"}`, "times: must be an integer, got string"},
		{"missing", `{"times":7}`, "any: is required; code: is required; name: is required; opts: is required; ratio: is required; times: must be <= 5, got 7"},
		{"empty string", `{"name":"","opts":{},"ratio":0.5,"any":1,"code":"abc"}`, `name: must not be ""`},
		{"string for number", `{` + valid + `,"tags":["a",1,"b",2]}`, "tags[1]: must be a string, got number; tags[3]: must be a string, got number"},
		{"enum", `{` + valid + `,"mode":"medium"}`, `mode: must be one of "fast", "slow"`},
		{"exclusive", `{"name":"x","opts":{},"ratio":1,"any":1,"code":"abc"}`, "ratio: must be < 1, got 1"},
		{"exclusive min", `{"name":"x","opts":{},"ratio":0,"any":1,"code":"abc"}`, "ratio: must be > 0, got 0"},
		{"pattern", `{"name":"x","opts":{},"ratio":0.5,"any":1,"code":"ABC"}`, "code: must match ^[a-z]+$"},
		{"unknown field", `{` + valid + `,"zzz":1}`, "zzz: unknown field (allowed: alt, any, code, mode, name, opts, pair, ratio, shape, tags, times)"},
		{"nested", `{"name":"x","opts":{"depth":"2","extra":true},"ratio":0.5,"any":1,"code":"abc"}`, "opts.depth: must be an integer, got string; opts.extra: unknown field (allowed: depth, label)"},
		{"alternative by type", `{` + valid + `,"alt":"x"}`, `alt: must be "auto" or an integer`},
		{"alternative that fits", `{` + valid + `,"alt":-1}`, "alt: must be > 0, got -1"},
		{"alternatives that fit", `{` + valid + `,"shape":{"c":1}}`, "shape: must match one of the alternatives: [a: is required; c: unknown field (allowed: a)] or [b: is required; c: unknown field (allowed: b)]"},
		{"alternatives of one type", `{` + valid + `,"shape":5}`, "shape: must be an object"},
		{"fixed list too long", `{` + valid + `,"pair":[1,"a",3]}`, "pair[2]: is not allowed, the list has at most 2 items"},
		{"fixed list too short", `{` + valid + `,"pair":["a"]}`, "pair: must have at least 2 items, got 1; pair[0]: must be an integer, got string"},
		{"root", `[]`, "must be an object, got array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(mustDecode(t, tt.in))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestValidationErrorViolations(t *testing.T) {
	s := flowSchema(t)
	err := s.Validate(mustDecode(t, `{"name":"x","times":7,"opts":{"depth":true},"ratio":0.5,"any":1}`))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, []Violation{
		{Path: "code", Message: "is required"},
		{Path: "opts.depth", Message: "must be an integer, got boolean"},
		{Path: "times", Message: "must be <= 5, got 7"},
	}, ve.Violations)
}

// TestValidateContracts checks messages for schemas tools publish, which use
// more of JSON Schema than FromCUE writes.
func TestValidateContracts(t *testing.T) {
	tests := []struct {
		name, schema, in, want string
	}{
		{"ref", `{"$defs":{"p":{"type":"object","required":["x"]}},"type":"object","properties":{"p":{"$ref":"#/$defs/p"}}}`,
			`{"p":{}}`, "p.x: is required"},
		{"const", `{"const":"v1"}`, `"v2"`, `must be "v1"`},
		{"single enum", `{"enum":[3]}`, `4`, `must be 3`},
		{"not pattern", `{"type":"string","not":{"pattern":"^_"}}`, `"_x"`, "must not match ^_"},
		{"not enum", `{"not":{"enum":["a","b"]}}`, `"a"`, `must not be "a", "b"`},
		{"not type", `{"not":{"type":"null"}}`, `null`, `must not be null`},
		{"not other", `{"not":{"minimum":3}}`, `4`, `must not match the excluded schema`},
		{"min length", `{"type":"string","minLength":3}`, `"ab"`, "must have at least 3 characters, got 2"},
		{"max length", `{"type":"string","maxLength":1}`, `"ab"`, "must have at most 1 character, got 2"},
		{"min items", `{"type":"array","minItems":1}`, `[]`, "must have at least 1 item, got 0"},
		{"max items", `{"type":"array","maxItems":2}`, `[1,2,3]`, "must have at most 2 items, got 3"},
		{"unique", `{"type":"array","uniqueItems":true}`, `[1,2,1]`, "must not repeat items, items 0 and 2 are equal"},
		{"multiple", `{"multipleOf":0.5}`, `1.2`, "must be a multiple of 0.5, got 1.2"},
		{"decimal bound", `{"maximum":2.5}`, `2.75`, "must be <= 2.5, got 2.75"},
		{"big integer", `{"maximum":9007199254740993}`, `9007199254740994`, "must be <= 9007199254740993, got 9007199254740994"},
		{"types", `{"type":["integer","null"]}`, `"x"`, "must be an integer or null, got string"},
		{"one of twice", `{"oneOf":[{"type":"integer"},{"minimum":0}]}`, `1`, "must match exactly one alternative, matches alternatives 1 and 2"},
		{"dependent required", `{"dependentRequired":{"a":["b"]}}`, `{"a":1}`, "b: is required when a is present"},
		{"property names", `{"propertyNames":{"pattern":"^[a-z]+$"}}`, `{"A":1}`, "A: is not an allowed field name"},
		{"false property", `{"properties":{"x":false}}`, `{"x":1}`, "x: is not allowed"},
		{"min properties", `{"minProperties":2}`, `{"a":1}`, "must have at least 2 fields, got 1"},
		{"contains", `{"contains":{"const":1}}`, `[2]`, "must contain a matching item"},
		{"odd keys", `{"properties":{"a b":{"type":"object","properties":{"0":{"type":"string"}}}}}`, `{"a b":{"0":1}}`, `["a b"]["0"]: must be a string, got number`},
		{"nested lists", `{"properties":{"m":{"items":{"items":{"type":"integer"}}}}}`, `{"m":[[1],[2,"x"]]}`, "m[1][1]: must be an integer, got string"},
		{"sorted indexes", `{"items":{"type":"integer"}}`, `[1,1,1,1,1,1,1,1,1,1,"a","b"]`, "[10]: must be an integer, got string; [11]: must be an integer, got string"},
		{"draft 7 tuple", `{"$schema":"http://json-schema.org/draft-07/schema#","items":[{"type":"string"}],"additionalItems":false}`, `["a",1]`, "must have at most 1 item, got 2"},
		{"format is an annotation", `{"type":"string","format":"email"}`, `"nope"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			require.NoError(t, err)
			err = s.Validate(mustDecode(t, tt.in))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestValidateNumbers(t *testing.T) {
	s, err := Compile([]byte(`{"properties":{"n":{"maximum":3},"l":{"items":{"const":1}}}}`))
	require.NoError(t, err)
	tests := []struct {
		name, in, want string
	}{
		{"big exponent", `{"n":1e999}`, "n: must be <= 3, got 1e+999"},
		{"small exponent", `{"n":-1e-999}`, ""},
		{"huge integer", `{"n":123456789012345678901234567890}`, "n: must be <= 3, got 1.2345678901234568e+29"},
		{"exponent too big", `{"n":1e1001}`, "n: is too large a number to check (at most 1000 characters, exponent within ±1000)"},
		{"exponent far too big", `{"l":[1,1e99999999999999999999]}`, "l[1]: is too large a number to check (at most 1000 characters, exponent within ±1000)"},
		{"too long", `{"n":1` + strings.Repeat("0", 1000) + `}`, "n: is too large a number to check (at most 1000 characters, exponent within ±1000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(mustDecode(t, tt.in))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
	// Numbers made in Go rather than decoded.
	assert.EqualError(t, s.Validate(map[string]any{"n": json.Number("12abc")}), "n: is not a valid number")
}

func TestValidateGoValues(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","properties":{"n":{"type":"integer","maximum":3}}}`))
	require.NoError(t, err)
	// encoding/json without UseNumber, and plain Go ints.
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"n":4}`), &v))
	assert.EqualError(t, s.Validate(v), "n: must be <= 3, got 4")
	assert.EqualError(t, s.Validate(map[string]any{"n": 5}), "n: must be <= 3, got 5")
	assert.EqualError(t, s.Validate(map[string]any{"n": struct{}{}}), "n: is a struct {}, not a JSON value")
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"not json", `{`, "compile json schema: decode json: unexpected EOF"},
		{"trailing data", `{} {}`, "compile json schema: decode json: unexpected data after the value"},
		{"external ref", `{"$ref":"https://example.com/s.json"}`, "external references are not allowed"},
		{"file ref", `{"$ref":"file:///etc/passwd"}`, "external references are not allowed"},
		{"bad keyword", `{"type":5}`, "compile json schema: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]byte(tt.schema))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecode(t *testing.T) {
	v, err := Decode([]byte(` {"n": 12345678901234567890, "f": 0.1, "l": [true, null]} `))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"n": json.Number("12345678901234567890"),
		"f": json.Number("0.1"),
		"l": []any{true, nil},
	}, v)
	_, err = Decode([]byte(`1 2`))
	assert.EqualError(t, err, "decode json: unexpected data after the value")
}

func TestApplyDefaults(t *testing.T) {
	s := flowSchema(t)
	obj := mustDecode(t, `{"name":"x","ratio":0.5,"any":1,"code":"abc","opts":{}}`).(map[string]any)
	s.ApplyDefaults(obj)
	assert.Equal(t, mustDecode(t, `{"name":"x","ratio":0.5,"any":1,"code":"abc","opts":{"depth":2},"times":1,"mode":"fast"}`), any(obj))
	require.NoError(t, s.Validate(obj))

	// Present values stay; absent objects without a default stay absent.
	obj = mustDecode(t, `{"times":3,"mode":"slow"}`).(map[string]any)
	s.ApplyDefaults(obj)
	assert.Equal(t, mustDecode(t, `{"times":3,"mode":"slow"}`), any(obj))
}

func TestApplyDefaultsContracts(t *testing.T) {
	tests := []struct {
		name, schema, in, want string
	}{
		{"into a defaulted object",
			`{"properties":{"o":{"default":{},"properties":{"a":{"default":1},"b":{"default":{"c":[1]}}}}}}`,
			`{}`, `{"o":{"a":1,"b":{"c":[1]}}}`},
		{"into objects in lists",
			`{"properties":{"l":{"items":{"properties":{"a":{"default":"x"}}}}}}`,
			`{"l":[{},{"a":"y"},3]}`, `{"l":[{"a":"x"},{"a":"y"},3]}`},
		{"through ref and allOf",
			`{"$defs":{"d":{"properties":{"a":{"$ref":"#/$defs/one"}}},"one":{"default":1}},"allOf":[{"$ref":"#/$defs/d"},{"properties":{"b":{"default":false}}}]}`,
			`{}`, `{"a":1,"b":false}`},
		{"not into alternatives",
			`{"anyOf":[{"properties":{"a":{"default":1}}}]}`,
			`{}`, `{}`},
		{"recursive schema",
			`{"$defs":{"n":{"properties":{"v":{"default":0},"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`,
			`{"next":{"next":{}}}`, `{"v":0,"next":{"v":0,"next":{"v":0}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			require.NoError(t, err)
			obj := mustDecode(t, tt.in).(map[string]any)
			s.ApplyDefaults(obj)
			assert.Equal(t, mustDecode(t, tt.want), any(obj))
		})
	}
}

func TestApplyDefaultsCopies(t *testing.T) {
	s, err := Compile([]byte(`{"properties":{"o":{"default":{"l":[1]}}}}`))
	require.NoError(t, err)
	first := map[string]any{}
	s.ApplyDefaults(first)
	first["o"].(map[string]any)["l"].([]any)[0] = "changed"
	second := map[string]any{}
	s.ApplyDefaults(second)
	assert.Equal(t, map[string]any{"o": map[string]any{"l": []any{json.Number("1")}}}, second)
}

// TestConcurrentUse hammers one Schema from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := flowSchema(t)
	goroutines, rounds := 16, 200
	if testing.Short() {
		goroutines, rounds = 4, 20
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				in := fmt.Sprintf(`{"name":"n%d","times":%d,"opts":{"extra":1},"ratio":0.5,"any":1,"code":"abc"}`, g, i%7)
				v, err := Decode([]byte(in))
				if err != nil {
					errs <- err
					return
				}
				s.ApplyDefaults(v.(map[string]any))
				err = s.Validate(v)
				want := "opts.extra: unknown field (allowed: depth, label)"
				switch i % 7 {
				case 0:
					want = "opts.extra: unknown field (allowed: depth, label); times: must be >= 1, got 0"
				case 6:
					want = "opts.extra: unknown field (allowed: depth, label); times: must be <= 5, got 6"
				}
				if err == nil || err.Error() != want {
					errs <- fmt.Errorf("round %d: got %v, want %s", i, err, want)
					return
				}
				if _, res := s.Lookup([]any{"opts", "depth"}); res != Exists {
					errs <- fmt.Errorf("lookup: %v", res)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","opts":{},"ratio":0.5,"any":null,"code":"abc"}`,
		`{"times":7,"tags":["a",1],"shape":{"c":1},"pair":[1,"a",3]}`,
		`[]`, `null`, `"x"`, `{"alt":"x","opts":{"depth":1e400}}`,
	} {
		f.Add([]byte(seed))
	}
	s := flowSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		if m, ok := v.(map[string]any); ok {
			s.ApplyDefaults(m)
		}
		err = s.Validate(v)
		if err == nil {
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Violations) == 0 {
			t.Fatalf("error %v (%T) has no violations", err, err)
		}
		for _, x := range ve.Violations {
			if x.Message == "" {
				t.Fatalf("empty message in %v", err)
			}
		}
	})
}
