package jinja

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFidelity renders every template of testdata/fidelity and compares
// the text byte for byte with what Python's jinja2 rendered (NAME.out),
// or checks that it fails where jinja2 raised (NAME.err). testdata/gen.py
// writes the expected files; `make jinja-corpus` runs it.
func TestFidelity(t *testing.T) {
	paths, err := filepath.Glob("testdata/fidelity/*.jinja2")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 40 {
		t.Fatalf("found %d templates in testdata/fidelity, want the whole corpus", len(paths))
	}
	for _, path := range paths {
		base := strings.TrimSuffix(path, ".jinja2")
		t.Run(filepath.Base(base), func(t *testing.T) {
			out, outErr := os.ReadFile(base + ".out")
			pyErr, errErr := os.ReadFile(base + ".err")
			if outErr != nil && errErr != nil {
				t.Fatalf("neither %s.out nor %s.err exists: run make jinja-corpus", base, base)
			}
			got, err := renderFile(path, base+".json")
			if errErr == nil {
				if err == nil {
					t.Fatalf("rendered %q, but jinja2 raised %s", got, strings.TrimSpace(string(pyErr)))
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got != string(out) {
				t.Errorf("differs from jinja2:\n got: %q\nwant: %q", got, out)
			}
		})
	}
}

// renderFile renders one corpus template with the variables of a JSON file,
// when there is one.
func renderFile(tmplPath, varsPath string) (string, error) {
	src, err := os.ReadFile(tmplPath)
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	if data, err := os.ReadFile(varsPath); err == nil {
		v, err := DecodeJSON(data)
		if err != nil {
			return "", err
		}
		d := v.(*Dict)
		for _, k := range d.Keys() {
			vars[k], _ = d.Get(k)
		}
	}
	tmpl, err := Parse(filepath.Base(tmplPath), string(src))
	if err != nil {
		return "", err
	}
	return tmpl.Render(vars)
}
