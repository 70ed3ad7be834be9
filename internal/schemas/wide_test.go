package schemas

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"cuelang.org/go/cue/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDetach checks which nodes structs are evaluated entry by entry: plain
// data only, under labels of their own, that nothing refers to.
func TestDetach(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // the nodes detached, nil when evaluated in place
	}{
		{"plain", `name: "x", nodes: {a: {tool: "t.x", inputs: {n: -1, l: [1, "s", {k: null}]}}, "b-1": {tool: "t.y"}}`, []string{"a", "b-1"}},
		{"comments and attributes", "name: \"x\"\nnodes: {\n\t// first\n\ta: {tool: \"t.x\"} @doc(x)\n}\n", []string{"a"}},
		{"empty", `name: "x", nodes: {}`, nil},
		{"declared twice", `name: "x", nodes: a: {tool: "t.x"}, nodes: b: {tool: "t.y"}`, nil},
		{"label given twice", `name: "x", nodes: {a: {tool: "t.x"}, a: {retry: attempts: 2}}`, nil},
		{"label given twice inside", `name: "x", nodes: {a: {tool: "t.x", tool: "t.x"}}`, nil},
		{"a reference", `name: "x", _t: "t.x", nodes: {a: {tool: _t}}`, nil},
		{"a type", `name: "x", nodes: {a: {tool: string}}`, nil},
		{"a default", `name: "x", nodes: {a: {tool: *"t.x" | "t.y"}}`, nil},
		{"an interpolation", `name: "x", nodes: {a: {tool: "t.\(1)"}}`, nil},
		{"named elsewhere", `name: "x", nodes: {a: {tool: "t.x"}}, _all: nodes`, nil},
		{"named through an alias", `name: "x", N=nodes: {a: {tool: "t.x"}}, _all: N`, nil},
		{"a pattern", `name: "x", nodes: {[string]: {timeout: "1s"}, a: {tool: "t.x"}}`, nil},
		{"an embedding", `name: "x", nodes: {{a: {tool: "t.x"}}}`, nil},
		{"embedded at the top", `name: "x", {nodes: b: {tool: "t.y"}}, nodes: {a: {tool: "t.x"}}`, nil},
		{"a comprehension", `name: "x", nodes: {for k in ["a"] {(k): {tool: "t.x"}}}`, nil},
		{"a hidden node", `name: "x", nodes: {_a: {tool: "t.x"}, b: {tool: "t.y"}}`, nil},
		{"an optional node", `name: "x", nodes: {a?: {tool: "t.x"}, b: {tool: "t.y"}}`, nil},
		{"an open list", `name: "x", nodes: {a: {tool: "t.x", inputs: l: [1, ...]}}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parser.ParseFile("flow.cue", tc.src, parser.ParseComments)
			require.NoError(t, err)
			d := &decoder{file: "flow.cue", src: []byte(tc.src)}
			var got []string
			for _, e := range d.detach(f, "nodes") {
				got = append(got, e.name)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestDetachedAsInPlace checks that a flow whose nodes and outputs are
// evaluated entry by entry decodes, errors included, as it does when they
// are evaluated where they stand, which a reference to them forces.
func TestDetachedAsInPlace(t *testing.T) {
	full, err := os.ReadFile("testdata/full.cue")
	require.NoError(t, err)
	// More nodes than a chunk, with problems in the first and a later one.
	var wide strings.Builder
	wide.WriteString("name: \"wide\"\nnodes: {\n")
	for i := range 2*chunk + 5 {
		switch i {
		case 3, chunk + 7:
			fmt.Fprintf(&wide, "\tn%d: {tool: \"t.x\", timeout: \"soon\", retry: {}, extra: 1}\n", i)
		case chunk + 9:
			fmt.Fprintf(&wide, "\tn%d: {tool: 3, when: 1}\n", i)
		default:
			fmt.Fprintf(&wide, "\tn%d: {tool: \"t.x\", inputs: {v: \"${n%d.output}\", n: %d}}\n", i, max(i-1, 0), -i)
		}
	}
	wide.WriteString("}\noutputs: {\n")
	for i := range chunk + 3 {
		fmt.Fprintf(&wide, "\to%d: \"${n%d.output}\"\n", i, i)
	}
	wide.WriteString("}\n")

	for name, src := range map[string]string{
		"full":   string(full),
		"wide":   wide.String(),
		"errors": "name: \"x\"\nnodes: {\n\ta: {tool: \"t.x\", aggregate: \"yes\", retry: {attempts: 101}}\n\tb: 3\n\t\"c d\": {flow: \"x.cue\", inptus: {}}\n}\noutputs: {v: [1, {w: 2}], x: null}\n",
	} {
		t.Run(name, func(t *testing.T) {
			file := "testdata/" + name + ".cue"
			got, gotErr := Parse(file, []byte(src))
			// The decoder detached the nodes: the comparison is not of
			// one path with itself.
			f, err := parser.ParseFile(file, src, parser.ParseComments)
			require.NoError(t, err)
			d := &decoder{file: file, src: []byte(src)}
			require.NotEmpty(t, d.detach(f, "nodes"))

			want, wantErr := Parse(file, []byte(src+"_inPlace: [nodes, outputs]\n"))
			assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr))
			assert.Equal(t, want, got)
		})
	}
}
