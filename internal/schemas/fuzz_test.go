package schemas_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirflow/weir/internal/schemas"
)

// fuzzExts are the formats FuzzParse picks from with its first argument.
var fuzzExts = []string{".cue", ".yaml", ".json"}

// FuzzParse checks that Parse never panics, whatever the bytes and whichever
// format they are read as; that a failure is a schemas.Errors whose every
// entry names the file and a place inside it; and that a string whose
// layout Parse says it knows is found in the file where PosAt says.
func FuzzParse(f *testing.F) {
	// Every flow under testdata, in its own format.
	for _, pattern := range []string{"testdata/*.*", "testdata/*/*.*"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			for i, ext := range fuzzExts {
				if filepath.Ext(file) == ext {
					src, err := os.ReadFile(file)
					if err != nil {
						f.Fatal(err)
					}
					f.Add(byte(i), src)
				}
			}
		}
	}
	const cue, yaml, json = 0, 1, 2
	for _, seed := range []struct {
		format byte
		src    string
	}{
		{cue, ""},
		{cue, `name: "x", nodes: a: tool: "t.x"`},
		{cue, "name: \"x\"\nnodes: {a: {tool: \"t.x\"}\n"},
		{cue, "import \"strings\"\nname: \"x\"\ninputs: s: strings.HasPrefix(\"x\")\nnodes: a: tool: \"t.x\"\n"},
		{cue, "package p\nname: \"x\"\nlet n = \"t.x\"\nnodes: a: tool: n\n#D: int\n_h: 1\n"},
		{cue, "name: \"x\"\nnodes: {for k in [\"a\", \"b\"] {(k): tool: \"t.\\(k)\"}}\n"},
		{cue, "name: \"x\"\nnodes: a: {tool: \"t.x\", inputs: {r: #\"${inputs.x}\"#, m: \"\"\"\n\t${a}\n\t\"\"\", b: 'bytes', d: *\"${x}\" | int}}\n"},
		{cue, "name: \"x\"\nnodes: a: {tool: \"t.x\", when: {ref: \"${inputs.x}\"}, retry: {attempts: 0}, timeout: \"0s\"}\n"},
		{cue, "name: \"x\"\nplugins: {two: {wasm: \"a\", goplugin: \"b\"}, none: {}, p: wasm: string}\nnodes: a: tool: \"t.x\"\n"},
		{cue, "@extern(embed)\nname: \"x\"\nnodes: a: {tool: \"t.x\", inputs: {t: _ @embed(file=\"p.txt\", type=text), u: 1 @embed(file=x, glob=y) @embed(z)}}\n"},
		{cue, "name: \"x\"\ndescription: _ @embed(file=#\"../\\(x)\"#, type=text, type=json)\nnodes: a: tool: \"t.x\"\n"},
		{cue, "name: 1 & 2\n"},
		{cue, "[1, 2]"},
		{cue, "\"just a string\""},
		{yaml, ""},
		{yaml, "# only a comment\n"},
		{yaml, "name: x\nnodes: {a: {tool: t.x}}\n"},
		{yaml, "name: x\nname: y\nnodes:\n  a: {tool: t.x}\n  a: {tool: t.y}\n"},
		{yaml, "name: x\ninputs:\n  n: 'int & >=1 | *2'\n  t: 'int &'\n  u: bytes\nnodes: {a: {tool: t.x}}\n"},
		{yaml, "name: x\nnodes:\n  a: &n {tool: t.x}\n  b: *n\n  c:\n    <<: *n\n    timeout: 1s\n"},
		{yaml, "name: x\nnodes: *missing\n"},
		{yaml, "name: x\n---\nname: y\n"},
		{yaml, "- a\n- b\n"},
		{yaml, "name: x\n\tnodes: {}\n"},
		{yaml, "name: x\n? [a]\n: 1\n1: 2\n"},
		{yaml, "name: x\nnodes:\n  a:\n    tool: t.x\n    inputs:\n      l: |\n        ${inputs.x}\n      f: >-\n        a ${b}\n      é: \"${c}\"\n"},
		{json, ""},
		{json, "[]"},
		{json, `{"name": "x", "nodes": {"a": {"tool": "t.x"}}}`},
		{json, `{"name": "x", "name": "x", "nodes": {"a": {"tool": "t.x", "inputs": {"l": [{"k": 1, "k": 1}]}}}}`},
		{json, `{"name": "x", "inputs": {"n": "int & >=1 | *2", "s": "int &"}, "nodes": {"a": {"tool": "t.x", "inputs": {"u": "\u0024{inputs.n}"}}}}`},
		{json, "{\"name\": \"x\",\n \"nodes\": tru}"},
		{json, `{"name": "x"`},
		{json, `{"name": "x"} {}`},
	} {
		f.Add(seed.format, []byte(seed.src))
	}

	f.Fuzz(func(t *testing.T, format byte, src []byte) {
		ext := fuzzExts[int(format)%len(fuzzExts)]
		name := "fuzz/flow" + ext
		flow, err := schemas.Parse(name, src)
		if flow != nil && flow.File != name {
			t.Fatalf("flow.File = %q, want %q", flow.File, name)
		}
		if err == nil {
			if flow == nil {
				t.Fatal("Parse returned neither a flow nor an error")
			}
			checkLayouts(t, src, flow)
			return
		}
		list, ok := err.(schemas.Errors)
		if !ok {
			t.Fatalf("error %T is not a schemas.Errors: %v", err, err)
		}
		if len(list) == 0 {
			t.Fatal("Parse returned an empty schemas.Errors")
		}
		lines := fileLines(ext, src)
		for _, e := range list {
			if e == nil {
				t.Fatalf("nil entry in %q", err)
			}
			if e.Pos.File != name {
				t.Fatalf("error %q names file %q, want %q", e, e.Pos.File, name)
			}
			if e.Msg == "" {
				t.Fatalf("error at %s has no message", e.Pos)
			}
			if e.Pos.Line == 0 {
				continue
			}
			if e.Pos.Line > len(lines) || e.Pos.Col < 1 || e.Pos.Col > len(lines[e.Pos.Line-1])+1 {
				t.Fatalf("error %q is outside the file", e)
			}
		}
	})
}

// fileLines splits src into lines the way the reader of its format counts
// them: the YAML reader also breaks lines at a lone \r, NEL, LS and PS.
func fileLines(ext string, src []byte) []string {
	text := string(src)
	if ext == ".yaml" {
		text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(text)
	}
	return strings.SplitAfter(text, "\n")
}

// checkLayouts checks every string value of flow whose layout in the file
// Parse found: PosAt(0) must point at its text, byte for byte.
func checkLayouts(t *testing.T, src []byte, flow *schemas.Flow) {
	lines := strings.SplitAfter(string(src), "\n")
	var check func(v schemas.Value)
	check = func(v schemas.Value) {
		for _, item := range v.Items {
			check(item)
		}
		for _, fl := range v.Fields {
			check(fl.Value)
		}
		p := v.PosAt(0)
		if v.Kind != schemas.String || p == v.Pos {
			return
		}
		if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1])+1 {
			t.Fatalf("PosAt(0) of %q is %s, outside the file", v.Text, p)
		}
		rest := lines[p.Line-1][p.Col-1:] + strings.Join(lines[p.Line:], "")
		if !strings.HasPrefix(rest, v.Text) {
			t.Fatalf("PosAt(0) of %q is %s, where the file has %q", v.Text, p, rest[:min(len(rest), len(v.Text)+10)])
		}
	}
	for _, n := range flow.Nodes {
		for _, in := range n.Inputs {
			check(in.Value)
		}
		if n.When != nil {
			check(n.When.Subject())
			check(n.When.Is)
		}
	}
	for _, out := range flow.Outputs {
		check(out.Value)
	}
}
