package bundle_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/hosts/bundle"
)

// sshKeygen returns the path of OpenSSH's ssh-keygen, or skips the test
// loudly (fails it under WEIR_REQUIRE_TOOLS, as CI sets).
func sshKeygen(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatalf("ssh-keygen: %v (install openssh-client)", err)
		}
		t.Skipf("SKIPPED, no ssh-keygen to check signatures against (install openssh-client): %v", err)
	}
	return path
}

// run runs a command with stdin and returns its output, failing the test
// when it fails.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// A bundle's signature is an SSH signature as OpenSSH makes and checks
// them: a bundle signed with ssh-keygen -Y sign reads as signed by its
// key, and ssh-keygen -Y verify accepts weir's, for each kind of key.
func TestSignatureOpenSSH(t *testing.T) {
	t.Parallel()
	keygen := sshKeygen(t)
	unsigned, m := build(t, greet)
	for _, kind := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key := filepath.Join(dir, "id_"+kind)
			run(t, "", keygen, "-q", "-t", kind, "-N", "", "-C", "release@example", "-f", key)
			pubLine, err := os.ReadFile(key + ".pub")
			require.NoError(t, err)
			pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
			require.NoError(t, err)
			trust, err := bundle.LoadTrust(key + ".pub")
			require.NoError(t, err)

			t.Run("signed by ssh-keygen, read by weir", func(t *testing.T) {
				digest := filepath.Join(dir, "digest")
				require.NoError(t, os.WriteFile(digest, []byte(m.Digest), 0o644))
				run(t, "", keygen, "-Y", "sign", "-f", key, "-n", "weir-bundle", digest)
				sig, err := os.ReadFile(digest + ".sig")
				require.NoError(t, err)
				// The signature goes last, as weir bundle --sign puts it.
				entries := append(untar(t, unsigned), file("weir-bundle.sig", string(sig)))
				b, err := trust.Read(archive(entries...))
				require.NoError(t, err)
				assert.Equal(t, ssh.FingerprintSHA256(pub), ssh.FingerprintSHA256(b.Signer()))
			})

			t.Run("signed by weir, verified by ssh-keygen", func(t *testing.T) {
				pem, err := os.ReadFile(key)
				require.NoError(t, err)
				signer, err := ssh.ParsePrivateKey(pem)
				require.NoError(t, err)
				data, _ := buildSigned(t, greet, signer)
				entries := untar(t, data)
				last := entries[len(entries)-1]
				require.Equal(t, "weir-bundle.sig", last.hdr.Name)
				sigFile := filepath.Join(dir, "weir-bundle.sig")
				require.NoError(t, os.WriteFile(sigFile, last.body, 0o644))
				signers := filepath.Join(dir, "allowed_signers")
				require.NoError(t, os.WriteFile(signers, append([]byte(`release@example namespaces="weir-bundle" `), pubLine...), 0o644))

				out := run(t, m.Digest, keygen, "-Y", "verify", "-f", signers, "-I", "release@example", "-n", "weir-bundle", "-s", sigFile)
				assert.Contains(t, out, `Good "weir-bundle" signature for release@example with `)
				assert.Contains(t, out, ssh.FingerprintSHA256(pub))

				// And not for another bundle.
				cmd := exec.Command(keygen, "-Y", "verify", "-f", signers, "-I", "release@example", "-n", "weir-bundle", "-s", sigFile)
				cmd.Stdin = bytes.NewReader([]byte(strings.Replace(m.Digest, "sha256:", "sha256:0", 1)))
				out2, err := cmd.CombinedOutput()
				assert.Error(t, err, "ssh-keygen accepted the signature for another digest:\n%s", out2)
			})
		})
	}
}
