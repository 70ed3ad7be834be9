package schemas_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/schemas"
)

// TestPythonEntry checks both forms of a python entry: the paths in the
// object form are resolved against the flow's folder, as Source is, but an
// interpreter named without a slash is left for PATH.
func TestPythonEntry(t *testing.T) {
	src := `name: "x"
plugins: {
	short: python: "tools/"
	long: {
		python: {path: "tools", requirements: "tools/requirements.txt", interpreter: "python3.12"}
		env: {LEVEL: "debug"}
		limits: {timeout: "5s", memory: "512MiB", instances: 2}
	}
	venv: python: {path: "t.py", interpreter: "venv/bin/python"}
}
nodes: a: tool: "short.x"
`
	f, err := schemas.Parse("flows/flow.cue", []byte(src))
	require.NoError(t, err)
	require.Len(t, f.Plugins, 3)
	for _, p := range f.Plugins {
		assert.Equal(t, "python", p.Spec.Kind)
	}
	assert.Equal(t, "flows/tools", f.Plugins[0].Spec.Source)
	assert.Equal(t, "tools/", f.Plugins[0].File)
	assert.JSONEq(t, `{"python":"tools/"}`, string(f.Plugins[0].Spec.Options))
	assert.Equal(t, "flows/tools", f.Plugins[1].Spec.Source)
	assert.JSONEq(t, `{
		"python": {"path": "flows/tools", "requirements": "flows/tools/requirements.txt", "interpreter": "python3.12"},
		"env": {"LEVEL": "debug"},
		"limits": {"timeout": "5s", "memory": "512MiB", "instances": 2}
	}`, string(f.Plugins[1].Spec.Options))
	assert.JSONEq(t, `{"python": {"path": "flows/t.py", "interpreter": "flows/venv/bin/python"}}`, string(f.Plugins[2].Spec.Options))

	_, err = schemas.Parse("flow.cue", []byte(`name: "x"
plugins: p: python: {requirements: "r.txt", pip: true}
nodes: a: tool: "p.x"
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `flow.cue:2:45: plugins.p.python: unknown field "pip"`)
}
