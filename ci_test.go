package weir_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/hoststest"
)

// ciStubs stand in for what .ci/run would install and run: a Docker CLI
// that answers while the file up exists, a dockerd that makes it exist
// until it is stopped, and apt-get. The real .ci/sshd starts a real sshd.
var ciStubs = map[string]string{
	"docker":  "#!/bin/sh\n[ -e \"$STATE/up\" ]\n",
	"dockerd": "#!/bin/bash\ntrap 'rm -f \"$STATE/up\"; exit 0' TERM\necho $$ >\"$STATE/dockerd.pid\"\ntouch \"$STATE/up\"\nwhile :; do sleep 0.1; done\n",
	"apt-get": "#!/bin/sh\necho \"$@\" >>\"$STATE/apt-get\"\n",
}

// ciMakefile stands in for weir's: make test notes what CI set up.
const ciMakefile = `lint:
	@true
test:
	@env | grep '^WEIR_REQUIRE' | sort >"$(STATE)/env"
	@cat "$$WEIR_TEST_SSH_DIR/sshd.pid" >"$(STATE)/sshd.pid"
	@echo "$$WEIR_TEST_SSH_DIR" >"$(STATE)/sshd.dir"
	@exit $(TEST_EXIT)
`

// TestCIRunStopsItsDaemons runs .ci/run by hand, as a developer would, in a
// copy of the repository where make and Docker are stand-ins: the daemons
// it starts (dockerd, sshd) stop when it ends, passing or failing, and a
// Docker engine that ran before it is left running.
func TestCIRunStopsItsDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd; skipped under -short")
	}
	for _, tool := range []string{"bash", "make", "/usr/sbin/sshd"} {
		_, err := exec.LookPath(tool)
		hoststest.Need(t, "SSH server and the tools .ci/run needs", err)
	}
	root := hoststest.Root(t)

	run := func(t *testing.T, dockerUp bool, testExit int) (state string, code int) {
		repo, stubs, state := t.TempDir(), t.TempDir(), t.TempDir()
		for _, f := range []string{".ci/run", ".ci/sshd"} {
			b, err := os.ReadFile(filepath.Join(root, f))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(repo, ".ci"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(repo, f), b, 0o755))
		}
		require.NoError(t, os.WriteFile(filepath.Join(repo, "Makefile"), []byte(ciMakefile), 0o644))
		peers := filepath.Join(repo, "bench", "peers")
		require.NoError(t, os.MkdirAll(peers, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(peers, "go.mod"), []byte("module peers\n\ngo 1.22\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(peers, "peers.go"), []byte("package peers\n"), 0o644))
		for name, text := range ciStubs {
			require.NoError(t, os.WriteFile(filepath.Join(stubs, name), []byte(text), 0o755))
		}
		if dockerUp {
			require.NoError(t, os.WriteFile(filepath.Join(state, "up"), nil, 0o644))
		}
		cmd := exec.Command("bash", filepath.Join(repo, ".ci", "run"))
		cmd.Env = append(os.Environ(), "PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"),
			"STATE="+state, "TEST_EXIT="+strconv.Itoa(testExit), "TMPDIR="+t.TempDir(), "GOWORK=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err, "%s", out.String())
		}
		t.Logf(".ci/run:\n%s", out.String())
		return state, code
	}
	// read returns the trimmed contents of a file that make test wrote.
	read := func(t *testing.T, state, name string) string {
		b, err := os.ReadFile(filepath.Join(state, name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	gone := func(t *testing.T, what, pidText string) {
		pid, err := strconv.Atoi(pidText)
		require.NoError(t, err)
		if !assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "%s (pid %d) still runs", what, pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // not to leave it to the next test
		}
	}

	t.Run("starts and stops both", func(t *testing.T) {
		state, code := run(t, false, 0)
		require.Equal(t, 0, code)
		assert.Equal(t, "WEIR_REQUIRE_HOSTS=1\nWEIR_REQUIRE_TOOLS=1", read(t, state, "env"))
		gone(t, "dockerd", read(t, state, "dockerd.pid"))
		assert.NoFileExists(t, filepath.Join(state, "up"))
		gone(t, "sshd", read(t, state, "sshd.pid"))
		assert.NoDirExists(t, read(t, state, "sshd.dir"))
	})
	t.Run("a failed make test stops them too", func(t *testing.T) {
		state, code := run(t, false, 3)
		assert.Equal(t, 2, code, "make's status for a failed recipe")
		gone(t, "dockerd", read(t, state, "dockerd.pid"))
		gone(t, "sshd", read(t, state, "sshd.pid"))
	})
	t.Run("a Docker engine already running is left", func(t *testing.T) {
		state, code := run(t, true, 0)
		require.Equal(t, 0, code)
		assert.NoFileExists(t, filepath.Join(state, "dockerd.pid"), "started a dockerd")
		assert.FileExists(t, filepath.Join(state, "up"))
		gone(t, "sshd", read(t, state, "sshd.pid"))
	})
}
