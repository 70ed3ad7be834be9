package promptflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImport feeds the importer arbitrary flow.dag.yaml files beside a
// template and a tool: it returns a flow or an error that says where, and
// never panics.
func FuzzImport(f *testing.F) {
	for _, seed := range []string{
		"inputs: {q: {type: string, default: hi}}\noutputs: {a: {type: string, reference: '${n.output}'}}\nnodes:\n- {name: n, type: prompt, source: {type: code, path: t.jinja2}, inputs: {q: '${inputs.q}'}}\n",
		"nodes:\n- {name: a, type: python, source: {type: code, path: a.py}, inputs: {x: '${b.output.c[0][\"k\"]}'}, activate: {when: '${b.output}', is: 1}}\n- {name: b, type: llm, connection: c, api: completion, source: {type: code, path: t.jinja2}, inputs: {max_tokens: inf, stop: ''}}\n",
		"inputs: [1]\n",
		"nodes: {a: 1}\n",
		"node_variants: {n: {default_variant_id: x, variants: {x: {node: {type: prompt}}}}}\nnodes: [{name: n, use_variants: true}]\n",
		"additional_includes: ['../../etc/passwd', '/abs']\nenvironment: {python_requirements_txt: ../r.txt}\n",
		"inputs: {a: {type: int, default: '1.5'}, b: {type: bool, default: maybe}, c: {type: list, default: '[1'}}\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "t.jinja2"), []byte("# user:\n{{q}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.py"), []byte("from promptflow.core import tool\n"), 0o644)
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.WriteFile(filepath.Join(dir, "flow.dag.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Import(context.Background(), dir, Options{Tools: stubTools(nil)})
		if err != nil {
			if !strings.Contains(err.Error(), "flow.dag.yaml") && !strings.Contains(err.Error(), "--variant") {
				t.Fatalf("an error that does not say where: %v", err)
			}
			return
		}
		if !strings.Contains(string(res.Files["flow.cue"]), "nodes:") {
			t.Fatalf("flow.cue without nodes:\n%s", res.Files["flow.cue"])
		}
	})
}
