package jsonschema

import (
	"errors"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compileCUE compiles src as flow.cue and returns the value at path.
func compileCUE(t testing.TB, src, path string) cue.Value {
	t.Helper()
	root := cuecontext.New().CompileString(src, cue.Filename("flow.cue"))
	require.NoError(t, root.Err())
	v := root.LookupPath(cue.ParsePath(path))
	require.True(t, v.Exists(), "no %s in the source", path)
	return v
}

func TestFromCUE(t *testing.T) {
	tests := []struct {
		name string
		src  string // defines x
		want string
	}{
		// Kinds.
		{"string", `x: string`, `{"type":"string"}`},
		{"int", `x: int`, `{"type":"integer"}`},
		{"float", `x: float`, `{"type":"number"}`},
		{"number", `x: number`, `{"type":"number"}`},
		{"bool", `x: bool`, `{"type":"boolean"}`},
		{"null", `x: null`, `{"const":null}`},
		{"top", `x: _`, `{}`},
		{"type list", `x: int | string`, `{"type":["integer","string"]}`},
		{"nullable", `x: string | null`, `{"type":["null","string"]}`},
		{"int or number", `x: int | float`, `{"type":"number"}`},

		// Bounds and other constraints.
		{"bounded int", `x: int & >=1 & <=5`, `{"maximum":5,"minimum":1,"type":"integer"}`},
		{"exclusive bounds", `x: number & >0 & <1`, `{"exclusiveMaximum":1,"exclusiveMinimum":0,"type":"number"}`},
		{"bounds alone", `x: >=1.5 & <1e3`, `{"exclusiveMaximum":1E+3,"minimum":1.5,"type":"number"}`},
		{"uint", `x: uint`, `{"minimum":0,"type":"integer"}`},
		{"tighter bound wins", `x: int & >=1 & >=3 & <=9 & <=5`, `{"maximum":5,"minimum":3,"type":"integer"}`},
		{"not empty", `x: string & !=""`, `{"not":{"const":""},"type":"string"}`},
		{"not a number", `x: int & !=3`, `{"not":{"const":3},"type":"integer"}`},
		{"not null", `x: !=null`, `{"not":{"const":null}}`},
		{"two nots", `x: string & !="a" & !="b"`, `{"allOf":[{"not":{"const":"b"},"type":"string"}],"not":{"const":"a"},"type":"string"}`},
		{"pattern", `x: =~"^[a-z]+$"`, `{"pattern":"^[a-z]+$","type":"string"}`},
		{"pattern with <", `x: =~"^<a>$"`, `{"pattern":"^<a>$","type":"string"}`},
		{"not pattern", `x: string & !~"^_"`, `{"not":{"pattern":"^_"},"type":"string"}`},
		{"min runes", "import \"strings\"\nx: strings.MinRunes(3)", `{"minLength":3,"type":"string"}`},
		{"runes range", "import \"strings\"\nx: string & strings.MinRunes(1) & strings.MaxRunes(10)", `{"maxLength":10,"minLength":1,"type":"string"}`},
		{"import alias", "import s \"strings\"\nx: s.MaxRunes(2)", `{"maxLength":2,"type":"string"}`},

		// Concrete values and enums.
		{"const int", `x: 5`, `{"const":5}`},
		{"const float", `x: 2.50`, `{"const":2.50}`},
		{"const string", `x: "v"`, `{"const":"v"}`},
		{"const bool", `x: true`, `{"const":true}`},
		{"const expression", `x: 2 * 3`, `{"const":6}`},
		{"enum", `x: "fast" | "slow"`, `{"enum":["fast","slow"]}`},
		{"enum with null", `x: "a" | "b" | null`, `{"enum":["a","b",null]}`},
		{"mixed disjunction", `x: "auto" | int & >0`, `{"anyOf":[{"const":"auto"},{"exclusiveMinimum":0,"type":"integer"}]}`},
		{"disjunction of bounded", `x: int & >=0 & <=10 | string`, `{"anyOf":[{"maximum":10,"minimum":0,"type":"integer"},{"type":"string"}]}`},

		// Defaults.
		{"default subsumed", `x: int & >=1 & <=5 | *1`, `{"default":1,"maximum":5,"minimum":1,"type":"integer"}`},
		{"default first", `x: *2 | int`, `{"default":2,"type":"integer"}`},
		{"default of enum", `x: "fast" | "slow" | *"fast"`, `{"default":"fast","enum":["fast","slow"]}`},
		{"default of numbers", `x: *1 | 2 | 3`, `{"default":1,"enum":[1,2,3]}`},
		{"default null", `x: int | *null`, `{"default":null,"type":["integer","null"]}`},
		{"default bound", `x: <10 | *5`, `{"default":5,"exclusiveMaximum":10,"type":"number"}`},
		{"default in conjunction", `x: int & (>0 | *3)`, `{"default":3,"exclusiveMinimum":0,"type":"integer"}`},
		{"default through reference", "#T: int | *2\nx: #T", `{"default":2,"type":"integer"}`},
		{"default list", `x: [...string] | *["a"]`, `{"default":["a"],"items":{"type":"string"},"type":"array"}`},
		{"default struct", `x: {a: int} | *{a: 1}`, `{"additionalProperties":false,"default":{"a":1},"properties":{"a":{"type":"integer"}},"required":["a"],"type":"object"}`},

		// Lists.
		{"open list", `x: [...string]`, `{"items":{"type":"string"},"type":"array"}`},
		{"list of anything", `x: [...]`, `{"type":"array"}`},
		{"fixed list", `x: [int, string]`, `{"items":false,"minItems":2,"prefixItems":[{"type":"integer"},{"type":"string"}],"type":"array"}`},
		{"prefix and rest", `x: [int, ...string]`, `{"items":{"type":"string"},"minItems":1,"prefixItems":[{"type":"integer"}],"type":"array"}`},
		{"empty list", `x: []`, `{"maxItems":0,"type":"array"}`},
		{"concrete list", `x: [1, "a"]`, `{"items":false,"minItems":2,"prefixItems":[{"const":1},{"const":"a"}],"type":"array"}`},
		{"list of structs", `x: [...{a: int}]`, `{"items":{"additionalProperties":false,"properties":{"a":{"type":"integer"}},"required":["a"],"type":"object"},"type":"array"}`},
		{"min items", "import \"list\"\nx: list.MinItems(1) & [...string]", `{"items":{"type":"string"},"minItems":1,"type":"array"}`},
		{"max items", "import \"list\"\nx: [...int] & list.MaxItems(3)", `{"items":{"type":"integer"},"maxItems":3,"type":"array"}`},
		{"min items in a struct", "import \"list\"\nx: {t: list.MinItems(1) & [...string]}", `{"additionalProperties":false,"properties":{"t":{"items":{"type":"string"},"minItems":1,"type":"array"}},"required":["t"],"type":"object"}`},
		{"unique items", "import \"list\"\nx: [...int] & list.UniqueItems()", `{"items":{"type":"integer"},"type":"array","uniqueItems":true}`},

		// Structs.
		{"struct", `x: {a: int, b?: string, c: int | *1, d!: bool}`,
			`{"additionalProperties":false,"properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"default":1,"type":"integer"},"d":{"type":"boolean"}},"required":["a","d"],"type":"object"}`},
		{"empty struct", `x: {}`, `{"additionalProperties":false,"type":"object"}`},
		{"open struct", `x: {a: int, ...}`, `{"properties":{"a":{"type":"integer"}},"required":["a"],"type":"object"}`},
		{"any struct", `x: {...}`, `{"type":"object"}`},
		{"map", `x: [string]: int`, `{"additionalProperties":{"type":"integer"},"type":"object"}`},
		{"map and fields", `x: {a: string, [string]: int | string}`, `{"additionalProperties":{"type":["integer","string"]},"properties":{"a":{"type":"string"}},"required":["a"],"type":"object"}`},
		{"pattern fields", `x: {[=~"^x-"]: int}`, `{"additionalProperties":false,"patternProperties":{"^x-":{"type":"integer"}},"type":"object"}`},
		{"definition", "#Opts: {depth: int | *2}\nx: #Opts", `{"additionalProperties":false,"properties":{"depth":{"default":2,"type":"integer"}},"type":"object"}`},
		{"conjunction of structs", `x: {a: int} & {b: string | *"y"}`, `{"additionalProperties":false,"properties":{"a":{"type":"integer"},"b":{"default":"y","type":"string"}},"required":["a"],"type":"object"}`},
		{"hidden and definitions left out", `x: {a: int, _h: 1, #D: 2}`, `{"additionalProperties":false,"properties":{"a":{"type":"integer"}},"required":["a"],"type":"object"}`},
		{"odd field name", `x: {"a b": int}`, `{"additionalProperties":false,"properties":{"a b":{"type":"integer"}},"required":["a b"],"type":"object"}`},
		{"reference to a constrained definition", "#Name: string & !=\"\"\nx: #Name & =~\"^a\"", `{"not":{"const":""},"pattern":"^a","type":"string"}`},

		// The inputs of a flow.
		{"flow inputs", `x: {
	name:  string & !=""
	times: int & >=1 & <=5 | *1
	tags?: [...string]
	mode:  "fast" | "slow" | *"fast"
	opts:  {depth: int | *2, label?: string}
	ratio: number & >0 & <1
	any:   _
	code:  =~"^[a-z]+$"
}`, `{"additionalProperties":false,"properties":{` +
			`"any":{},` +
			`"code":{"pattern":"^[a-z]+$","type":"string"},` +
			`"mode":{"default":"fast","enum":["fast","slow"]},` +
			`"name":{"not":{"const":""},"type":"string"},` +
			`"opts":{"additionalProperties":false,"properties":{"depth":{"default":2,"type":"integer"},"label":{"type":"string"}},"type":"object"},` +
			`"ratio":{"exclusiveMaximum":1,"exclusiveMinimum":0,"type":"number"},` +
			`"tags":{"items":{"type":"string"},"type":"array"},` +
			`"times":{"default":1,"maximum":5,"minimum":1,"type":"integer"}},` +
			`"required":["name","opts","ratio","any","code"],"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromCUE(compileCUE(t, tt.src, "x"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			_, err = Compile(got)
			require.NoError(t, err, "the output must compile")
		})
	}
}

func TestFromCUEDeterministic(t *testing.T) {
	src := `x: {b: int, a: {d: "x" | "y", c: [...int]}, [string]: string | int | {...}}`
	first, err := FromCUE(compileCUE(t, src, "x"))
	require.NoError(t, err)
	for range 20 {
		again, err := FromCUE(compileCUE(t, src, "x"))
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
}

func TestFromCUEUnsupported(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"has prefix", "import \"strings\"\n\ninputs: {\n\tname:  strings.HasPrefix(\"x\")\n}",
			`flow.cue:4:9: input type "strings.HasPrefix(\"x\")" cannot be checked without CUE; use a regular expression (=~"^x")`},
		{"has suffix", "import \"strings\"\ninputs: file: string & strings.HasSuffix(\".txt\")",
			`flow.cue:2:24: input type "strings.HasSuffix(\".txt\")" cannot be checked without CUE; use a regular expression (=~"\\.txt$")`},
		{"contains", "import \"strings\"\ninputs: s: strings.Contains(\"a\")",
			`flow.cue:2:12: input type "strings.Contains(\"a\")" cannot be checked without CUE; use a regular expression (=~"a")`},
		{"other validator", "import \"time\"\ninputs: d: time.Duration()",
			`flow.cue:2:12: input type "time.Duration()" cannot be checked without CUE; use a type, a bound, a regular expression or a disjunction`},
		{"bytes", "inputs: {\n\tb: bytes\n}",
			`flow.cue:2:5: input type "bytes" cannot be checked without CUE; JSON has no bytes, use string`},
		{"bytes in a list", "inputs: l: [...bytes]",
			`flow.cue:1:16: input type "bytes" cannot be checked without CUE; JSON has no bytes, use string`},
		{"string bound", `inputs: s: >="a"`,
			`flow.cue:1:12: input type ">=\"a\"" cannot be checked without CUE; only numbers can be bounded`},
		{"bound on a field", "inputs: {\n\tlo: int\n\thi: >lo\n}",
			`flow.cue:3:6: input type ">lo" cannot be checked without CUE; a bound must be a number, not a reference to another field`},
		{"field pattern", `inputs: m: {[!="a"]: int}`,
			`flow.cue:1:14: input type "[!=\"a\"]" cannot be checked without CUE; a field pattern must be string or a regular expression (=~"...")`},
		{"interpolation", "inputs: {\n\ta: string\n\tb: \"x\\(a)\"\n}",
			`flow.cue:3:5: input type "\"x\\(a)\"" cannot be checked without CUE; it is computed from other values`},
		{"struct validator", "import \"struct\"\ninputs: o: {a?: int} & struct.MaxFields(1)",
			`flow.cue:2:24: input type "struct.MaxFields(1)" cannot be checked without CUE; use a type, a bound, a regular expression or a disjunction`},
		{"conflict", "inputs: n: int\ninputs: n: string",
			`flow.cue:1:12: invalid input type: inputs.n: conflicting values int and string (mismatched types int and string)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := cuecontext.New().CompileString(tt.src, cue.Filename("flow.cue"))
			_, err := FromCUE(root.LookupPath(cue.ParsePath("inputs")))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestFromCUEUnsupportedErrorType(t *testing.T) {
	v := compileCUE(t, "import \"strings\"\nx: strings.HasPrefix(\"x\")", "x")
	_, err := FromCUE(v)
	var ue *UnsupportedError
	require.True(t, errors.As(err, &ue))
	assert.Equal(t, "flow.cue", ue.Pos.Filename())
	assert.Equal(t, 2, ue.Pos.Line())
	assert.Equal(t, 4, ue.Pos.Column())
	assert.Equal(t, `strings.HasPrefix("x")`, ue.Constraint)
	assert.Equal(t, `use a regular expression (=~"^x")`, ue.Hint)
}

// FuzzFromCUE checks that any CUE type either translates into a schema that
// compiles or is an error; it must never panic.
func FuzzFromCUE(f *testing.F) {
	for _, seed := range []string{
		`string & !=""`, `int & >=1 & <=5 | *1`, `[...string]`, `"fast" | "slow" | *"fast"`,
		`{depth: int | *2, label?: string}`, `number & >0 & <1`, `_`, `=~"^[a-z]+$"`,
		`[int, ...{a: [string]: int}]`, `{a: int, ...} | null`, `*[] | [...int]`, `bytes | string`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		root := cuecontext.New().CompileString("import \"list\"\nimport \"strings\"\n_l: list\n_s: strings\nx: " + src)
		if root.Err() != nil {
			return
		}
		x := root.LookupPath(cue.ParsePath("x"))
		if !x.Exists() {
			return
		}
		raw, err := FromCUE(x)
		if err != nil {
			return
		}
		if _, err := Compile(raw); err != nil {
			t.Fatalf("FromCUE(%s) = %s, which does not compile: %v", src, raw, err)
		}
	})
}
