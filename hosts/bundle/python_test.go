package bundle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/plugins/python"
)

// pyTool is a Python tool that imports a module of its folder's subfolder.
const pyTool = `from weir import tool
from helpers.shout import shout


@tool
def loud(text: str) -> str:
    """Shouts the text."""
    return shout(text)
`

// pythonFlow writes a flow whose Python plugin is the folder tools, with a
// subfolder, a requirements file and the files a bundle leaves out: byte
// code, a hidden folder, a virtual environment and a file that is not
// Python. pin is the plugin's sha256 field, or "" for none.
func pythonFlow(t *testing.T, pin string, requirements bool) (dir, flowPath string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name, content string) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("tools/loud.py", pyTool)
	write("tools/helpers/__init__.py", "")
	write("tools/helpers/shout.py", "def shout(s):\n    return s.upper() + '!'\n")
	write("tools/requirements.txt", "# none\n")
	write("tools/__pycache__/loud.cpython-312.pyc", "\x00")
	write("tools/.git/hook.py", "")
	write("tools/venv/pyvenv.cfg", "home = /usr/bin\n")
	write("tools/venv/lib/site.py", "")
	write("tools/notes.txt", "not Python")
	entry := `"tools/"`
	if requirements {
		entry = `{path: "tools/", requirements: "tools/requirements.txt"}`
	}
	src := "name: \"py\"\nplugins: p: python: " + entry + "\n"
	if pin != "" {
		src += "plugins: p: sha256: \"" + pin + "\"\n"
	}
	src += "inputs: text: string\nnodes: n: {tool: \"p.loud\", inputs: text: \"${inputs.text}\"}\noutputs: out: \"${n.output.value}\"\n"
	write("flow.cue", src)
	return dir, filepath.Join(dir, "flow.cue")
}

// A bundle carries a Python plugin's folder: the .py files its pin
// covers and its requirements file, nothing else of the folder.
func TestBuildPython(t *testing.T) {
	t.Parallel()
	dir, path := pythonFlow(t, "", true)
	sum, err := python.Digest(filepath.Join(dir, "tools"))
	require.NoError(t, err)
	_, path = pythonFlowPinned(t, dir, sum)
	data, m := build(t, path)
	assert.Equal(t, []string{"flow.cue", "tools/helpers/__init__.py", "tools/helpers/shout.py", "tools/loud.py", "tools/requirements.txt"}, paths(m.Files))
	for _, f := range m.Files {
		assert.False(t, f.Exec, f.Path)
	}
	b, err := bundle.Read(data)
	require.NoError(t, err)
	assert.Equal(t, *m, b.Manifest())

	t.Run("pin", func(t *testing.T) {
		t.Parallel()
		_, path := pythonFlow(t, strings.Repeat("0", 64), false)
		_, err := bundle.Build(path, new(bytes.Buffer))
		assert.EqualError(t, err, "bundle "+path+`: plugin "p": the sha256 of the folder `+filepath.Join(filepath.Dir(path), "tools")+" is "+pythonDigest(t, filepath.Join(filepath.Dir(path), "tools"))+", but the flow pins "+strings.Repeat("0", 64))
	})
	t.Run("no .py files", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "tools"), 0o755))
		path := filepath.Join(dir, "flow.cue")
		require.NoError(t, os.WriteFile(path, []byte("name: \"py\"\nplugins: p: python: \"tools\"\nnodes: n: tool: \"p.x\"\noutputs: {}\n"), 0o644))
		_, err := bundle.Build(path, new(bytes.Buffer))
		assert.EqualError(t, err, "bundle "+path+`: plugin "p": `+filepath.Join(dir, "tools")+" holds no .py files")
	})
}

// pythonFlowPinned rewrites the flow in dir with the pin sum.
func pythonFlowPinned(t *testing.T, dir, sum string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "flow.cue")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	src = append(src, []byte("plugins: p: sha256: \""+sum+"\"\n")...)
	require.NoError(t, os.WriteFile(path, src, 0o644))
	return dir, path
}

func pythonDigest(t *testing.T, path string) string {
	t.Helper()
	sum, err := python.Digest(path)
	require.NoError(t, err)
	return sum
}

// A changed or an added Python file is refused when the bundle is read,
// even when the flow pins no digest: the manifest covers every file.
func TestReadPythonTampered(t *testing.T) {
	t.Parallel()
	_, path := pythonFlow(t, "", false)
	data, _ := build(t, path)
	entries := untar(t, data)

	changed := make([]entry, len(entries))
	copy(changed, entries)
	for i, e := range changed {
		if e.hdr.Name == "tools/loud.py" {
			body := bytes.Replace(e.body, []byte("Shouts"), []byte("Yells!"), 1)
			changed[i].body = body
			changed[i].hdr.Size = int64(len(body))
		}
	}
	_, err := bundle.Read(archive(changed...))
	assert.ErrorContains(t, err, `read bundle: file "tools/loud.py": SHA-256 mismatch: the manifest says `+sha256Of(t, filepath.Join(filepath.Dir(path), "tools", "loud.py")))

	added := append(entries[:len(entries):len(entries)], file("tools/sitecustomize.py", "import os\n"))
	_, err = bundle.Read(archive(added...))
	assert.EqualError(t, err, `read bundle: file "tools/sitecustomize.py": in the archive but not in the manifest`)
}

// An extracted bundle's Python plugin loads and runs from the extracted
// folder, whose digest is the one the flow pins.
func TestExtractRunsPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("SKIP LOUDLY: no python3 on PATH to run a Python tool with")
	}
	t.Parallel()
	dir, _ := pythonFlow(t, "", false)
	_, path := pythonFlowPinned(t, dir, pythonDigest(t, filepath.Join(dir, "tools")))
	data, _ := build(t, path)
	b, err := bundle.Read(data)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "deploy")
	flowPath, err := b.Extract(out)
	require.NoError(t, err)
	// The original folder goes, so that nothing loads from it.
	require.NoError(t, os.RemoveAll(dir))

	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(context.Background(), flowPath)
	require.NoError(t, err)
	res, err := f.Run(context.Background(), map[string]any{"text": "hi"})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(res.Outputs, &got))
	assert.Equal(t, map[string]any{"out": "HI!"}, got)
}
