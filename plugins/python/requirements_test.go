package python_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

// needYAML skips a test when the system's Python has no PyYAML (Debian's
// python3-yaml) for a virtual environment to see.
func needYAML(t *testing.T) {
	t.Helper()
	needPython(t)
	if exec.Command("python3", "-c", "import yaml").Run() != nil {
		t.Skip("python3 has no yaml module (install python3-yaml): requirements cannot be tested without an index")
	}
	if exec.Command("python3", "-m", "pip", "--version").Run() != nil {
		t.Skip("python3 has no pip (install python3-pip): requirements cannot be tested")
	}
}

func openReqs(t *testing.T, dir string) plugins.Tool {
	t.Helper()
	p := python.NewProvider(python.Options{CacheDir: t.TempDir()})
	t.Cleanup(func() { _ = p.Close() })
	src := filepath.Join("testdata", dir)
	opts, _ := json.Marshal(map[string]any{"python": map[string]string{"path": src, "requirements": filepath.Join(src, "requirements.txt")}})
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "y", Kind: "python", Source: src, Options: opts})
	require.NoError(t, err, "contracts are read without the requirements installed")
	return pl.Tools()[0]
}

func TestRequirementsTheSystemHas(t *testing.T) {
	needYAML(t)
	tl := openReqs(t, "reqs")
	out, err := invoke(t, tl, `{"text":"a: [1, 2]"}`)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":[1,2]}`, out)
}

func TestRequirementThatCannotBeHad(t *testing.T) {
	needYAML(t)
	tl := openReqs(t, "reqsbad")
	_, err := invoke(t, tl, `{"text":"a: 1"}`)
	require.Error(t, err)
	assert.Regexp(t, `^requirements.txt:3: cannot install "weir-no-such-pkg==1.0": no package index this machine reaches has it \(pip: ERROR: No matching distribution found for weir-no-such-pkg==1.0\)$`, err.Error())
}
