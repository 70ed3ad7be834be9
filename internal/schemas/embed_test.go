package schemas_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/schemas"
)

// embedDir writes files into a new folder and returns it.
func embedDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestEmbed(t *testing.T) {
	// Byte for byte: no newline trimmed, CUE's escapes and weir's "${"
	// left as they are.
	tmpl := "# user:\n{{ q }} \\(x) ${inputs.q} \"quoted\"\r\n\n"
	dir := embedDir(t, map[string]string{"classify.jinja2": tmpl, "prompts/sys.txt": "system"})
	src := `@extern(embed)

name: "x"
nodes: {
	a: {tool: "builtin.prompt", inputs: template: _ @embed(file="classify.jinja2", type=text)}
	b: {tool: "builtin.prompt", inputs: {
		template: string @embed(file=prompts/sys.txt,type=text) @other(x)
		q: "${a.output.text}"
	}}
}
outputs: v: "${b.output.text}"
`
	file := filepath.Join(dir, "flow.cue")
	f, err := schemas.Parse(file, []byte(src))
	require.NoError(t, err)
	a := f.Nodes[0].Inputs[0].Value
	assert.Equal(t, schemas.String, a.Kind)
	assert.Equal(t, tmpl, a.Text)
	assert.Equal(t, "classify.jinja2", a.Embed)
	assert.Equal(t, schemas.Pos{File: file, Line: 5, Col: 50}, a.Pos, "at the attribute")
	assert.Equal(t, a.Pos, a.PosAt(3), "a text that is not in the flow file has no column of its own")
	b := f.Nodes[1].Inputs[0].Value
	assert.Equal(t, "system", b.Text)
	assert.Equal(t, "prompts/sys.txt", b.Embed)
	assert.Empty(t, f.Nodes[1].Inputs[1].Value.Embed, "only an embedded text is marked")
	assert.Equal(t, []schemas.Embed{
		{Pos: schemas.Pos{File: file, Line: 5, Col: 50}, Path: filepath.Join(dir, "classify.jinja2"), Written: "classify.jinja2"},
		{Pos: schemas.Pos{File: file, Line: 7, Col: 20}, Path: filepath.Join(dir, "prompts", "sys.txt"), Written: "prompts/sys.txt"},
	}, f.Embeds)

	// Skipped, the files are listed, not read: they need not exist.
	f, err = schemas.ParseWith(filepath.Join(t.TempDir(), "flow.cue"), []byte(src), schemas.Options{SkipEmbeds: true})
	require.NoError(t, err)
	assert.Equal(t, "", f.Nodes[0].Inputs[0].Value.Text)
	assert.Len(t, f.Embeds, 2)

	// @extern(embed) is not required.
	f, err = schemas.Parse(file, []byte(strings.TrimPrefix(src, "@extern(embed)\n")))
	require.NoError(t, err)
	assert.Equal(t, tmpl, f.Nodes[0].Inputs[0].Value.Text)
}

func TestEmbedErrors(t *testing.T) {
	big := strings.Repeat("x", schemas.MaxEmbed+1)
	dir := embedDir(t, map[string]string{
		"ok.txt":     "fine",
		"big.txt":    big,
		"latin1.txt": "caf\xe9",
		"sub/x.txt":  "x",
	})
	cases := []struct {
		name, field, want string
	}{
		{"missing file", `_ @embed(file="nope.jinja2", type=text)`,
			`embed "nope.jinja2": open DIR/nope.jinja2: no such file or directory`},
		{"absolute", `_ @embed(file="/etc/passwd", type=text)`,
			`embed "/etc/passwd": the path is absolute: embedded files must be inside the flow's folder`},
		{"out of the folder", `_ @embed(file="../secret.txt", type=text)`,
			`embed "../secret.txt": the path leads out of the flow's folder: embedded files must be inside the flow's folder`},
		{"out through a subfolder", `_ @embed(file="sub/../../x.txt", type=text)`,
			`embed "sub/../../x.txt": the path leads out of the flow's folder: embedded files must be inside the flow's folder`},
		{"too large", `_ @embed(file="big.txt", type=text)`,
			`embed "big.txt": DIR/big.txt is 4194305 bytes, over the 4 MiB limit of an embedded file`},
		{"not UTF-8", `_ @embed(file="latin1.txt", type=text)`,
			`embed "latin1.txt": DIR/latin1.txt is not UTF-8 text (a bad byte at offset 3)`},
		{"a folder", `_ @embed(file="sub", type=text)`,
			`embed "sub": DIR/sub is not a regular file`},
		{"json", `_ @embed(file="ok.txt", type=json)`,
			`embed "ok.txt": type=json is not supported: weir embeds a file as text only, with type=text`},
		{"no type", `_ @embed(file="ok.txt")`,
			`embed "ok.txt": add type=text: weir embeds a file as text only`},
		{"no file", `_ @embed(type=text)`,
			`@embed needs file="NAME", the path of a file in the flow's folder, as in @embed(file="prompt.jinja2", type=text)`},
		{"glob", `_ @embed(glob="*.txt", type=text)`,
			`@embed: glob is not supported: embed one file with file="NAME", type=text`},
		{"unknown argument", `_ @embed(file="ok.txt", type=text, mode=raw)`,
			`@embed: unknown argument "mode": give file="NAME" and type=text`},
		{"flag", `_ @embed(file="ok.txt", type=text, allowEmptyGlob)`,
			`@embed: argument "allowEmptyGlob" has no value: write key=value`},
		{"a value", `"text" @embed(file="ok.txt", type=text)`,
			`embed "ok.txt": the field's value must be _, the file's text, as in template: _ @embed(file="ok.txt", type=text)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: \"x\"\nnodes: a: {tool: \"builtin.prompt\", inputs: {\n\ttemplate: " + tc.field + "\n}}\n"
			file := filepath.Join(dir, "flow.cue")
			_, err := schemas.Parse(file, []byte(src))
			require.Error(t, err)
			col := strings.Index(tc.field, "@") + len("\ttemplate: ") + 1
			want := fmt.Sprintf("%s:3:%d: ", file, col) + strings.ReplaceAll(tc.want, "DIR", dir)
			assert.Equal(t, want, err.Error())
		})
	}
}

// TestEmbedOnlyInCUE shows that YAML and JSON flows have no @embed: the
// text is a string like any other.
func TestEmbedOnlyInCUE(t *testing.T) {
	f, err := schemas.Parse("flow.yaml", []byte("name: x\nnodes:\n  a:\n    tool: builtin.prompt\n    inputs:\n      template: '_ @embed(file=\"x\", type=text)'\n"))
	require.NoError(t, err)
	assert.Equal(t, `_ @embed(file="x", type=text)`, f.Nodes[0].Inputs[0].Value.Text)
	assert.Empty(t, f.Embeds)
}
