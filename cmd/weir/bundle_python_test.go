package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/internal/mockllm"
)

// TestBundleTriage carries examples/triage, whose tools are a folder of
// Python, in a bundle through the built weir: bundle (signed), inspect,
// serve --trust, a deploy on the local host, and a container deploy that
// is refused before it builds anything.
func TestBundleTriage(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	s := mockllm.Start(mockllm.Options{Key: triageKey, Echo: true})
	defer s.Close()
	dir := triageFlow(t, root, s)
	// What a bundle leaves out of the tools' folder.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tools", "__pycache__"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tools", "__pycache__", "desk.cpython-312.pyc"), []byte("\x00"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tools", "notes.txt"), []byte("not Python"), 0o644))
	ours := writeKey(t, filepath.Join(dir, "ours"), "")
	home := t.TempDir()
	env := []string{"OTEL_TRACES_EXPORTER=none", "WEIR_HOME=" + home, "OPENAI_API_KEY=" + triageKey}

	r := runBinaryEnv(t, bin, dir, "", env, "bundle", ".", "--sign", "ours", "-o", "triage.weir")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^wrote triage.weir: flow "triage", 2 files, [0-9.]+ [KM]?i?B, sha256:[0-9a-f]{64}, signed by ssh-ed25519 `+regexp.QuoteMeta(ssh.FingerprintSHA256(ours))+"\n$", r.stdout)

	r = runBinaryEnv(t, bin, dir, "", env, "bundle", "inspect", "triage.weir")
	require.Equal(t, 0, r.code, r.stderr)
	desk, err := os.ReadFile(filepath.Join(dir, "tools", "desk.py"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^tools/desk\.py +[0-9.]+ [KM]?i?B +0644 +`+fmt.Sprintf("%x", sha256.Sum256(desk))+`$`, r.stdout)
	assert.NotContains(t, r.stdout, "pycache")
	assert.NotContains(t, r.stdout, "notes.txt")

	// The flow's folder goes: what runs is the bundle's copy.
	bundlePath := filepath.Join(t.TempDir(), "triage.weir")
	require.NoError(t, os.Rename(filepath.Join(dir, "triage.weir"), bundlePath))
	require.NoError(t, os.Rename(filepath.Join(dir, "ours.pub"), filepath.Join(home, "ours.pub")))
	require.NoError(t, os.RemoveAll(dir))

	t.Run("serve", func(t *testing.T) {
		srv := startServe(t, home, env[1:], 1, "--trust", "ours.pub", bundlePath)
		code, body := post(t, srv.url+"/score", "application/json", `{"ticket": "`+crashTicket+`"}`)
		require.Equal(t, http.StatusOK, code, body)
		assert.JSONEq(t, `{"category": "bug", "words": 12, "reply": `+string(must(json.Marshal(crashReply)))+`}`, body)
		exit, _ := srv.stop(t, syscall.SIGTERM)
		assert.Equal(t, 0, exit)
	})

	t.Run("deploy local", func(t *testing.T) {
		r := runBinaryEnv(t, bin, home, "", env, "deploy", "--home", home, bundlePath, "--host", "local")
		require.Equal(t, 0, r.code, r.stderr)
		t.Cleanup(func() { runBinaryEnv(t, bin, home, "", env, "deployments", "delete", "--home", home, "triage") })
		url := strings.TrimSpace(r.stdout)
		assert.Regexp(t, `^deployed flow "triage" \(sha256:[0-9a-f]{12}\) on local as "triage"\n$`, r.stderr)
		code, body := post(t, url+"/score", "application/json", `{"ticket": "My billing is wrong: I was charged twice."}`)
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, `"category":"billing"`)
		r = runBinaryEnv(t, bin, home, "", env, "deployments", "delete", "--home", home, "triage")
		assert.Equal(t, result{0, "deleted triage\n", ""}, r)
	})

	t.Run("deploy container", func(t *testing.T) {
		// No engine answers at this socket: the refusal comes first.
		socket := filepath.Join(t.TempDir(), "docker.sock")
		r := runBinaryEnv(t, bin, home, "", env, "deploy", "--home", home, bundlePath, "--host", "container", "--docker", "unix://"+socket)
		assert.Equal(t, result{1, "", `weir: deploy "triage" on container: build image: plugin "desk" runs Python tools, but the image holds only the static weir binary, with no Python to run them: deploy the flow with --host local, or --host vm on a machine with python3, or run weir serve on the bundle in an image of your own with Python installed` + "\n"}, r)
	})
}
