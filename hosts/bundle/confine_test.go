package bundle_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/bundle"
)

// handMade makes a bundle of the files by hand, with archive/tar and gzip
// and a manifest that is right about them, as an attacker would: only what
// the flows say can be wrong. The entry is flows/flow.cue, of the flow "x".
func handMade(files map[string]string) *fixture {
	fx := &fixture{m: bundle.Manifest{Format: 1, Flow: "x", Weir: "devel", Entry: "flows/flow.cue"}}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		e := file(p, files[p])
		fx.files = append(fx.files, e)
		fx.m.Files = append(fx.m.Files, bundle.File{Path: p, SHA256: fmt.Sprintf("%x", sha256Sum(e.body)), Size: int64(len(e.body))})
	}
	fx.m.Digest = fx.digest()
	return fx
}

// confineCases are bundles made by hand whose flows lead outside the
// bundle, or which do not say what the manifest says, and what Read says.
// The fuzz seed corpus holds them too.
func confineCases() []struct {
	name  string
	files map[string]string
	want  string
} {
	const nodes = "nodes: n: tool: \"x.run\"\noutputs: {}\n"
	const sub = "name: \"sub\"\n" + nodes
	wasm := "\x00asm\x01\x00\x00\x00"
	return []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name:  "plugin up and out",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: wasm: \"../../x.wasm\"\n" + nodes},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path ../../x.wasm leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name:  "plugin up and out, hidden in the middle",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: wasm: \"./../plugins/../../x.wasm\"\n" + nodes, "plugins/x.wasm": wasm},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path ../../x.wasm leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name:  "embedded file not in the bundle",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\n" + nodes + "description: _ @embed(file=\"prompt.txt\", type=text)\n"},
			want:  `read bundle: flows/flow.cue:4:16: embed "prompt.txt": the path prompt.txt is not a file of the bundle`,
		},
		{
			name:  "embedded file up and out",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\n" + nodes + "description: _ @embed(file=\"../../etc/passwd\", type=text)\n"},
			want:  `read bundle: flows/flow.cue:4:16: embed "../../etc/passwd": the path leads out of the flow's folder: embedded files must be inside the flow's folder`,
		},
		{
			name:  "absolute plugin",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: goplugin: \"/usr/bin/env\"\n" + nodes},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path /usr/bin/env is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file`,
		},
		{
			name:  "plugin not in the bundle",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: wasm: \"../plugins/y.wasm\"\n" + nodes, "plugins/x.wasm": wasm},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path ../plugins/y.wasm is not a file of the bundle`,
		},
		{
			name:  "plugin a folder of the bundle",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: wasm: \"../plugins\"\n" + nodes, "plugins/x.wasm": wasm},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path ../plugins is not a file of the bundle`,
		},
		{
			name:  "sub-flow outside",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nnodes: n: flow: \"../../sub.cue\"\noutputs: {}\n"},
			want:  `read bundle: flows/flow.cue:2:17: node "n": the path ../../sub.cue leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name:  "absolute sub-flow",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nnodes: n: flow: \"/etc/weir/sub.cue\"\noutputs: {}\n"},
			want:  `read bundle: flows/flow.cue:2:17: node "n": the path /etc/weir/sub.cue is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file`,
		},
		{
			name: "sub-flow whose plugin is outside",
			files: map[string]string{
				"flows/flow.cue":     "name: \"x\"\nnodes: n: flow: \"deep/sub.cue\"\noutputs: {}\n",
				"flows/deep/sub.cue": "name: \"sub\"\nplugins: x: wasm: \"../../../x.wasm\"\n" + nodes,
			},
			want: `read bundle: flows/deep/sub.cue:2:10: plugin "x": the path ../../../x.wasm leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name: "sub-flows in a cycle, one of them out",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nnodes: n: flow: \"sub.cue\"\noutputs: {}\n",
				"flows/sub.cue":  "name: \"sub\"\nnodes: {\n\tback: flow: \"flow.cue\"\n\tout: flow: \"../../x.cue\"\n}\noutputs: {}\n",
			},
			want: `read bundle: flows/sub.cue:4:13: node "out": the path ../../x.cue leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name:  "sub-flow that is not a flow",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nnodes: n: flow: \"../plugins/x.wasm\"\noutputs: {}\n", "plugins/x.wasm": wasm},
			want:  `read bundle: plugins/x.wasm: unknown flow format ".wasm": name the file .cue, .yaml or .json`,
		},
		{
			name: "granted folder outside",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: x: {wasm: \"../plugins/x.wasm\", grants: dirs: \"/etc\": path: \"/etc\"}\n" + nodes,
				"plugins/x.wasm": wasm,
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "x": granted folder "/etc": the path /etc is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file`,
		},
		{
			name: "builtin plugin granted a folder up and out",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: b: {builtin: true, grants: dirs: \"/d\": path: \"../..\"}\n" + nodes,
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "b": granted folder "/d": the path ../.. leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name: "granted folder with write",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: x: {wasm: \"../plugins/x.wasm\", grants: dirs: \"/p\": {path: \"../plugins\", write: true}}\n" + nodes,
				"plugins/x.wasm": wasm,
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "x": granted folder "/p": a plugin may not write into a bundle, whose files the server runs: grant the folder without write`,
		},
		{
			name: "every problem at once",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: {\n\tx: wasm: \"../../x.wasm\"\n\ty: goplugin: \"/bin/sh\"\n}\nnodes: n: flow: \"../../sub.cue\"\noutputs: {}\n",
			},
			want: `read bundle: flows/flow.cue:3:2: plugin "x": the path ../../x.wasm leads outside the bundle: a flow in a bundle reaches only the bundle's files
flows/flow.cue:4:2: plugin "y": the path /bin/sh is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file
flows/flow.cue:6:17: node "n": the path ../../sub.cue leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name:  "python folder not in the bundle",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: python: \"../tool\"\n" + nodes, "tools/a.py": ""},
			want:  `read bundle: flows/flow.cue:2:10: plugin "x": the path ../tool is not a file or folder of the bundle`,
		},
		{
			name: "python byte-code",
			files: map[string]string{
				"flows/flow.cue":                      "name: \"x\"\nplugins: x: python: \"../tools\"\n" + nodes,
				"tools/a.py":                          "",
				"tools/__pycache__/a.cpython-312.pyc": "\x00",
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "x": the bundle holds the byte-code tools/__pycache__/a.cpython-312.pyc, which Python could run in place of the .py files: weir bundle carries none`,
		},
		{
			name: "python requirements outside",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: x: python: {path: \"../tools/a.py\", requirements: \"/etc/requirements.txt\"}\n" + nodes,
				"tools/a.py":     "",
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "x": requirements: the path /etc/requirements.txt is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file`,
		},
		{
			name: "python interpreter in a virtual environment",
			files: map[string]string{
				"flows/flow.cue": "name: \"x\"\nplugins: x: python: {path: \"../tools/a.py\", interpreter: \"venv/bin/python\"}\n" + nodes,
				"tools/a.py":     "",
			},
			want: `read bundle: flows/flow.cue:2:10: plugin "x": interpreter: the path venv/bin/python is relative, but a bundle holds no interpreter or virtual environment: name one on the host's PATH (python3) or by an absolute path, and list the packages the tools need in requirements`,
		},
		{
			name:  "entry flow that does not parse",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\n"},
			want:  `read bundle: flows/flow.cue:1:1: missing field "nodes": a flow needs at least one node`,
		},
		{
			name:  "manifest names another flow",
			files: map[string]string{"flows/flow.cue": "name: \"y\"\n" + nodes},
			want:  `read bundle: file "weir-bundle.json": the manifest names the flow "x", but the entry flow flows/flow.cue is "y"`,
		},
		{
			name:  "manifest says another version",
			files: map[string]string{"flows/flow.cue": "name: \"x\"\nversion: \"2\"\n" + nodes},
			want:  `read bundle: file "weir-bundle.json": the manifest says version "", but the entry flow flows/flow.cue says "2"`,
		},
	}
}

// A flow in a bundle reaches only the bundle's files: Read refuses every
// way out before anything is extracted or any plugin opened, naming the
// flow file, line and column, and the path.
func TestReadConfines(t *testing.T) {
	t.Parallel()
	for _, tc := range confineCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := bundle.Read(handMade(tc.files).bytes())
			assert.Nil(t, b)
			require.EqualError(t, err, tc.want)
			var ie *bundle.InvalidError
			assert.ErrorAs(t, err, &ie)
		})
	}
}

// What stays inside is accepted: plugins and sub-flows anywhere in the
// bundle, builtin plugins, which have no file, read-only folders, and
// Python plugins' files and folders, with an interpreter on the host.
func TestReadConfinesNotTooMuch(t *testing.T) {
	t.Parallel()
	fx := handMade(map[string]string{
		"flows/flow.cue": `name: "x"
plugins: {
	x: {wasm: "../plugins/x.wasm", grants: dirs: {"/all": path: "..", "/p": path: "../plugins"}}
	b: builtin: true
	py: python: {path: "../tools/", requirements: "../tools/requirements.txt", interpreter: "/usr/bin/python3"}
	one: python: {path: "../tools/sub/b.py", interpreter: "python3.12"}
}
nodes: {
	n: flow: "./deep/../sub.yaml"
	m: tool: "x.run"
}
outputs: {}
`,
		"flows/sub.yaml":         "name: sub\nplugins: {x: {wasm: ../plugins/x.wasm}}\nnodes: {n: {flow: flow.cue}}\noutputs: {}\n",
		"plugins/x.wasm":         "\x00asm",
		"tools/a.py":             "",
		"tools/requirements.txt": "",
		"tools/sub/b.py":         "",
	})
	b, err := bundle.Read(fx.bytes())
	require.NoError(t, err)
	assert.Equal(t, fx.m, b.Manifest())
}
