package ref

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/jsonscan"
)

func key(k string) jsonscan.Step { return jsonscan.Step{Key: k} }
func index(i int) jsonscan.Step  { return jsonscan.Step{Index: i, IsIndex: true} }
func text(s string) Part         { return Part{Text: s} }

func ref(root string, offset, end int, steps ...jsonscan.Step) Part {
	return Part{Ref: &Ref{Root: root, Steps: steps, Offset: offset, End: end}}
}

func TestParse(t *testing.T) {
	tests := []struct {
		s    string
		want []Part
	}{
		{``, nil},
		{`hello`, []Part{text("hello")}},
		{`${inputs.x}`, []Part{ref("inputs", 0, 11, key("x"))}},
		{`${node.output}`, []Part{ref("node", 0, 14, key("output"))}},
		{`${inputs}`, []Part{ref("inputs", 0, 9)}},
		{`${_}`, []Part{ref("_", 0, 4)}},
		{`${node.output.a.b[0]}`, []Part{ref("node", 0, 21, key("output"), key("a"), key("b"), index(0))}},
		{`${my-node_1.output.x-y}`, []Part{ref("my-node_1", 0, 23, key("output"), key("x-y"))}},
		{`${x[10][0][123456789]}`, []Part{ref("x", 0, 22, index(10), index(0), index(123456789))}},
		{`${x["a b"]["c\"d"][2]}`, []Part{ref("x", 0, 22, key("a b"), key(`c"d`), index(2))}},
		{`${x["\u0041\n\/\ud83d\ude00"]}`, []Part{ref("x", 0, 30, key("A\n/😀"))}},
		{`${x["\ud800"]}`, []Part{ref("x", 0, 14, key("\ufffd"))}},
		{`${x[""]}`, []Part{ref("x", 0, 8, key(""))}},
		{`${x["}"]}`, []Part{ref("x", 0, 9, key("}"))}},
		{`${x["${y}"]}`, []Part{ref("x", 0, 12, key("${y}"))}},
		{`Hello ${inputs.name}!`, []Part{text("Hello "), ref("inputs", 6, 20, key("name")), text("!")}},
		{`${a}${b}`, []Part{ref("a", 0, 4), ref("b", 4, 8)}},
		{`${x}}`, []Part{ref("x", 0, 4), text("}")}},
		{`$${inputs.x}`, []Part{text("${inputs.x}")}},
		{`a $${x} ${y} $`, []Part{text("a ${x} "), ref("y", 8, 12), text(" $")}},
		{`$${a}$${b}`, []Part{text("${a}${b}")}},
		{`$$${x}`, []Part{text("$${x}")}},
		{`$${`, []Part{text("${")}},
		{`$`, []Part{text("$")}},
		{`$$`, []Part{text("$$")}},
		{`price: $5, {braces} and $ {x}`, []Part{text("price: $5, {braces} and $ {x}")}},
		{`é ${x} ü`, []Part{text("é "), ref("x", 3, 7), text(" ü")}},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			got, err := Parse(tt.s)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Parts)
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "${a.b" + strings.Repeat("c", 100)
	tests := []struct {
		s      string
		offset int
		msg    string
	}{
		// Unclosed references: the "}" was forgotten.
		{`${inputs.x`, 0, `unclosed reference "${inputs.x": add "}"`},
		{`Hello ${inputs.name, welcome`, 6, `unclosed reference "${inputs.name": add "}"`},
		{`${a and ${b}`, 0, `unclosed reference "${a": add "}"`},
		{`${x}${y`, 4, `unclosed reference "${y": add "}"`},
		{`${`, 0, `unclosed reference "${": add "}"`},
		{`${x.`, 0, `unclosed reference "${x.": add "}"`},
		{`${x[`, 0, `unclosed reference "${x[": add "}"`},
		{`${x[1`, 0, `unclosed reference "${x[1": add "}"`},
		{long, 0, `unclosed reference "${a.b` + strings.Repeat("c", 55) + `...": add "}"`},

		{`${}`, 0, `empty reference "${}": write a path such as ${inputs.name}, or $${} for the literal text`},
		{`a ${} b`, 2, `empty reference "${}": write a path such as ${inputs.name}, or $${} for the literal text`},

		// Names.
		{`${1x}`, 2, `bad reference "${1x}": expected a name after "${", such as ${inputs.name}`},
		{`${${x}}`, 2, `bad reference "${${x}": expected a name after "${", such as ${inputs.name}`},
		{`${"x"}`, 2, `bad reference "${\"x\"}": expected a name after "${", such as ${inputs.name}`},
		{`${inputs.}`, 9, `bad reference "${inputs.}": expected a field name after "."`},
		{`${x..y}`, 4, `bad reference "${x..y}": expected a field name after "."`},
		{`${x. y}`, 4, `bad reference "${x. y}": expected a field name after "."`},
		{`${x.0}`, 4, `bad reference "${x.0}": expected a field name after "."; write [0] for a list index`},
		{`${x.12a}`, 4, `bad reference "${x.12a}": expected a field name after "."; write [12] for a list index`},
		{`${x.é}`, 4, `bad reference "${x.é}": expected a field name after "."; write ["key"] for a key that is not a name`},

		// Characters that cannot follow.
		{`${inputs x}`, 8, `bad reference "${inputs x}": unexpected " " after "${inputs"; spaces are not allowed in a reference`},
		{`${ inputs.x }`, 2, `bad reference "${ inputs.x }": unexpected " " after "${"; spaces are not allowed in a reference`},
		{`${inputs.x }`, 10, `bad reference "${inputs.x }": unexpected " " after "${inputs.x"; spaces are not allowed in a reference`},
		{`${x+1}`, 3, `bad reference "${x+1}": unexpected "+" after "${x"; a reference is a name followed by .field, [0] or ["key"] steps`},
		{`${x|upper}`, 3, `bad reference "${x|upper}": unexpected "|" after "${x"; a reference is a name followed by .field, [0] or ["key"] steps`},
		{`${xé}`, 3, `bad reference "${xé}": unexpected "é" after "${x"; a reference is a name followed by .field, [0] or ["key"] steps`},
		{`${x[0]y}`, 6, `bad reference "${x[0]y}": unexpected "y" after "${x[0]"; put "." before a field name`},
		{`${x["a}b"] y}`, 10, `bad reference "${x[\"a}b\"] y}": unexpected " " after "${x[\"a}b\"]"; spaces are not allowed in a reference`},

		// Indexes.
		{`${x.output[a]}`, 10, `bad index "[a]" in "${x.output[a]}": use [0], [1], ... or ["key"]`},
		{`${x[-1]}`, 3, `bad index "[-1]" in "${x[-1]}": use [0], [1], ... or ["key"]`},
		{`${x[01]}`, 3, `bad index "[01]" in "${x[01]}": use [0], [1], ... or ["key"]`},
		{`${x[]}`, 3, `bad index "[]" in "${x[]}": use [0], [1], ... or ["key"]`},
		{`${x[1.5]}`, 3, `bad index "[1.5]" in "${x[1.5]}": use [0], [1], ... or ["key"]`},
		{`${x[ 1]}`, 3, `bad index "[ 1]" in "${x[ 1]}": use [0], [1], ... or ["key"]`},
		{`${x[a}`, 3, `bad index "[a" in "${x[a}": use [0], [1], ... or ["key"]`},
		{`${x['a']}`, 3, `bad index "['a']" in "${x['a']}": use [0], [1], ... or ["key"]`},
		{`${x[0}`, 5, `bad index "[0" in "${x[0}": add "]"`},
		{`${x[12345678901]}`, 3, `bad index "[12345678901]" in "${x[12345678901]}": the index is too large`},

		// Quoted keys.
		{`${x["a]}`, 3, `bad key "[\"a]}" in "${x[\"a]}": add the closing quote`},
		{`${x["a\"]}`, 3, `bad key "[\"a\\\"]}" in "${x[\"a\\\"]}": add the closing quote`},
		{`${x["a\q"]}`, 6, `bad key "[\"a\\q\"]" in "${x[\"a\\q\"]}": invalid escape "\\q": a key is a JSON string`},
		{`${x["a\u12"]}`, 6, `bad key "[\"a\\u12\"]" in "${x[\"a\\u12\"]}": invalid escape "\\u12": write \u and four hex digits`},
		{`${x["\u12G4"]}`, 5, `bad key "[\"\\u12G4\"]" in "${x[\"\\u12G4\"]}": invalid escape "\\u12G4": write \u and four hex digits`},
		{"${x[\"a\tb\"]}", 6, `bad key "[\"a\tb\"]" in "${x[\"a\tb\"]}": escape the control character "\t"`},
		{`${x["a"}`, 7, `bad key "[\"a\"" in "${x[\"a\"}": add "]" after the key`},
		{`${x["a".b]}`, 7, `bad key "[\"a\"" in "${x[\"a\".b]}": add "]" after the key`},
		{`${x["a"`, 7, `bad key "[\"a\"" in "${x[\"a\"": add "]" after the key`},

		// The first error in the string is the one reported.
		{`${ok} and ${bad.} and ${}`, 16, `bad reference "${bad.}": expected a field name after "."`},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			_, err := Parse(tt.s)
			var se *SyntaxError
			require.True(t, errors.As(err, &se), "want a *SyntaxError, got %v", err)
			assert.Equal(t, tt.msg, se.Msg)
			assert.Equal(t, tt.msg, err.Error())
			assert.Equal(t, tt.offset, se.Offset)
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		s     string
		root  string
		steps []jsonscan.Step
	}{
		{`data`, "data", nil},
		{`data.col`, "data", []jsonscan.Step{key("col")}},
		{`a["b c"][0].d`, "a", []jsonscan.Step{key("b c"), index(0), key("d")}},
		{`a["}"]`, "a", []jsonscan.Step{key("}")}},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			root, steps, err := ParsePath(tt.s)
			require.NoError(t, err)
			assert.Equal(t, tt.root, root)
			assert.Equal(t, tt.steps, steps)
		})
	}
}

// syntaxCase is a path that does not parse, with its error.
type syntaxCase struct {
	s      string
	offset int
	msg    string
}

// checkSyntaxErrors parses each case's path and checks its *SyntaxError.
func checkSyntaxErrors(t *testing.T, parse func(string) error, tests []syntaxCase) {
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			var se *SyntaxError
			err := parse(tt.s)
			require.True(t, errors.As(err, &se), "want a *SyntaxError, got %v", err)
			assert.Equal(t, tt.msg, se.Msg)
			assert.Equal(t, tt.offset, se.Offset)
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	checkSyntaxErrors(t, func(s string) error { _, _, err := ParsePath(s); return err }, []syntaxCase{
		{``, 0, `empty path: write a path such as a.b[0]`},
		{`data.`, 5, `bad path "data.": expected a field name after "."`},
		{`data.1`, 5, `bad path "data.1": expected a field name after "."; write [1] for a list index`},
		{`data col`, 4, `bad path "data col": unexpected " " after "data"; spaces are not allowed in a path`},
		{` data`, 0, `bad path " data": unexpected " " at the start; spaces are not allowed in a path`},
		{`${data.col}`, 0, `bad path "${data.col}": write it without "${" and "}", as data.col`},
		{`1x`, 0, `bad path "1x": expected a name at the start, such as a.b[0]`},
		{`data}`, 4, `bad path "data}": unexpected "}" after "data"; a path is a name followed by .field, [0] or ["key"] steps`},
		{`data[a]`, 4, `bad index "[a]" in "data[a]": use [0], [1], ... or ["key"]`},
		{`data[a}]`, 4, `bad index "[a}]" in "data[a}]": use [0], [1], ... or ["key"]`},
		{`data[`, 4, `bad index "[" in "data[": use [0], [1], ... or ["key"]`},
		{`data[1`, 6, `bad index "[1" in "data[1": add "]"`},
		{`data[1}`, 4, `bad index "[1}" in "data[1}": use [0], [1], ... or ["key"]`},
		{`a["x"`, 5, `bad key "[\"x\"" in "a[\"x\"": add "]" after the key`},
		{`a["x`, 1, `bad key "[\"x" in "a[\"x": add the closing quote`},
	})
}

func TestRefString(t *testing.T) {
	r := Ref{Root: "inputs", Steps: []jsonscan.Step{
		key("a"), key("b c"), index(0), key(""), key("x-y"), key("1a"), key(`q"`), key("é"), key("_"),
	}}
	assert.Equal(t, `inputs.a["b c"][0][""].x-y["1a"]["q\""]["é"]._`, r.String())

	root, steps, err := ParsePath(r.String())
	require.NoError(t, err)
	assert.Equal(t, r.Root, root)
	assert.Equal(t, r.Steps, steps)
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		s                string
		isRef, isLiteral bool
		refs             []string
		canonical        string
	}{
		{``, false, true, nil, ``},
		{`plain $ text`, false, true, nil, `plain $ text`},
		{`$${x}`, false, true, nil, `$${x}`},
		{`${x}`, true, false, []string{"x"}, `${x}`},
		{`${x["a"]["b c"]}`, true, false, []string{`x.a["b c"]`}, `${x.a["b c"]}`},
		{` ${x}`, false, false, []string{"x"}, ` ${x}`},
		{`${x}${y}`, false, false, []string{"x", "y"}, `${x}${y}`},
		{`a ${x.y[0]} b $${z} ${w}`, false, false, []string{"x.y[0]", "w"}, `a ${x.y[0]} b $${z} ${w}`},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			tmpl, err := Parse(tt.s)
			require.NoError(t, err)
			assert.Equal(t, tt.isRef, tmpl.IsRef(), "IsRef")
			assert.Equal(t, tt.isLiteral, tmpl.IsLiteral(), "IsLiteral")
			var refs []string
			for _, r := range tmpl.Refs() {
				refs = append(refs, r.String())
			}
			assert.Equal(t, tt.refs, refs)
			assert.Equal(t, tt.canonical, tmpl.String())
		})
	}
}

func TestRefsAreCopies(t *testing.T) {
	tmpl, err := Parse(`${x.a}`)
	require.NoError(t, err)
	refs := tmpl.Refs()
	refs[0].Root = "changed"
	assert.Equal(t, "x", tmpl.Parts[0].Ref.Root)
}

func TestParseSteps(t *testing.T) {
	tests := []struct {
		s     string
		steps []jsonscan.Step
		text  string // FormatSteps of the steps
	}{
		{`a`, []jsonscan.Step{key("a")}, `a`},
		{`a.b[0]`, []jsonscan.Step{key("a"), key("b"), index(0)}, `a.b[0]`},
		{`[1][0]`, []jsonscan.Step{index(1), index(0)}, `[1][0]`},
		{`["odd key"].x`, []jsonscan.Step{key("odd key"), key("x")}, `["odd key"].x`},
		{`["a"].b`, []jsonscan.Step{key("a"), key("b")}, `a.b`},
		{`["名前"]`, []jsonscan.Step{key("名前")}, `["名前"]`},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			steps, err := ParseSteps(tt.s)
			require.NoError(t, err)
			assert.Equal(t, tt.steps, steps)
			assert.Equal(t, tt.text, FormatSteps(steps))
		})
	}
}

func TestParseStepsErrors(t *testing.T) {
	checkSyntaxErrors(t, func(s string) error { _, err := ParseSteps(s); return err }, []syntaxCase{
		{``, 0, `empty path: write a path such as a.b[0]`},
		{`名前`, 0, `bad path "名前": expected a name at the start, such as a.b[0]; write ["key"] for a key that is not a name`},
		{`a b`, 1, `bad path "a b": unexpected " " after "a"; spaces are not allowed in a path`},
		{`.a`, 0, `bad path ".a": expected a name at the start, such as a.b[0]`},
		{`[0]x`, 3, `bad path "[0]x": unexpected "x" after "[0]"; put "." before a field name`},
		{`a[`, 1, `bad index "[" in "a[": use [0], [1], ... or ["key"]`},
	})
}
