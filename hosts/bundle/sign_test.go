package bundle_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hiddeco/sshsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/hosts/bundle"
)

// testKey returns the Ed25519 key made from a seed of n: the same key in
// every run, so that the seed corpus does not change.
func testKey(n byte) ssh.Signer {
	key, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize)))
	if err != nil {
		panic(err)
	}
	return key
}

// signature returns the armored SSH signature of message by key, as
// ssh-keygen -Y sign -n namespace makes it.
func signature(key ssh.Signer, message, namespace string) []byte {
	sig, err := sshsig.Sign(strings.NewReader(message), key, sshsig.HashSHA512, namespace)
	if err != nil {
		panic(err)
	}
	return sshsig.Armor(sig)
}

// buildSigned bundles the flow at path in memory, signed by key.
func buildSigned(t *testing.T, path string, key ssh.Signer) ([]byte, *bundle.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := bundle.BuildSigned(path, key, &buf)
	require.NoError(t, err)
	return buf.Bytes(), m
}

func TestBuildSigned(t *testing.T) {
	t.Parallel()
	key := testKey(1)
	data, m := buildSigned(t, tree, key)
	_, unsigned := build(t, tree)
	assert.Equal(t, unsigned, m, "a signature changes neither the manifest nor the digest")

	entries := untar(t, data)
	last := entries[len(entries)-1]
	assert.Equal(t, "weir-bundle.sig", last.hdr.Name)
	assert.Equal(t, int64(0o644), last.hdr.Mode)
	sig, err := sshsig.Unarmor(last.body)
	require.NoError(t, err)
	require.NoError(t, sshsig.Verify(strings.NewReader(m.Digest), sig, key.PublicKey(), sshsig.HashSHA512, "weir-bundle"))

	b, err := bundle.Read(data)
	require.NoError(t, err)
	assert.Equal(t, key.PublicKey().Marshal(), b.Signer().Marshal())
	assert.Equal(t, *m, b.Manifest())

	// Extract writes the files, not the signature.
	dir := t.TempDir()
	_, err = b.Extract(dir)
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "weir-bundle.sig"))

	again, _ := buildSigned(t, tree, key)
	assert.True(t, bytes.Equal(data, again), "an Ed25519 signature is the same every time")

	unsignedData, _ := build(t, tree)
	b, err = bundle.Read(unsignedData)
	require.NoError(t, err)
	assert.Nil(t, b.Signer())
}

// A Trust accepts a bundle signed by one of its keys and refuses the rest
// with what a user reads; the nil Trust accepts all.
func TestTrust(t *testing.T) {
	t.Parallel()
	ours, theirs := testKey(1), testKey(2)
	signed, _ := buildSigned(t, greet, ours)
	byThem, _ := buildSigned(t, greet, theirs)
	unsigned, _ := build(t, greet)
	trust := bundle.NewTrust(testKey(3).PublicKey(), ours.PublicKey())

	b, err := trust.Read(signed)
	require.NoError(t, err)
	assert.Equal(t, ours.PublicKey().Marshal(), b.Signer().Marshal())

	_, err = trust.Read(unsigned)
	assert.EqualError(t, err, "refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted")
	assert.ErrorIs(t, err, bundle.ErrUntrusted)
	var ue *bundle.UntrustedError
	require.ErrorAs(t, err, &ue)
	assert.Nil(t, ue.Signer)

	_, err = trust.Read(byThem)
	assert.EqualError(t, err, "refuse bundle: it is signed by ssh-ed25519 "+ssh.FingerprintSHA256(theirs.PublicKey())+", which is not a trusted key")
	assert.ErrorIs(t, err, bundle.ErrUntrusted)

	assert.ErrorIs(t, func() error { _, err := bundle.NewTrust().Read(signed); return err }(), bundle.ErrUntrusted, "an empty Trust trusts no one")

	var none *bundle.Trust
	for _, data := range [][]byte{signed, byThem, unsigned} {
		_, err := none.Read(data)
		assert.NoError(t, err)
	}

	path := filepath.Join(t.TempDir(), "greet.weir")
	require.NoError(t, os.WriteFile(path, unsigned, 0o644))
	_, err = trust.Open(path)
	assert.EqualError(t, err, "refuse bundle "+path+": it is not signed, and only bundles signed by a trusted key are accepted")
	require.NoError(t, os.WriteFile(path, signed, 0o644))
	_, err = trust.Open(path)
	assert.NoError(t, err)

	t.Run("a bad signature is a bad bundle, trusted or not", func(t *testing.T) {
		data := readCaseData(t, "signature of another bundle")
		for _, tr := range []*bundle.Trust{nil, bundle.NewTrust(testKey(1).PublicKey())} {
			_, err := tr.Read(data)
			var ie *bundle.InvalidError
			assert.ErrorAs(t, err, &ie)
			assert.NotErrorIs(t, err, bundle.ErrUntrusted)
		}
	})
	t.Run("refused before any flow is parsed", func(t *testing.T) {
		// Under a Trust, an unsigned bundle is refused as such, whatever
		// its flows hold: they are never parsed.
		fx := handMade(map[string]string{"flows/flow.cue": "name: \"x\"\nplugins: x: wasm: \"../../x.wasm\"\nnodes: {\n"})
		_, err := trust.Read(fx.bytes())
		assert.EqualError(t, err, "refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted")
		_, err = bundle.Read(fx.bytes())
		assert.EqualError(t, err, "read bundle: flows/flow.cue:3:10: expected '}', found 'EOF'")
	})
}

func TestLoadTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	line := func(n byte) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(testKey(n).PublicKey())))
	}
	signedBy := func(n byte) []byte {
		data, _ := buildSigned(t, greet, testKey(n))
		return data
	}
	trusts := func(tr *bundle.Trust, n byte) bool {
		_, err := tr.Read(signedBy(n))
		if err != nil && !errors.Is(err, bundle.ErrUntrusted) {
			t.Fatal(err)
		}
		return err == nil
	}

	pub := write("one.pub", line(1)+" ci@example\n")
	keys := write("keys", "# the release keys\n\n"+line(2)+" alice\r\n"+
		`restrict,namespaces="git,weir-*" `+line(3)+"\n"+
		`namespaces="git" `+line(4)+" only for git\n")
	tr, err := bundle.LoadTrust(pub, keys)
	require.NoError(t, err)
	assert.True(t, trusts(tr, 1), "a .pub file")
	assert.True(t, trusts(tr, 2), "a line of authorized_keys")
	assert.True(t, trusts(tr, 3), "namespaces that match weir-bundle")
	assert.False(t, trusts(tr, 4), "namespaces without weir-bundle")
	assert.False(t, trusts(tr, 5), "a key not in the files")

	for _, tc := range []struct{ name, content, want string }{
		{"empty", "# nothing\n\n", "read trusted keys: %s: no key in the file"},
		{"not a key", line(1) + "\nssh-ed25519 AAAAnotbase64\n", "read trusted keys: %s:2: not an SSH public key, such as the line of a .pub file"},
		{"a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", "read trusted keys: %s:1: not an SSH public key, such as the line of a .pub file"},
		{"cert-authority", "cert-authority " + line(1) + "\n",
			"read trusted keys: %s:1: option cert-authority: weir trusts keys, not certificate authorities, and does not check validity times: remove it"},
		{"valid-before", `valid-before="20300101" ` + line(1) + "\n",
			"read trusted keys: %s:1: option valid-before: weir trusts keys, not certificate authorities, and does not check validity times: remove it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(strings.ReplaceAll(tc.name, " ", "-"), tc.content)
			_, err := bundle.LoadTrust(path)
			assert.EqualError(t, err, strings.ReplaceAll(tc.want, "%s", path))
		})
	}
	_, err = bundle.LoadTrust(filepath.Join(dir, "missing.pub"))
	assert.EqualError(t, err, "read trusted keys: open "+filepath.Join(dir, "missing.pub")+": no such file or directory")
}
