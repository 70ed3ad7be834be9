package main

import (
	"crypto/ed25519"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// signFlow is a flow of builtin tools, to bundle and serve.
const signFlow = `name: "greet"
inputs: name: string
nodes: greet: {tool: "builtin.template", inputs: {template: "Hi, {{.name}}!", name: "${inputs.name}"}}
outputs: message: "${greet.output.text}"
`

// writeKey writes a new Ed25519 key pair as ssh-keygen does: the private
// key at path, in OpenSSH's format, encrypted when passphrase is not "",
// and the public key at path.pub. It returns the public key.
func writeKey(t *testing.T, path, passphrase string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "release@example")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "release@example", []byte(passphrase))
	}
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644))
	return sshPub
}

// weirIn runs the built weir in dir.
func weirIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	bin, _ := weirBinary(t)
	return runBinary(t, bin, dir, args...)
}

// weir bundle --sign signs, weir bundle inspect says by whom, and weir
// serve --trust serves only what a trusted key signed: from the command
// line, where anything else stops it with exit code 1 and one line, and
// from the admin API, which answers 403.
func TestBundleSignServeTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(signFlow), 0o644))
	ours := writeKey(t, filepath.Join(dir, "ours"), "")
	theirs := writeKey(t, filepath.Join(dir, "theirs"), "")
	ourName := "ssh-ed25519 " + ssh.FingerprintSHA256(ours)

	got := weirIn(t, dir, "bundle", "--sign", "ours", "-o", "signed.weir", "flow.cue")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Regexp(t, `^wrote signed.weir: flow "greet", 1 file, [0-9.]+ [KM]?i?B, sha256:[0-9a-f]{64}, signed by `+regexp.QuoteMeta(ourName)+"\n$", got.stdout)
	got = weirIn(t, dir, "bundle", "--sign", "theirs", "-o", "theirs.weir", "flow.cue")
	require.Equal(t, 0, got.code, got.stderr)
	got = weirIn(t, dir, "bundle", "-o", "unsigned.weir", "flow.cue")
	require.Equal(t, 0, got.code, got.stderr)

	got = weirIn(t, dir, "bundle", "inspect", "signed.weir")
	assert.Contains(t, got.stdout, "\nsigned by  "+ourName+"\n")
	got = weirIn(t, dir, "bundle", "inspect", "-o", "json", "signed.weir")
	assert.Contains(t, got.stdout, `"signature": {
    "key": "`+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ours)))+`",
    "fingerprint": "`+ssh.FingerprintSHA256(ours)+`"
  }`)

	t.Run("refused on the command line", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--trust", "ours.pub", "unsigned.weir"},
				"weir: unsigned.weir: refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted\n"},
			{[]string{"--trust", "ours.pub", "theirs.weir"},
				"weir: theirs.weir: refuse bundle: it is signed by ssh-ed25519 " + ssh.FingerprintSHA256(theirs) + ", which is not a trusted key\n"},
			{[]string{"--trust", "theirs.pub", "signed.weir", "--trust", "ours.pub", "unsigned.weir"},
				"weir: unsigned.weir: refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted\n"},
			{[]string{"--trust", "missing.pub", "signed.weir"},
				"weir: --trust: read trusted keys: open missing.pub: no such file or directory\n"},
			{[]string{"--trust", "ours", "signed.weir"},
				"weir: --trust: read trusted keys: ours:1: not an SSH public key, such as the line of a .pub file\n"},
		} {
			got := weirIn(t, dir, append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
			assert.Equal(t, result{1, "", tc.want}, got, strings.Join(tc.args, " "))
		}
	})

	t.Run("served and uploaded", func(t *testing.T) {
		t.Parallel()
		// Both keys are trusted by one file, as authorized_keys holds them.
		keys := append(must(os.ReadFile(filepath.Join(dir, "theirs.pub"))), must(os.ReadFile(filepath.Join(dir, "ours.pub")))...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "release_keys"), keys, 0o644))
		s := startServe(t, dir, nil, 2, "--trust", "release_keys", "--admin", "signed.weir")
		code, body := post(t, s.url+"/score", "application/json", `{"name": "Ada"}`)
		assert.Equal(t, 200, code)
		assert.Equal(t, `{"message":"Hi, Ada!"}`+"\n", body)

		code, body = post(t, s.url+"/v1/admin/deployments", "application/octet-stream", string(must(os.ReadFile(filepath.Join(dir, "unsigned.weir")))))
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, `{"error":{"code":"untrusted_bundle","message":"refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted"}}`+"\n", body)
		code, body = post(t, s.url+"/v1/admin/deployments?version=v2", "application/octet-stream", string(must(os.ReadFile(filepath.Join(dir, "theirs.weir")))))
		assert.Equal(t, http.StatusCreated, code, body)

		exit, _ := s.stop(t, syscall.SIGTERM)
		assert.Equal(t, 0, exit)
	})

	t.Run("a key with a passphrase", func(t *testing.T) {
		t.Parallel()
		writeKey(t, filepath.Join(dir, "locked"), "secret")
		got := weirIn(t, dir, "bundle", "--sign", "locked", "-o", "locked.weir", "flow.cue")
		assert.Equal(t, result{1, "", "weir: --sign locked: the key is protected by a passphrase, which weir does not ask for: sign with a key made for signing bundles, without one\n"}, got)
		got = weirIn(t, dir, "bundle", "--sign", "locked.pub", "-o", "locked.weir", "flow.cue")
		assert.Equal(t, 1, got.code)
		assert.True(t, strings.HasPrefix(got.stderr, "weir: --sign locked.pub: not an SSH private key (such as ssh-keygen writes): "), got.stderr)
		assert.NoFileExists(t, filepath.Join(dir, "locked.weir"))
	})

	t.Run("a key from ssh-keygen", func(t *testing.T) {
		t.Parallel()
		keygen, err := exec.LookPath("ssh-keygen")
		if err != nil {
			if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
				t.Fatalf("ssh-keygen: %v (install openssh-client)", err)
			}
			t.Skipf("SKIPPED, no ssh-keygen to make a key with (install openssh-client): %v", err)
		}
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "openssh")).CombinedOutput()
		require.NoError(t, err, "%s", out)
		got := weirIn(t, dir, "bundle", "--sign", "openssh", "-o", "openssh.weir", "flow.cue")
		require.Equal(t, 0, got.code, got.stderr)
		fp, err := exec.Command(keygen, "-l", "-f", filepath.Join(dir, "openssh.pub")).Output()
		require.NoError(t, err)
		assert.Contains(t, got.stdout, ", signed by ssh-ed25519 "+strings.Fields(string(fp))[1]+"\n")
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
