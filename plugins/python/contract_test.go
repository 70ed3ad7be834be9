package python_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

func TestContractsFromTypeHints(t *testing.T) {
	tools, _, _ := open(t, "types", "")
	c := tools["typed"].Contract()
	assert.Equal(t, "Shows how hints map to JSON Schema.", c.Description)
	assert.JSONEq(t, `{
		"type": "object",
		"properties": {
			"name": {"type": "string", "description": "who asks"},
			"count": {"type": "integer"},
			"ratio": {"type": "number"},
			"flag": {"type": "boolean"},
			"items": {"type": "array", "items": {"type": "string"}},
			"table": {"type": "object", "additionalProperties": {"type": "integer"}},
			"maybe": {"type": ["integer", "null"]},
			"mode": {"enum": ["fast", "slow"], "default": "fast"},
			"point": {"anyOf": [
				{"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}, "required": ["x"]},
				{"type": "null"}
			], "default": null},
			"plain": {"type": "array", "default": []},
			"anything": {"default": null}
		},
		"required": ["name", "count", "ratio", "flag", "items", "table", "maybe"],
		"additionalProperties": false
	}`, string(c.Inputs))
	assert.JSONEq(t, `{"type": "object", "properties": {"text": {"type": "string"}, "score": {"type": "number"}}, "required": ["text", "score"]}`, string(c.Outputs))

	c = tools["untyped"].Contract()
	assert.JSONEq(t, `{"type": "object", "properties": {"a": {}, "b": {"default": 2}}, "required": ["a"], "additionalProperties": true}`, string(c.Inputs))
	assert.JSONEq(t, `{"type": "object", "properties": {"value": {}}, "required": ["value"]}`, string(c.Outputs))

	out, err := invoke(t, tools["typed"], `{"name":"ann","count":1,"ratio":0.5,"flag":true,"items":[],"table":{},"maybe":null}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"ann","score":0.5}`, out)
	out, err = invoke(t, tools["untyped"], `{"a":1,"c":3}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"value":[1,2,{"c":3}]}`, out)
	out, err = invoke(t, tools["point"], `{"p":{"x":1,"y":5}}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"x":2,"y":5}`, out, "a dataclass returned is the output")
}

func TestPromptFlowContracts(t *testing.T) {
	tools, _, _ := open(t, "pf", "")
	c := tools["classify"].Contract()
	assert.Equal(t, "Picks the first label that appears in the text.", c.Description)
	assert.JSONEq(t, `{
		"type": "object",
		"properties": {
			"text": {"type": "string", "description": "the text to classify"},
			"labels": {"type": "array", "items": {"type": "string"}, "description": "the labels to look for"},
			"conn": {"type": "object"},
			"threshold": {"type": "number", "default": 0.5}
		},
		"required": ["text", "labels", "conn"],
		"additionalProperties": false
	}`, string(c.Inputs))
	assert.JSONEq(t, `{"type": "object", "properties": {"metrics": {"type": "object"}}}`, string(tools["accuracy"].Contract().Outputs))
	assert.JSONEq(t, `{"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}`, string(tools["words"].Contract().Outputs))
}

// openErr opens the plugin at path and returns the error.
func openErr(t *testing.T, spec plugins.Spec) error {
	t.Helper()
	needPython(t)
	p := python.NewProvider(python.Options{CacheDir: t.TempDir()})
	t.Cleanup(func() { _ = p.Close() })
	if spec.Options == nil {
		spec.Options = json.RawMessage(`{}`)
	}
	pl, err := p.Open(context.Background(), spec)
	if err == nil {
		_ = pl.Close()
	}
	return err
}

func TestOpenErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		spec plugins.Spec
		want string
	}{
		"syntax error": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "syntax")},
			"testdata/syntax/bad.py:6:15: invalid syntax",
		},
		"one tool in two files": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "dup")},
			`tool "clean" is defined twice: testdata/dup/a.py:5 and testdata/dup/b.py:10`,
		},
		"no such folder": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "nope")},
			"read Python tools: testdata/nope does not exist",
		},
		"a folder without Python": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "empty")},
			"read Python tools: testdata/empty holds no .py files",
		},
		"a pin that does not match": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "dup"), SHA256: "0000000000000000000000000000000000000000000000000000000000000000"},
			"refuse dup: its sha256 is " + mustDigest(t, "testdata/dup") + ", but the flow pins 0000000000000000000000000000000000000000000000000000000000000000",
		},
		"grants.hosts": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "dup"), Grants: plugins.Grants{Hosts: []string{"example.com"}}},
			"grants.hosts cannot be enforced on Python tools, which run as processes of their own: remove it (only grants.env applies)",
		},
		"no interpreter": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "dup"), Options: json.RawMessage(`{"python":{"path":"x","interpreter":"weir-no-such-python"}}`)},
			`find the Python interpreter: exec: "weir-no-such-python": executable file not found in $PATH`,
		},
		"a bad timeout": {
			plugins.Spec{Name: "t", Source: filepath.Join("testdata", "dup"), Options: json.RawMessage(`{"limits":{"timeout":"soon"}}`)},
			`limits.timeout: "soon" is not a positive duration`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "a folder without Python" {
				require.NoError(t, os.MkdirAll(filepath.Join("testdata", "empty"), 0o755))
				t.Cleanup(func() { _ = os.Remove(filepath.Join("testdata", "empty")) })
			}
			assert.EqualError(t, openErr(t, tc.spec), tc.want)
		})
	}
}

func mustDigest(t *testing.T, path string) string {
	t.Helper()
	d, err := python.Digest(path)
	require.NoError(t, err)
	return d
}

func TestDigestOfAFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(text), 0o644))
	}
	write("a.py", "A")
	write("sub/b.py", "B")
	write("notes.txt", "not Python")
	write("__pycache__/a.cpython-311.pyc", "byte code")
	write(".venv/lib/x.py", "hidden")
	write("env/pyvenv.cfg", "home = /usr/bin")
	write("env/lib/y.py", "a venv's")
	// One line per .py file, sorted: the path, NUL, the file's digest.
	lines := "a.py\x00" + sha("A") + "\n" + "sub/b.py\x00" + sha("B") + "\n"
	assert.Equal(t, sha(lines), mustDigest(t, dir))
	single := mustDigest(t, filepath.Join(dir, "a.py"))
	assert.Equal(t, sha("A"), single, "a file's digest is the file's")
}

// TestCodeDigest: the pin is the files' digest; the node cache's key
// covers the requirements as well.
func TestCodeDigest(t *testing.T) {
	_, pl, _ := open(t, "reqs", "")
	assert.Equal(t, mustDigest(t, "testdata/reqs"), pl.SHA256())
	plain, err := pl.Digest()
	require.NoError(t, err)
	_, withReqs, _ := open(t, "reqs", `{"python":{"path":"testdata/reqs","requirements":"testdata/reqs/requirements.txt"}}`)
	assert.Equal(t, pl.SHA256(), withReqs.SHA256())
	d, err := withReqs.Digest()
	require.NoError(t, err)
	assert.NotEqual(t, plain, d)
	assert.Len(t, d, 64)
}
