package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryGopluginSandbox runs the built weir on a flow in the current
// folder whose go-plugin is named by a bare file name, with a program of
// that name first on $PATH and a secret in weir's environment: the plugin
// of the flow's folder runs, sees only what the flow gives it, and what it
// started is gone once weir has exited.
func TestBinaryGopluginSandbox(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "native"), "./plugins/goplugin/testdata/tools")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "sandbox"
plugins: native: {goplugin: "native", env: {GIVEN: "by the flow"}}
nodes: {
	env: {tool: "native.environ", inputs: {}}
	spawn: {tool: "native.spawn", inputs: {}}
}
outputs: {
	env: "${env.output.env}"
	pid: "${spawn.output.pid}"
}
`), 0o644))
	impostor := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(impostor, "native"), []byte("#!/bin/sh\necho impostor\nexit 7\n"), 0o755))

	cmd := exec.Command(bin, "run", "--home", t.TempDir(), "-o", "json", "flow.cue")
	cmd.Dir = dir
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "WEIR_ADMIN_TOKEN=admin-secret", "TMPDIR="+tmp,
		"PATH="+impostor+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())

	var got struct {
		Env []string `json:"env"`
		PID int      `json:"pid"`
	}
	require.NoError(t, json.Unmarshal(stdout, &got), "%s", stdout)
	var names []string
	for _, kv := range got.Env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	assert.Equal(t, []string{
		"GIVEN", "OTEL_SERVICE_NAME", "PATH", "PLUGIN_CLIENT_CERT", "PLUGIN_MAX_PORT", "PLUGIN_MIN_PORT", "PLUGIN_PROTOCOL_VERSIONS",
		"PLUGIN_UNIX_SOCKET_DIR", "TMPDIR", "WEIR_PLUGIN", "WEIR_PLUGIN_MAX_MESSAGE_SIZE",
	}, names)
	assert.Contains(t, got.Env, "TMPDIR="+tmp)
	assert.Contains(t, got.Env, "GIVEN=by the flow")
	assert.Contains(t, got.Env, "PATH=/usr/local/bin:/usr/bin:/bin")

	require.NotZero(t, got.PID)
	assert.Eventually(t, func() bool { return !gopluginAlive(got.PID) }, 20*time.Second, 10*time.Millisecond,
		"child %d of the plugin outlived weir", got.PID)
}

// gopluginAlive reports whether a process runs, zombies excepted: the
// process that reaps an orphan may be slow to, or may never.
func gopluginAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
