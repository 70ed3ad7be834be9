package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binVersion is the version linked into the weir the tests build.
const binVersion = "v0.0.0-clitest"

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// weirBinary builds the real weir once per test run and returns it with the
// root of the repository, where it is meant to run. Under -short the test
// is skipped instead.
func weirBinary(t *testing.T) (bin, root string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the weir binary; skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIP LOUDLY: no go tool on PATH to build weir: %v", err)
	}
	root, err = filepath.Abs("../..")
	require.NoError(t, err)
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "weir-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "weir")
		build := exec.Command(goTool, "build", "-ldflags", "-X github.com/weirflow/weir/engine.version="+binVersion, "-o", built.bin, "./cmd/weir")
		build.Dir = root
		// Static, as make build makes it: the container host ships it.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, built.err)
	return built.bin, root
}

// mixedSum is the SHA-256 of "WEIR".
const mixedSum = "b660b8269494059dd32d1422704d47e8f414e87890a9443f3d2fa0a79d251231"

// TestBinary builds the real weir and runs it as a user does, from the root
// of the repository: exit codes come from os.Exit, not from execute.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)

	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "validate",
			args:   []string{"validate", "examples/hello/flow.cue"},
			stdout: "examples/hello/flow.cue: ok: flow \"hello\", 2 nodes\n",
		},
		{
			name:   "validate a cycle",
			args:   []string{"validate", "cmd/weir/testdata/cycle.cue"},
			code:   1,
			stderr: "cmd/weir/testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name:   "run",
			args:   []string{"run", "examples/hello/flow.cue", "--input", "name=Ada", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			// One tool of each kind: Wasm, go-plugin and builtin.
			name:   "run a flow of mixed plugin kinds",
			args:   []string{"run", "examples/mixed/flow.cue", "--input", "text=weir", "-o", "json"},
			stdout: "{\n  \"report\": \"WEIR has sha256 " + mixedSum + "\",\n  \"sha256\": \"" + mixedSum + "\"\n}\n",
		},
		{
			name:   "run the flow of a folder",
			args:   []string{"run", "examples/hello", "--input", "name=Ada", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "run with inputs on stdin",
			args:   []string{"run", "--inputs", "-", "-o", "json", "examples/hello/flow.cue"},
			stdin:  `{"name": "Ada", "loud": true}`,
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": \"HELLO, ADA!\"\n}\n",
		},
		{
			name:   "failed run",
			args:   []string{"run", "-o", "json", "cmd/weir/testdata/slow.cue"},
			code:   1,
			stderr: `weir: node "nap" (tool builtin.sleep, plugin builtin): timed out after 20ms` + "\n",
		},
		{
			name:   "unknown input",
			args:   []string{"run", "examples/hello/flow.cue", "--input", "nam=Ada"},
			code:   2,
			stderr: `weir: --input "nam=Ada": the flow has no input "nam" (inputs: loud, name)` + "\n" + usage("run"),
		},
		{
			name:   "a usage error points to its command's help",
			args:   []string{"batch"},
			code:   2,
			stderr: "weir: batch takes 1 argument, got 0\n" + usage("batch"),
		},
		{
			name:   "unknown command",
			args:   []string{"bogus"},
			code:   2,
			stderr: `weir: unknown command "bogus" for "weir"` + "\n" + hint,
		},
		{
			name:   "describe a plugin",
			args:   []string{"plugin", "describe", "examples/plugins/text/text.wasm"},
			stdout: "examples/plugins/text/text.wasm" + textTools,
		},
		{
			name:   "help on an unknown topic",
			args:   []string{"help", "bogus"},
			code:   2,
			stderr: `weir: unknown help topic "bogus"` + "\n" + hint,
		},
		{
			name:   "version set at link time",
			args:   []string{"version"},
			stdout: "weir " + binVersion + " " + runtime.GOOS + "/" + runtime.GOARCH + " " + runtime.Version() + "\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runBinaryIn(t, bin, root, tc.stdin, tc.args...)
			assert.Equal(t, tc.stdout, got.stdout, "stdout")
			assert.Equal(t, tc.stderr, got.stderr, "stderr")
			assert.Equal(t, tc.code, got.code, "exit code")
		})
	}
}
