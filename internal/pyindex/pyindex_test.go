package pyindex

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPipInstalls installs a package of the index with the machine's pip
// into a folder, and imports it.
func TestPipInstalls(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-m", "pip", "--version").Run() != nil {
		t.Skip("needs python3 with pip")
	}
	s := Start(Package{Name: "weir-greeting", Version: "1.0", Files: map[string]string{"weir_greeting/__init__.py": "HELLO = 'hello'\n"}})
	defer s.Close()
	target := t.TempDir()
	out, err := exec.Command(py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--index-url", s.URL(), "--target", target, "weir_greeting==1.0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(py, "-c", "import weir_greeting; print(weir_greeting.HELLO)")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+target)
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.Equal(t, "hello\n", string(got))
	require.FileExists(t, filepath.Join(target, "weir_greeting-1.0.dist-info", "METADATA"))
}
