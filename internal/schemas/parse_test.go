package schemas_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// errLines returns the lines a user reads for err, which must be nil or a
// schemas.Errors.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list schemas.Errors
	require.True(t, errors.As(err, &list), "error %T is not a schemas.Errors: %v", err, err)
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}

// plain copies f with its values rebuilt from their exported fields, so that
// flows compare with assert.Equal. With keepPos false it also zeroes every
// position and the file name, so that flows read from different files and
// formats compare too.
func plain(f *schemas.Flow, keepPos bool) *schemas.Flow {
	if f == nil {
		return nil
	}
	pos := func(p schemas.Pos) schemas.Pos {
		if keepPos {
			return p
		}
		return schemas.Pos{}
	}
	var value func(v schemas.Value) schemas.Value
	fields := func(in []schemas.Field) []schemas.Field {
		if in == nil {
			return nil
		}
		out := make([]schemas.Field, len(in))
		for i, fl := range in {
			out[i] = schemas.Field{Name: fl.Name, Pos: pos(fl.Pos), Value: value(fl.Value)}
		}
		return out
	}
	value = func(v schemas.Value) schemas.Value {
		out := schemas.Value{Kind: v.Kind, Pos: pos(v.Pos), Text: v.Text, Fields: fields(v.Fields)}
		if v.Items != nil {
			out.Items = make([]schemas.Value, len(v.Items))
			for i, item := range v.Items {
				out.Items[i] = value(item)
			}
		}
		return out
	}

	g := *f
	if !keepPos {
		g.File = ""
	}
	g.Plugins = nil
	for _, p := range f.Plugins {
		p.Pos = pos(p.Pos)
		p.Config, p.Env = fields(p.Config), fields(p.Env)
		g.Plugins = append(g.Plugins, p)
	}
	g.Inputs = nil
	for _, in := range f.Inputs {
		g.Inputs = append(g.Inputs, schemas.Input{Name: in.Name, Pos: pos(in.Pos)})
	}
	g.Nodes = nil
	for _, n := range f.Nodes {
		n.Pos, n.ToolPos, n.FlowPos = pos(n.Pos), pos(n.ToolPos), pos(n.FlowPos)
		n.Inputs = fields(n.Inputs)
		if n.When != nil {
			w := &schemas.When{Pos: pos(n.When.Pos), Is: value(n.When.Is)}
			if n.When.Ref != nil {
				v := value(*n.When.Ref)
				w.Ref = &v
			}
			if n.When.Value != nil {
				v := value(*n.When.Value)
				w.Value = &v
			}
			n.When = w
		}
		g.Nodes = append(g.Nodes, n)
	}
	g.Outputs = fields(f.Outputs)
	g.Secrets = nil
	for _, s := range f.Secrets {
		s.Pos = pos(s.Pos)
		g.Secrets = append(g.Secrets, s)
	}
	return &g
}

// rest is src from p on, counting p.Col in bytes.
func rest(t *testing.T, src []byte, p schemas.Pos) string {
	t.Helper()
	lines := strings.SplitAfter(string(src), "\n")
	require.True(t, p.Line >= 1 && p.Line <= len(lines), "line of %s out of range", p)
	line := lines[p.Line-1]
	require.True(t, p.Col >= 1 && p.Col <= len(line), "column of %s out of range", p)
	return line[p.Col-1:] + strings.Join(lines[p.Line:], "")
}

func TestLoadFull(t *testing.T) {
	f, err := load(t, "testdata/full.cue")
	require.NoError(t, err)

	at := func(line, col int) schemas.Pos { return schemas.Pos{File: "testdata/full.cue", Line: line, Col: col} }
	str := func(line, col int, s string) schemas.Value {
		return schemas.Value{Kind: schemas.String, Pos: at(line, col), Text: s}
	}
	scalar := func(line, col int, s string) schemas.Value {
		return schemas.Value{Kind: schemas.Scalar, Pos: at(line, col), Text: s}
	}
	want := &schemas.Flow{
		File:        "testdata/full.cue",
		Name:        "full",
		Description: "Every field of a flow.",
		Version:     "1.2.0",
		Plugins: []schemas.Plugin{
			{Pos: at(6, 2), Spec: plugins.Spec{
				Name:   "text",
				Kind:   "wasm",
				Source: filepath.Join("testdata", "plugins", "text.wasm"),
				SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				Grants: plugins.Grants{
					Hosts: []string{"api.example.com:443"},
					Dirs: map[string]plugins.Dir{
						"/data": {Path: filepath.Join("testdata", "data"), Write: true},
						"/abs":  {Path: "/srv/abs"},
					},
					Env:    []string{"HOME"},
					Clock:  true,
					Random: true,
				},
				// Options is the entry as written: paths are not resolved.
				Options: json.RawMessage(`{"wasm":"plugins/text.wasm",` +
					`"sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",` +
					`"grants":{"hosts":["api.example.com:443"],"dirs":{"/data":{"path":"data","write":true},"/abs":{"path":"/srv/abs"}},` +
					`"env":["HOME"],"clock":true,"random":true},` +
					`"limits":{"memory":"64MiB","timeout":"5s","output":1024,"instances":2},` +
					`"config":{"mode":"fast"}}`),
			},
				File:   "plugins/text.wasm",
				Dirs:   map[string]string{"/data": "data", "/abs": "/srv/abs"},
				Config: []schemas.Field{{Name: "mode", Pos: at(20, 12), Value: str(20, 18, "fast")}},
			},
			{Pos: at(22, 2), Spec: plugins.Spec{
				Name:    "native",
				Kind:    "goplugin",
				Source:  "/opt/bin/native",
				Options: json.RawMessage(`{"goplugin":"/opt/bin/native","args":["-v"],"env":{"LEVEL":"debug"}}`),
			}, File: "/opt/bin/native", Env: []schemas.Field{{Name: "LEVEL", Pos: at(22, 60), Value: str(22, 67, "debug")}}},
			{Pos: at(23, 2), Spec: plugins.Spec{
				Name:    "more",
				Kind:    "builtin",
				Options: json.RawMessage(`{"builtin":true}`),
			}},
		},
		Inputs: []schemas.Input{{Name: "name", Pos: at(26, 2)}, {Name: "times", Pos: at(27, 2)}},
		InputSchema: []byte(`{"additionalProperties":false,"properties":{` +
			`"name":{"not":{"const":""},"type":"string"},` +
			`"times":{"default":1,"maximum":5,"minimum":1,"type":"integer"}},` +
			`"required":["name"],"type":"object"}`),
		Nodes: []schemas.Node{
			{
				Name:    "greet",
				Pos:     at(30, 2),
				Tool:    "text.greet",
				ToolPos: at(32, 16),
				Inputs: []schemas.Field{
					{Name: "name", Pos: at(34, 4), Value: str(34, 11, "${inputs.name}")},
					{Name: "count", Pos: at(35, 4), Value: scalar(35, 11, "3")},
					{Name: "tags", Pos: at(36, 4), Value: schemas.Value{Kind: schemas.List, Pos: at(36, 10), Items: []schemas.Value{
						str(36, 11, "a"),
						str(36, 16, "${inputs.name}"),
					}}},
					{Name: "opts", Pos: at(37, 4), Value: schemas.Value{Kind: schemas.Object, Pos: at(37, 10), Fields: []schemas.Field{
						{Name: "loud", Pos: at(37, 11), Value: scalar(37, 17, "true")},
						{Name: "ratio", Pos: at(37, 23), Value: scalar(37, 30, "0.5")},
						{Name: "none", Pos: at(37, 35), Value: scalar(37, 41, "null")},
					}}},
				},
			},
			{
				Name:    "shout",
				Pos:     at(40, 2),
				Tool:    "text.upper",
				ToolPos: at(41, 9),
				Inputs:  []schemas.Field{{Name: "text", Pos: at(42, 11), Value: str(42, 17, "Hi ${greet.output.message}!")}},
				When: &schemas.When{
					Pos: at(43, 3),
					Ref: new(str(43, 15, "${inputs.times}")),
					Is:  scalar(43, 38, "2"),
				},
				Timeout:   2 * time.Second,
				Retry:     &schemas.Retry{Attempts: 3, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second},
				Aggregate: true,
			},
			{
				Name:        "sub",
				Pos:         at(48, 2),
				Flow:        filepath.Join("testdata", "sub", "other.cue"),
				FlowPos:     at(48, 14),
				FlowWritten: "sub/other.cue",
				Inputs:      []schemas.Field{{Name: "text", Pos: at(48, 39), Value: str(48, 45, "${shout.output.text}")}},
			},
		},
		Outputs: []schemas.Field{
			{Name: "message", Pos: at(51, 2), Value: str(51, 11, "${shout.output.text}")},
			{Name: "both", Pos: at(52, 2), Value: schemas.Value{Kind: schemas.List, Pos: at(52, 8), Items: []schemas.Value{
				str(52, 9, "${greet.output}"),
				str(52, 28, "${sub.output}"),
			}}},
		},
		Concurrency: 4,
		Timeout:     30 * time.Second,
		Defaults: schemas.Defaults{
			Timeout: 10 * time.Second,
			Retry:   &schemas.Retry{Attempts: 2, Backoff: 50 * time.Millisecond},
		},
		Secrets: []schemas.Secret{
			{Name: "api_key", Pos: at(61, 2), Env: "API_KEY"},
			{Name: "token", Pos: at(62, 2), File: filepath.Join("testdata", "keys", "token"), FileWritten: "keys/token"},
		},
	}
	assert.Equal(t, want, plain(f, true))

	// The sub-flow the node names is a flow too.
	sub, err := load(t, f.Nodes[2].Flow)
	require.NoError(t, err)
	assert.Equal(t, "other", sub.Name)
}

// load reads and parses the flow file at path, as the engine does.
func load(t *testing.T, path string) (*schemas.Flow, error) {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return schemas.Parse(path, src)
}

// TestFormatsAgree reads the same flow written in CUE, YAML and JSON: only
// positions and the file name differ.
func TestFormatsAgree(t *testing.T) {
	cue, err := load(t, "testdata/full.cue")
	require.NoError(t, err)
	want := plain(cue, false)
	for _, file := range []string{"testdata/full.yaml", "testdata/full.json"} {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			f, err := load(t, file)
			require.NoError(t, err)
			assert.Equal(t, file, f.File)
			assert.Equal(t, want, plain(f, false))
		})
	}
}

// TestInputTypesAsStrings checks that an input type written as a YAML or JSON
// string means what the same CUE expression means in a CUE flow.
func TestInputTypesAsStrings(t *testing.T) {
	types := []string{
		`int & >=1 | *2`,
		`string & !=""`,
		`int & >=1 & <=5 | *1`,
		`"fast" | "slow" | *"fast"`,
		`[...string]`,
		`number & >0 & <1`,
		`bool | *true`,
		`string | null`,
		`=~"^[a-z]+$"`,
		`{a: int, b?: string}`,
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			cue, err := schemas.Parse("flow.cue", []byte("name: \"x\"\ninputs: v: "+typ+"\nnodes: a: tool: \"t.x\"\n"))
			require.NoError(t, err)
			require.NotEmpty(t, cue.InputSchema)

			yamlSrc := "name: x\ninputs:\n  v: '" + strings.ReplaceAll(typ, "'", "''") + "'\nnodes: {a: {tool: t.x}}\n"
			yaml, err := schemas.Parse("flow.yaml", []byte(yamlSrc))
			require.NoError(t, err)
			assert.Equal(t, string(cue.InputSchema), string(yaml.InputSchema), "yaml")

			quoted, err := json.Marshal(typ)
			require.NoError(t, err)
			jsonSrc := `{"name": "x", "inputs": {"v": ` + string(quoted) + `}, "nodes": {"a": {"tool": "t.x"}}}`
			js, err := schemas.Parse("flow.json", []byte(jsonSrc))
			require.NoError(t, err)
			assert.Equal(t, string(cue.InputSchema), string(js.InputSchema), "json")
		})
	}

	t.Run("nested and non-string types", func(t *testing.T) {
		f, err := schemas.Parse("flow.yaml", []byte(`name: x
inputs:
  times: 'int & >=1 | *2'
  name: string & !=""
  obj:
    a: '[...string]'
  n: 3
nodes: {a: {tool: t.x}}
`))
		require.NoError(t, err)
		assert.Equal(t, []schemas.Input{
			{Name: "times", Pos: schemas.Pos{File: "flow.yaml", Line: 3, Col: 3}},
			{Name: "name", Pos: schemas.Pos{File: "flow.yaml", Line: 4, Col: 3}},
			{Name: "obj", Pos: schemas.Pos{File: "flow.yaml", Line: 5, Col: 3}},
			{Name: "n", Pos: schemas.Pos{File: "flow.yaml", Line: 7, Col: 3}},
		}, f.Inputs)
		assert.Equal(t, `{"additionalProperties":false,"properties":{`+
			`"n":{"const":3},`+
			`"name":{"not":{"const":""},"type":"string"},`+
			`"obj":{"additionalProperties":false,"properties":{"a":{"items":{"type":"string"},"type":"array"}},"required":["a"],"type":"object"},`+
			`"times":{"default":2,"minimum":1,"type":"integer"}},`+
			`"required":["name","obj","n"],"type":"object"}`, string(f.InputSchema))
	})

	t.Run("no inputs", func(t *testing.T) {
		f, err := schemas.Parse("flow.yaml", []byte("name: x\nnodes: {a: {tool: t.x}}\n"))
		require.NoError(t, err)
		assert.Nil(t, f.Inputs)
		assert.Equal(t, `{"additionalProperties":false,"type":"object"}`, string(f.InputSchema))
	})
}

// TestValueTree checks the kinds, texts and order of a literal's tree.
func TestValueTree(t *testing.T) {
	src := `name: "x"
nodes: a: {
	tool: "t.x"
	inputs: v: {
		z: [1, 2.50, -3e2, true, false, null, "s\n", [], {}]
		a: {y: "${inputs.x}", x: [{k: "v"}]}
		d: *"def" | "other"
		i: int | *7
	}
}
`
	f, err := schemas.Parse("flow.cue", []byte(src))
	require.NoError(t, err)
	require.Len(t, f.Nodes, 1)
	require.Len(t, f.Nodes[0].Inputs, 1)
	got := plain(f, false).Nodes[0].Inputs[0].Value

	sc := func(s string) schemas.Value { return schemas.Value{Kind: schemas.Scalar, Text: s} }
	st := func(s string) schemas.Value { return schemas.Value{Kind: schemas.String, Text: s} }
	want := schemas.Value{Kind: schemas.Object, Fields: []schemas.Field{
		{Name: "z", Value: schemas.Value{Kind: schemas.List, Items: []schemas.Value{
			sc("1"), sc("2.50"), sc("-3E+2"), sc("true"), sc("false"), sc("null"), st("s\n"),
			{Kind: schemas.List}, {Kind: schemas.Object},
		}}},
		{Name: "a", Value: schemas.Value{Kind: schemas.Object, Fields: []schemas.Field{
			{Name: "y", Value: st("${inputs.x}")},
			{Name: "x", Value: schemas.Value{Kind: schemas.List, Items: []schemas.Value{
				{Kind: schemas.Object, Fields: []schemas.Field{{Name: "k", Value: st("v")}}},
			}}},
		}}},
		// Defaults are taken, as CUE exports them.
		{Name: "d", Value: st("def")},
		{Name: "i", Value: sc("7")},
	}}
	assert.Equal(t, want, got)
}

// TestPosAt checks that PosAt points at the exact column of a reference in
// the file, and falls back to the value's own position where the string's
// layout in the file differs from its text.
func TestPosAt(t *testing.T) {
	type want struct {
		pos   string // the value's position
		ref   string // PosAt of the "${" in its text
		exact bool   // ref must point at "${inputs.name}" in the file
	}
	// input returns the zero Value, whose kind is not String, when node a
	// has no input of that name.
	input := func(name string) func(*schemas.Flow) schemas.Value {
		return func(f *schemas.Flow) schemas.Value {
			for _, in := range f.Nodes[0].Inputs {
				if in.Name == name {
					return in.Value
				}
			}
			return schemas.Value{}
		}
	}
	item := func(get func(*schemas.Flow) schemas.Value, i int) func(*schemas.Flow) schemas.Value {
		return func(f *schemas.Flow) schemas.Value {
			if items := get(f).Items; i < len(items) {
				return items[i]
			}
			return schemas.Value{}
		}
	}
	field := func(get func(*schemas.Flow) schemas.Value, i int) func(*schemas.Flow) schemas.Value {
		return func(f *schemas.Flow) schemas.Value {
			if fields := get(f).Fields; i < len(fields) {
				return fields[i].Value
			}
			return schemas.Value{}
		}
	}
	whenRef := func(f *schemas.Flow) schemas.Value { return *f.Nodes[0].When.Ref }

	files := []struct {
		file  string
		cases map[string]want
		get   map[string]func(*schemas.Flow) schemas.Value
	}{
		{
			file: "testdata/positions.cue",
			cases: map[string]want{
				"plain":   {"7:12", "7:16", true},
				"raw":     {"8:12", "8:17", true},
				"wide":    {"9:12", "9:20", true}, // columns count bytes: é is two
				"escaped": {"10:12", "10:12", false},
				"block":   {"11:10", "11:10", false},
				"list":    {"14:15", "14:16", true},
				"deep":    {"15:19", "15:22", true},
				"label":   {"17:9", "17:10", true},
				"when":    {"19:14", "19:15", true},
			},
		},
		{
			file: "testdata/positions.yaml",
			cases: map[string]want{
				"plain":   {"9:14", "9:17", true},
				"single":  {"10:15", "10:19", true},
				"double":  {"11:15", "11:19", true},
				"escaped": {"12:16", "12:16", false},
				"doubled": {"13:16", "13:16", false},
				"literal": {"14:16", "14:16", false},
				"folded":  {"16:15", "16:15", false},
				"multi":   {"18:14", "18:14", false},
				"list":    {"20:17", "20:18", true},
				"deep":    {"23:14", "23:16", true},
				"when":    {"24:17", "24:18", true},
			},
		},
		{
			file: "testdata/positions.json",
			cases: map[string]want{
				"plain":   {"8:18", "8:22", true},
				"wide":    {"9:17", "9:25", true},
				"escaped": {"10:20", "10:20", false},
				"unicode": {"11:20", "11:20", false},
				"list":    {"12:23", "12:24", true},
				"deep":    {"13:31", "13:34", true},
				"label":   {"14:15", "14:16", true},
				"when":    {"17:23", "17:24", true},
			},
		},
	}
	for _, tf := range files {
		t.Run(filepath.Ext(tf.file), func(t *testing.T) {
			src, err := os.ReadFile(tf.file)
			require.NoError(t, err)
			f, err := schemas.Parse(tf.file, src)
			require.NoError(t, err)
			require.Len(t, f.Nodes, 1)
			get := map[string]func(*schemas.Flow) schemas.Value{
				"list":  item(input("list"), 1),
				"deep":  field(field(input("obj"), 0), 0),
				"label": input("é"),
				"when":  whenRef,
			}
			for name, w := range tf.cases {
				t.Run(name, func(t *testing.T) {
					g := get[name]
					if g == nil {
						g = input(name)
					}
					v := g(f)
					require.Equal(t, schemas.String, v.Kind, "no string %q", name)
					off := strings.Index(v.Text, "${")
					require.GreaterOrEqual(t, off, 0)
					prefix := tf.file + ":"
					assert.Equal(t, prefix+w.pos, v.Pos.String(), "value position")
					ref := v.PosAt(off)
					assert.Equal(t, prefix+w.ref, ref.String(), "PosAt")
					if w.exact {
						assert.True(t, strings.HasPrefix(rest(t, src, ref), "${inputs.name}"),
							"PosAt points at %q", rest(t, src, ref))
						assert.True(t, strings.HasPrefix(rest(t, src, v.PosAt(0)), v.Text),
							"PosAt(0) points at %q", rest(t, src, v.PosAt(0)))
					} else {
						for i := range len(v.Text) + 1 {
							require.Equal(t, v.Pos, v.PosAt(i), "PosAt(%d)", i)
						}
					}
				})
			}
		})
	}

	t.Run("not a string", func(t *testing.T) {
		f, err := load(t, "testdata/positions.cue")
		require.NoError(t, err)
		num := input("num")(f)
		require.Equal(t, schemas.Scalar, num.Kind)
		assert.Equal(t, "testdata/positions.cue:16:8", num.Pos.String())
		assert.Equal(t, num.Pos, num.PosAt(0))
		assert.Equal(t, num.Pos, num.PosAt(5))
		list := input("list")(f)
		assert.Equal(t, list.Pos, list.PosAt(1))
	})

	t.Run("zero value", func(t *testing.T) {
		var v schemas.Value
		assert.Equal(t, schemas.Pos{}, v.PosAt(3))
		v = schemas.Value{Kind: schemas.String, Text: "${x}", Pos: schemas.Pos{File: "f", Line: 2, Col: 5}}
		// A Value not made by Parse knows nothing of its quoting.
		assert.Equal(t, "f:2:5", v.PosAt(0).String())
	})
}

// TestParsePaths checks that plugin, grant and sub-flow paths are resolved
// against the folder of the flow's file name, and absolute paths are kept.
func TestParsePaths(t *testing.T) {
	tests := []struct {
		file, path, want string
	}{
		{"flow.cue", "a.wasm", "a.wasm"},
		{"flows/flow.cue", "a.wasm", "flows/a.wasm"},
		{"flows/flow.cue", "./p/a.wasm", "flows/p/a.wasm"},
		{"flows/deep/flow.cue", "../p/a.wasm", "flows/p/a.wasm"},
		{"/srv/flows/flow.cue", "a.wasm", "/srv/flows/a.wasm"},
		{"flows/flow.cue", "/opt/a.wasm", "/opt/a.wasm"},
	}
	for _, tc := range tests {
		t.Run(tc.file+" "+tc.path, func(t *testing.T) {
			q, err := json.Marshal(tc.path)
			require.NoError(t, err)
			src := "name: \"x\"\n" +
				"plugins: {\n\tw: wasm: " + string(q) + "\n\tg: {goplugin: " + string(q) + ", grants: dirs: \"/d\": path: " + string(q) + "}\n}\n" +
				"nodes: a: flow: " + string(q) + "\n"
			f, err := schemas.Parse(tc.file, []byte(src))
			require.NoError(t, err)
			want := filepath.FromSlash(tc.want)
			require.Len(t, f.Plugins, 2)
			assert.Equal(t, want, f.Plugins[0].Spec.Source, "wasm")
			assert.Equal(t, want, f.Plugins[1].Spec.Source, "goplugin")
			assert.Equal(t, want, f.Plugins[1].Spec.Grants.Dirs["/d"].Path, "grants.dirs")
			require.Len(t, f.Nodes, 1)
			assert.Equal(t, want, f.Nodes[0].Flow, "sub-flow")
		})
	}
}

// TestParseErrors covers every problem Parse reports, with the exact text and
// position a user reads.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		file string // flow.cue unless set
		src  string
		want []string
		// noFlow: the file could not be read as a flow, so Parse returns nil.
		noFlow bool
	}{
		// Syntax, in each format.
		{
			name:   "cue syntax",
			src:    "name: \"x\"\nnodes: {a: {tool: \"t.x\"}\n",
			want:   []string{`flow.cue:2:26: expected '}', found 'EOF'`},
			noFlow: true,
		},
		{
			name:   "cue string not terminated",
			src:    "name: \"x\nnodes: {}\n",
			want:   []string{`flow.cue:1:7: string literal not terminated`},
			noFlow: true,
		},
		{
			name:   "cue reference not found",
			src:    "name: \"x\"\nnodes: a: tool: foo\n",
			want:   []string{`flow.cue:2:17: nodes.a.tool: reference "foo" not found`},
			noFlow: true,
		},
		{
			name:   "cue conflict",
			src:    "name: \"x\"\nnodes: a: tool: \"t.x\"\nnodes: a: tool: \"t.y\"\n",
			want:   []string{`flow.cue:3:17: nodes.a.tool: conflicting values "t.y" and "t.x"`},
			noFlow: true,
		},
		{
			name:   "yaml syntax",
			file:   "flow.yaml",
			src:    "name: x\nnodes:\n  a: [\n",
			want:   []string{`flow.yaml:3:1: did not find expected node content`},
			noFlow: true,
		},
		{
			name:   "yaml tab",
			file:   "flow.yaml",
			src:    "name: x\n\tnodes: {}\n",
			want:   []string{`flow.yaml:2:1: found a tab character that violates indentation`},
			noFlow: true,
		},
		{
			name:   "yaml quote not closed",
			file:   "flow.yml",
			src:    "name: x\nnodes:\n  a: 'x\n",
			want:   []string{`flow.yml:3:1: found unexpected end of stream`},
			noFlow: true,
		},
		{
			name:   "yaml list as key",
			file:   "flow.yaml",
			src:    "name: x\n? [a]\n: 1\n",
			want:   []string{`flow.yaml:2:1: invalid map key: !!seq`},
			noFlow: true,
		},
		{
			name:   "json trailing comma",
			file:   "flow.json",
			src:    "{\"name\": \"x\",\n \"nodes\": {\"a\": {\"tool\": \"t.x\"}}\n,}",
			want:   []string{`flow.json:3:2: invalid character '}' looking for beginning of object key string`},
			noFlow: true,
		},
		{
			name:   "json after the object",
			file:   "flow.json",
			src:    "{\"name\": \"x\"}\n]",
			want:   []string{`flow.json:2:1: invalid character ']' after top-level value`},
			noFlow: true,
		},
		{
			name:   "json second object",
			file:   "flow.json",
			src:    `{"name": "x"} {}`,
			want:   []string{`flow.json:1:15: invalid character '{' after top-level value`},
			noFlow: true,
		},
		{
			name:   "unknown format",
			file:   "flows/flow.toml",
			src:    `name = "x"`,
			want:   []string{`flows/flow.toml: unknown flow format ".toml": name the file .cue, .yaml or .json`},
			noFlow: true,
		},
		{
			name:   "no extension",
			file:   "flow",
			src:    `name: "x"`,
			want:   []string{`flow: unknown flow format "": name the file .cue, .yaml or .json`},
			noFlow: true,
		},

		// Unknown fields.
		{
			name: "unknown top-level field",
			src:  "name: \"x\"\nnodes: a: tool: \"t.x\"\nbogus: {a: 1}\n",
			want: []string{`flow.cue:3:1: unknown field "bogus"; allowed: chat, concurrency, defaults, description, inputs, name, nodes, outputs, plugins, secrets, timeout, version`},
		},
		{
			name: "unknown top-level field in yaml",
			file: "flow.yaml",
			src:  "name: x\nnodes: {a: {tool: t.x}}\nouputs: {}\n",
			want: []string{`flow.yaml:3:1: unknown field "ouputs"; allowed: chat, concurrency, defaults, description, inputs, name, nodes, outputs, plugins, secrets, timeout, version`},
		},
		{
			name: "chat names what the flow lacks",
			src: "name: \"x\"\ninputs: {question: string, history: [...]}\nnodes: a: {tool: \"t.x\"}\noutputs: answer: \"${a.output}\"\n" +
				"chat: {input: \"questoin\", output: \"answre\", history: \"answer\"}\n",
			want: []string{
				`flow.cue:5:15: chat.input: "questoin" is not an input of the flow (inputs: question, history)`,
				`flow.cue:5:35: chat.output: "answre" is not an output of the flow (outputs: answer)`,
				`flow.cue:5:54: chat.history: "answer" is not an input of the flow (inputs: question, history)`,
			},
		},
		{
			name: "chat without an output",
			file: "flow.yaml",
			src:  "name: x\nnodes: {a: {tool: t.x}}\nchat: {input: q}\n",
			want: []string{`flow.yaml:3:1: chat needs input and output, as in chat: {input: "question", output: "answer", history: "chat_history"}`},
		},
		{
			name: "unknown node field",
			src:  "name: \"x\"\nnodes: a: {tool: \"t.x\", inptus: {}}\n",
			want: []string{`flow.cue:2:25: nodes.a: unknown field "inptus"; allowed: aggregate, cache, description, flow, inputs, retry, timeout, tool, when`},
		},
		{
			name: "unknown node field in json",
			file: "flow.json",
			src:  `{"name": "x", "nodes": {"a": {"tool": "t.x", "tools": "t.y"}}}`,
			want: []string{`flow.json:1:47: nodes.a: unknown field "tools"; allowed: aggregate, cache, description, flow, inputs, retry, timeout, tool, when`},
		},

		// Missing fields and names.
		{
			name: "missing name and nodes",
			src:  "description: \"x\"\n",
			want: []string{
				`flow.cue:1:1: missing field "name": add name: "my-flow"`,
				`flow.cue:1:1: missing field "nodes": a flow needs at least one node`,
			},
		},
		{
			name: "missing nodes in yaml",
			file: "flow.yaml",
			src:  "\n\nname: x\n",
			want: []string{`flow.yaml:1:1: missing field "nodes": a flow needs at least one node`},
		},
		{
			name: "invalid and reserved names",
			src: `name: "x"
plugins: "my plugin": wasm: "a.wasm"
inputs: {"a b": string, "1x": int, ok: string, "é": int}
nodes: {
	inputs: {tool: "t.x"}
	data: {tool: "t.x"}
	"-a": {tool: "t.x"}
	"": {tool: "t.x"}
	"ok-1_": {tool: "t.x"}
}
outputs: {"o.k": "${ok-1_.output}", _fine: "${ok-1_.output}"}
`,
			want: []string{
				`flow.cue:2:10: invalid plugin name "my plugin": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:3:10: invalid input name "a b": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:3:25: invalid input name "1x": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:3:48: invalid input name "é": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:5:2: node name "inputs" is reserved (${inputs.x} refers to the flow's inputs): rename the node`,
				`flow.cue:6:2: node name "data" is reserved (${data.col} refers to a batch line's columns): rename the node`,
				`flow.cue:7:2: invalid node name "-a": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:8:2: invalid node name "": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:11:11: invalid output name "o.k": use letters, digits, _ and -, starting with a letter or _`,
			},
		},

		// Duplicate keys in YAML and JSON, where CUE would unify them.
		{
			name: "duplicate yaml keys",
			file: "flow.yaml",
			src: `name: x
nodes:
  a: {tool: t.x, inputs: {v: 1}}
  a: {tool: t.x, inputs: {v: 1}}
outputs: {v: "${a.output}"}
name: x
`,
			want: []string{
				`flow.yaml:4:3: duplicate key "a" (first at flow.yaml:3:3): remove one of them`,
				`flow.yaml:6:1: duplicate key "name" (first at flow.yaml:1:1): remove one of them`,
			},
		},
		{
			name: "duplicate json keys",
			file: "flow.json",
			src:  `{"name": "x", "nodes": {"a": {"tool": "t.x", "tool": "t.x"}}, "name": "y"}`,
			want: []string{
				`flow.json:1:47: duplicate key "tool" (first at flow.json:1:32): remove one of them`,
				`flow.json:1:64: duplicate key "name" (first at flow.json:1:3): remove one of them`,
				`flow.json:1:71: name: conflicting values "y" and "x"`,
			},
			noFlow: true,
		},

		// Durations.
		{
			name: "bad durations",
			src: `name: "x"
timeout: "0s"
defaults: {timeout: "-1s", retry: {attempts: 1, backoff: "soon", max_backoff: "2562048h"}}
nodes: a: {tool: "t.x", timeout: "1.5.5s", retry: {attempts: 1, max_backoff: "5 s"}}
`,
			want: []string{
				`flow.cue:2:10: invalid duration "0s": use a positive Go duration such as "250ms", "2s" or "1m30s"`,
				`flow.cue:3:21: defaults.timeout: invalid value "-1s" (out of bound =~"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")`,
				`flow.cue:3:58: defaults.retry.backoff: invalid value "soon" (out of bound =~"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")`,
				`flow.cue:3:79: invalid duration "2562048h": use a positive Go duration such as "250ms", "2s" or "1m30s"`,
				`flow.cue:4:34: nodes.a.timeout: invalid value "1.5.5s" (out of bound =~"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")`,
				`flow.cue:4:78: nodes.a.retry.max_backoff: invalid value "5 s" (out of bound =~"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")`,
			},
		},
		{
			name: "bad duration in yaml",
			file: "flow.yaml",
			src:  "name: x\ntimeout: 0s\nnodes: {a: {tool: t.x}}\n",
			want: []string{`flow.yaml:2:10: invalid duration "0s": use a positive Go duration such as "250ms", "2s" or "1m30s"`},
		},

		// Plugins.
		{
			name: "plugins with zero or several kinds",
			src: `name: "x"
plugins: {
	zero: {sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	empty: {}
	two: {wasm: "a.wasm", goplugin: "b"}
	three: {wasm: "a.wasm", goplugin: "b", builtin: true}
	ok: builtin: true
}
nodes: a: tool: "ok.x"
`,
			want: []string{
				`flow.cue:3:2: plugin "zero": give exactly one of builtin, goplugin, python, wasm (found 0)`,
				`flow.cue:4:2: plugin "empty": give exactly one of builtin, goplugin, python, wasm (found 0)`,
				`flow.cue:5:2: plugin "two": give exactly one of builtin, goplugin, python, wasm (found 2)`,
				`flow.cue:6:2: plugin "three": give exactly one of builtin, goplugin, python, wasm (found 3)`,
			},
		},
		{
			name: "plugin fields of the wrong type",
			src: `name: "x"
plugins: p: {wasm: "a.wasm", sha256: "ABC", grants: {hosts: "x"}, builtin: false}
nodes: a: tool: "p.x"
`,
			want: []string{
				`flow.cue:2:10: plugin "p": give exactly one of builtin, goplugin, python, wasm (found 2)`,
				`flow.cue:2:38: plugins.p.sha256: invalid value "ABC" (out of bound =~"^[0-9a-f]{64}$")`,
				`flow.cue:2:61: plugins.p.grants.hosts: conflicting values "x" and [...string] (mismatched types string and list)`,
				`flow.cue:2:76: plugins.p.builtin: conflicting values true and false`,
			},
		},
		{
			name: "plugin grants that do not decode",
			src: `name: "x"
plugins: p: {wasm: "a.wasm", grants: {hosts: "x"}}
nodes: a: tool: "p.x"
`,
			want: []string{
				`flow.cue:2:46: plugins.p.grants.hosts: conflicting values "x" and [...string] (mismatched types string and list)`,
			},
		},

		// Nodes.
		{
			name: "node without tool or flow, or with both",
			src: `name: "x"
nodes: {
	none: {}
	described: {description: "only words"}
	empty: {tool: ""}
	both: {tool: "t.x", flow: "other.cue"}
	wrong: {tool: 3}
}
`,
			want: []string{
				`flow.cue:3:2: node "none": set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`,
				`flow.cue:4:2: node "described": set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`,
				`flow.cue:5:2: node "empty": set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`,
				`flow.cue:6:2: node "both": set only one of tool and flow`,
				`flow.cue:7:2: node "wrong": set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`,
				`flow.cue:7:16: nodes.wrong.tool: conflicting values 3 and string (mismatched types int and string)`,
			},
		},
		{
			name: "when without is or ref",
			src: `name: "x"
nodes: {
	a: {tool: "t.x", when: {ref: "${inputs.x}"}}
	b: {tool: "t.x", when: {is: 1}}
	c: {tool: "t.x", when: {}}
	d: {tool: "t.x", when: 3}
}
`,
			want: []string{
				`flow.cue:3:19: node "a": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`,
				`flow.cue:4:19: node "b": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`,
				`flow.cue:5:19: node "c": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`,
				`flow.cue:6:19: node "d": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`,
				`flow.cue:6:25: nodes.d.when: conflicting values 3 and {ref?:string,value?:_,is:_} (mismatched types int and struct)`,
			},
		},
		{
			name: "when with ref and value",
			src: `name: "x"
nodes: {
	a: {tool: "t.x", when: {ref: "${inputs.x}", value: 1, is: 1}}
	b: {tool: "t.x", when: {value: 1}}
}
`,
			want: []string{
				`flow.cue:3:19: node "a": when takes one of ref and value, not both: ref reads a value of the run, as in ref: "${inputs.mode}"; value is a literal`,
				`flow.cue:4:19: node "b": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`,
			},
		},
		{
			name: "when with ref and value in yaml",
			file: "flow.yaml",
			src:  "name: x\nnodes:\n  a:\n    tool: t.x\n    when: {ref: '${inputs.x}', value: dummy, is: dummy}\n",
			want: []string{`flow.yaml:5:5: node "a": when takes one of ref and value, not both: ref reads a value of the run, as in ref: "${inputs.mode}"; value is a literal`},
		},
		{
			name: "when without is in yaml",
			file: "flow.yaml",
			src:  "name: x\nnodes:\n  a:\n    tool: t.x\n    when:\n      ref: ${inputs.x}\n",
			want: []string{`flow.yaml:5:5: node "a": when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`},
		},
		{
			name: "values that are not concrete",
			src: `name: "x"
nodes: a: {
	tool: "t.x"
	inputs: {s: string, n: int & >1, l: [int], o: {p: bool}, e: "a" | "b", ok: int | *3}
	when: {ref: "${inputs.x}", is: _}
}
outputs: v: string
`,
			want: []string{
				`flow.cue:4:14: "string" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:4:25: "int & >1" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:4:39: "int" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:4:52: "bool" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:4:62: "\"a\" | \"b\"" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:5:33: "_" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
				`flow.cue:7:13: "string" is not a concrete value: give a literal or a reference such as "${inputs.x}"`,
			},
		},
		{
			name: "schema types",
			src: `name: "x"
concurrency: 0
nodes: a: {tool: "t.x", aggregate: "yes", retry: {attempts: 101}}
`,
			want: []string{
				`flow.cue:2:14: concurrency: invalid value 0 (out of bound >=1)`,
				`flow.cue:3:36: nodes.a.aggregate: conflicting values "yes" and bool (mismatched types string and bool)`,
				`flow.cue:3:61: nodes.a.retry.attempts: invalid value 101 (out of bound <=100)`,
			},
		},

		// Input types.
		{
			name: "unsupported input type",
			src: `import "strings"
name: "x"
inputs: {s: strings.HasPrefix("x"), b: bytes}
nodes: a: tool: "t.x"
`,
			want: []string{`flow.cue:3:13: input type "strings.HasPrefix(\"x\")" cannot be checked without CUE; use a regular expression (=~"^x")`},
		},
		{
			name: "unsupported input type in yaml",
			file: "flow.yaml",
			src:  "name: x\ninputs:\n  b: bytes\nnodes: {a: {tool: t.x}}\n",
			want: []string{`flow.yaml:3:6: input type "bytes" cannot be checked without CUE; JSON has no bytes, use string`},
		},
		{
			name: "input type that is not CUE",
			file: "flow.json",
			src:  `{"name": "x", "inputs": {"n": "int &", "m": "int & >=1"}, "nodes": {"a": {"tool": "t.x"}}}`,
			want: []string{`flow.json:1:31: input "n": type "int &" is not a CUE expression: expected operand, found 'EOF'`},
		},
		{
			name:   "input type with an unknown reference",
			file:   "flow.yaml",
			src:    "name: x\ninputs:\n  s: 'strings.HasPrefix(\"x\")'\nnodes: {a: {tool: t.x}}\n",
			want:   []string{`flow.yaml:3:6: inputs.s: reference "strings" not found`},
			noFlow: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "flow.cue"
			}
			f, err := schemas.Parse(file, []byte(tc.src))
			assert.Equal(t, tc.want, errLines(t, err))
			if tc.noFlow {
				assert.Nil(t, f)
			} else if assert.NotNil(t, f) {
				assert.Equal(t, file, f.File)
			}
			var list schemas.Errors
			if errors.As(err, &list) {
				for _, e := range list {
					assert.Equal(t, file, e.Pos.File)
				}
			}
		})
	}
}

// TestChat reads a chat flow's chat field.
func TestChat(t *testing.T) {
	f, err := schemas.Parse("flow.yaml", []byte("name: x\ninputs: {question: string, chat_history: '[...]'}\n"+
		"nodes: {a: {tool: t.x}}\noutputs: {answer: '${a.output}'}\nchat: {input: question, output: answer, history: chat_history}\n"))
	require.NoError(t, err)
	assert.Equal(t, &schemas.Chat{Pos: schemas.Pos{File: "flow.yaml", Line: 5, Col: 1}, Input: "question", Output: "answer", History: "chat_history"}, f.Chat)

	f, err = schemas.Parse("flow.cue", []byte("name: \"x\"\nnodes: a: {tool: \"t.x\"}\noutputs: o: \"${a.output}\"\n"))
	require.NoError(t, err)
	assert.Nil(t, f.Chat, "not a chat flow")
}

// TestParseKeepsGoing checks that a flow with problems is still returned with
// what could be decoded, so that a caller can report more in one pass.
func TestParseKeepsGoing(t *testing.T) {
	f, err := schemas.Parse("flow.cue", []byte(`name: "x"
plugins: {bad: {}, good: wasm: "g.wasm"}
nodes: {
	"bad name": {tool: "t.x"}
	a: {tool: "good.x", timeout: "soon"}
}
`))
	require.Error(t, err)
	require.NotNil(t, f)
	assert.Equal(t, "x", f.Name)
	require.Len(t, f.Plugins, 1)
	assert.Equal(t, "good", f.Plugins[0].Spec.Name)
	require.Len(t, f.Nodes, 1)
	assert.Equal(t, "a", f.Nodes[0].Name)
	assert.Zero(t, f.Nodes[0].Timeout)
}

func TestPos(t *testing.T) {
	assert.Equal(t, "-", schemas.Pos{}.String())
	assert.Equal(t, "-", schemas.Pos{Line: 3, Col: 4}.String())
	assert.Equal(t, "f.cue", schemas.Pos{File: "f.cue"}.String())
	assert.Equal(t, "f.cue:3:4", schemas.Pos{File: "f.cue", Line: 3, Col: 4}.String())
	assert.False(t, schemas.Pos{File: "f.cue"}.IsValid())
	assert.True(t, schemas.Pos{File: "f.cue", Line: 1}.IsValid())

	e := &schemas.Error{Pos: schemas.Pos{File: "f.cue", Line: 1, Col: 2}, Msg: "bad"}
	assert.EqualError(t, e, "f.cue:1:2: bad")
}

func TestErrors(t *testing.T) {
	at := func(file string, line, col int) schemas.Pos { return schemas.Pos{File: file, Line: line, Col: col} }

	t.Run("empty", func(t *testing.T) {
		var l schemas.Errors
		require.NoError(t, l.Err())
		assert.Equal(t, "", l.Error())
	})

	t.Run("add formats", func(t *testing.T) {
		var l schemas.Errors
		l.Add(at("f", 1, 1), "node %q: %d", "a", 3)
		l.Add(at("f", 1, 1), "%s", "100%")
		require.Len(t, l, 2)
		assert.Equal(t, `node "a": 3`, l[0].Msg)
		assert.Equal(t, "100%", l[1].Msg)
	})

	t.Run("sorts by file, line and column, stably", func(t *testing.T) {
		var l schemas.Errors
		l.Add(at("b", 1, 1), "b1")
		l.Add(at("a", 2, 1), "a2")
		l.Add(at("a", 1, 10), "a1.10")
		l.Add(at("a", 1, 9), "a1.9 second")
		l.Add(at("a", 1, 2), "a1.2")
		l.Add(at("a", 10, 1), "a10")
		l.Add(schemas.Pos{File: "a"}, "a no line")
		l.Add(at("a", 1, 9), "a1.9 third")
		err := l.Err()
		require.Error(t, err)
		assert.Equal(t, []string{
			"a: a no line",
			"a:1:2: a1.2",
			"a:1:9: a1.9 second",
			"a:1:9: a1.9 third",
			"a:1:10: a1.10",
			"a:2:1: a2",
			"a:10:1: a10",
			"b:1:1: b1",
		}, errLines(t, err))
		assert.Equal(t, "a: a no line\na:1:2: a1.2\na:1:9: a1.9 second\na:1:9: a1.9 third\na:1:10: a1.10\na:2:1: a2\na:10:1: a10\nb:1:1: b1", err.Error())
	})

	t.Run("drops repeats", func(t *testing.T) {
		var l schemas.Errors
		l.Add(at("f", 2, 1), "two")
		l.Add(at("f", 1, 1), "one")
		l.Add(at("f", 2, 1), "two")
		l.Add(at("f", 1, 1), "one")
		l.Add(at("f", 1, 2), "one")
		assert.Equal(t, []string{"f:1:1: one", "f:1:2: one", "f:2:1: two"}, errLines(t, l.Err()))
	})

	t.Run("drops repeats among other messages at one position", func(t *testing.T) {
		var l schemas.Errors
		l.Add(at("f", 1, 1), "a")
		l.Add(at("f", 1, 1), "b")
		l.Add(at("f", 1, 1), "a")
		assert.Equal(t, []string{"f:1:1: a", "f:1:1: b"}, errLines(t, l.Err()))
	})

	t.Run("leaves the list usable", func(t *testing.T) {
		var l schemas.Errors
		l.Add(at("f", 1, 1), "a")
		l.Add(at("f", 1, 1), "a")
		require.Error(t, l.Err())
		assert.NotPanics(t, func() { _ = l.Error() })
		for _, e := range l {
			assert.NotNil(t, e)
		}
	})
}

// The tests below pin bugs found by tests and fuzzing, now fixed.

func TestNonObjectRootPanics(t *testing.T) {
	cases := []struct{ file, src string }{
		{"flow.yaml", ""},
		{"flow.yaml", "# nothing yet\n"},
		{"flow.yaml", "null\n"},
		{"flow.yaml", "- a\n"},
		{"flow.yaml", "name: x\n---\nname: y\n"},
		{"flow.json", "[]"},
		{"flow.json", "1"},
		{"flow.json", `"x"`},
	}
	for _, tc := range cases {
		t.Run(tc.file+" "+tc.src, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = schemas.Parse(tc.file, []byte(tc.src)) })
			require.Error(t, err)
			for _, line := range errLines(t, err) {
				assert.True(t, strings.HasPrefix(line, tc.file), line)
			}
		})
	}
}

func TestJSONSyntaxErrorColumns(t *testing.T) {
	cases := []struct{ src, want string }{
		{"{\"name\": \"x\",\n \"nodes\": tru}", `flow.json:2:14: invalid character '}' in literal true (expecting 'e')`},
		{"{\"name\": \"x\",\n \"nodes\": \"\\x\"}", `flow.json:2:13: invalid character 'x' in string escape code`},
		{`{"name": "x", "nodes": {"a": {"tool": "t.x", "inputs": {"n": 01}}}}`, `flow.json:1:63: invalid character '1' after object key:value pair`},
	}
	for _, tc := range cases {
		_, err := schemas.Parse("flow.json", []byte(tc.src))
		assert.Equal(t, []string{tc.want}, errLines(t, err))
	}
}

func TestJSONEndOfInput(t *testing.T) {
	for _, src := range []string{``, `"`, `{"name": "x"`, `{"name": "x", "description": "abc`} {
		_, err := schemas.Parse("flow.json", []byte(src))
		want := fmt.Sprintf("flow.json:1:%d: unexpected end of JSON input", len(src)+1)
		assert.Equal(t, []string{want}, errLines(t, err), "%q", src)
	}
}

func TestUnknownFieldsUnderOptionalFields(t *testing.T) {
	f, err := schemas.Parse("flow.cue", []byte(`name: "x"
plugins: p: {wasm: "a", bogus: 1, limits: {cpu: 1}, grants: {disk: true}}
nodes: a: {tool: "t.x", retry: {attempts: 2, tries: 1}, when: {ref: "${x}", is: 1, else: 2}}
defaults: {retry: {attempts: 2, delay: "1s"}, timeoutt: "1s"}
`))
	require.NotNil(t, f)
	assert.Equal(t, []string{
		`flow.cue:2:25: plugins.p: unknown field "bogus"; allowed: args, builtin, config, env, goplugin, grants, limits, python, sha256, wasm`,
		`flow.cue:2:44: plugins.p.limits: unknown field "cpu"; allowed: instances, memory, output, recycle, timeout`,
		`flow.cue:2:62: plugins.p.grants: unknown field "disk"; allowed: clock, dirs, env, hosts, random`,
		`flow.cue:3:46: nodes.a.retry: unknown field "tries"; allowed: attempts, backoff, max_backoff`,
		`flow.cue:3:84: nodes.a.when: unknown field "else"; allowed: is, ref, value`,
		`flow.cue:4:33: defaults.retry: unknown field "delay"; allowed: attempts, backoff, max_backoff`,
		`flow.cue:4:47: defaults: unknown field "timeoutt"; allowed: cache, retry, timeout`,
	}, errLines(t, err))
}

func TestQuotedUnknownField(t *testing.T) {
	_, err := schemas.Parse("flow.yaml", []byte("name: x\nnodes: {a: {tool: t.x, \"in-puts\": {}}}\nmy key: 1\n"))
	assert.Equal(t, []string{
		`flow.yaml:2:24: nodes.a: unknown field "in-puts"; allowed: aggregate, cache, description, flow, inputs, retry, timeout, tool, when`,
		`flow.yaml:3:1: unknown field "my key"; allowed: chat, concurrency, defaults, description, inputs, name, nodes, outputs, plugins, secrets, timeout, version`,
	}, errLines(t, err))
}

func TestNotConcreteFieldsPassSilently(t *testing.T) {
	f, err := schemas.Parse("flow.cue", []byte(`name: string
plugins: t: wasm: string
concurrency: int
timeout: string
nodes: a: tool: "t.x"
`))
	require.NotNil(t, f)
	assert.Len(t, errLines(t, err), 4, "one error for each of name, plugins.t.wasm, concurrency and timeout")
}

func TestYAMLColumnsCountRunes(t *testing.T) {
	src := []byte("name: x\nnodes:\n  a:\n    tool: t.x\n    inputs: {é: \"${inputs.x}\"}\n")
	f, err := schemas.Parse("flow.yaml", src)
	require.NoError(t, err)
	v := f.Nodes[0].Inputs[0].Value
	assert.Equal(t, "flow.yaml:5:18", v.Pos.String())
	assert.Equal(t, "flow.yaml:5:19", v.PosAt(0).String())
}

func TestDefaultStringIsScalar(t *testing.T) {
	f, err := schemas.Parse("flow.cue", []byte("name: \"x\"\nnodes: a: {tool: \"t.x\", inputs: v: *\"${inputs.x}\" | int}\n"))
	require.NoError(t, err)
	v := f.Nodes[0].Inputs[0].Value
	assert.Equal(t, schemas.String, v.Kind)
	assert.Equal(t, "${inputs.x}", v.Text)
}

func TestDuplicateKeysInLists(t *testing.T) {
	_, err := schemas.Parse("flow.json", []byte(`{"name": "x", "nodes": {"a": {"tool": "t.x", "inputs": {"l": [{"k": 1, "k": 1}]}}}}`))
	assert.Equal(t, []string{`flow.json:1:73: duplicate key "k" (first at flow.json:1:65): remove one of them`}, errLines(t, err))
}

func TestYAMLErrorWithoutLine(t *testing.T) {
	for src, msg := range map[string]string{
		"name: x\nnodes: *a\n": "unknown anchor 'a' referenced",
		"name: 'x":             "found unexpected end of stream",
	} {
		_, err := schemas.Parse("flow.yaml", []byte(src))
		lines := errLines(t, err)
		require.Len(t, lines, 1, src)
		assert.NotContains(t, lines[0], "flow.yaml: flow.yaml", src)
		assert.True(t, strings.HasPrefix(lines[0], "flow.yaml:"), lines[0])
		assert.True(t, strings.HasSuffix(lines[0], ": "+msg), lines[0])
	}
}

func TestYAMLLineBreaksPanic(t *testing.T) {
	for _, src := range []string{
		"name: x\r\rdescription: y\n",
		"name: x\u0085description: y\u0085nodes: z\n",
		"name: x\u2028description: y\u2028nodes: z\n",
		"\r\r0",
	} {
		assert.NotPanics(t, func() { _, _ = schemas.Parse("flow.yaml", []byte(src)) }, "%q", src)
	}
}
