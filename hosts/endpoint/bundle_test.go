package endpoint_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
)

// handMadeBundle writes a bundle of one flow file, flow.cue, by hand with
// archive/tar and gzip, with a manifest that is right about it: a bundle
// that only what its flow says can make bad.
func handMadeBundle(t *testing.T, flowName, src string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(src))
	file := bundle.File{Path: "flow.cue", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(src))}
	canon := fmt.Sprintf("weir-bundle 1\nentry flow.cue\n%s  0644  flow.cue\n", file.SHA256)
	digest := sha256.Sum256([]byte(canon))
	m, err := json.Marshal(bundle.Manifest{Format: 1, Flow: flowName, Weir: "devel", Entry: "flow.cue",
		Files: []bundle.File{file}, Digest: "sha256:" + hex.EncodeToString(digest[:])})
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range []struct {
		name string
		body []byte
	}{{"weir-bundle.json", m}, {"flow.cue", []byte(src)}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.body))}))
		_, err := tw.Write(e.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// upload posts a bundle to the admin API as a client would.
func upload(t *testing.T, fx *fixture, data []byte) answer {
	t.Helper()
	return strip(do(t, "POST", fx.url+"/v1/admin/deployments", string(data),
		"Authorization: Bearer "+token, "Content-Type: application/octet-stream"))
}

// An uploaded bundle whose flow runs a sub-flow outside the bundle is
// refused before anything is extracted or loaded, though the file it
// names is there and would run.
func TestUploadConfined(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	fx := newFixture(t, endpoint.Options{AdminToken: token, WorkDir: work}, engine.Options{})
	// Where ../escaped.cue leads from a bundle extracted under work: a flow
	// that would answer, had the server loaded it.
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(work), "escaped.cue"), []byte(`name: "escaped"
nodes: say: {tool: "builtin.json", inputs: value: "out of the bundle"}
outputs: said: "${say.output.value}"
`), 0o644))
	evil := handMadeBundle(t, "evil", `name: "evil"
nodes: out: flow: "../escaped.cue"
outputs: said: "${out.output.said}"
`)
	got := upload(t, fx, evil)
	assert.Equal(t, answer{400, nil, errorBody("invalid_bundle",
		`read bundle: flow.cue:2:19: node "out": the path ../escaped.cue leads outside the bundle: a flow in a bundle reaches only the bundle's files`)}, got)
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was extracted")

	_, err = fx.s.DeployBundle(context.Background(), handMadeBundle(t, "evil", `name: "evil"
plugins: sh: goplugin: "/bin/sh"
nodes: n: tool: "sh.run"
outputs: {}
`), "")
	assert.EqualError(t, err, `read bundle: flow.cue:2:10: plugin "sh": the path /bin/sh is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file`)

	// The next good upload works.
	got = upload(t, fx, handMadeBundle(t, "hello", helloFlow))
	assert.Equal(t, 201, got.status, got.body)
	assert.Equal(t, `{"message":"Hello, Ada!"}`+"\n", do(t, "POST", fx.url+"/score", `{"name": "Ada"}`).body)
}

// signedBundle bundles the flow src, signed by key unless it is nil.
func signedBundle(t *testing.T, src string, key ssh.Signer) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flow.cue")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	var buf bytes.Buffer
	_, err := bundle.BuildSigned(path, key, &buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// newKey returns a new Ed25519 key.
func newKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	key, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return key
}

// Under Options.Trust, an upload that no trusted key signed gets 403 and
// is neither extracted nor loaded; one that a trusted key signed deploys.
func TestUploadTrust(t *testing.T) {
	t.Parallel()
	ours, theirs := newKey(t), newKey(t)
	work := t.TempDir()
	fx := newFixture(t, endpoint.Options{AdminToken: token, WorkDir: work, Trust: bundle.NewTrust(ours.PublicKey())}, engine.Options{})

	got := upload(t, fx, signedBundle(t, helloFlow, nil))
	assert.Equal(t, answer{403, nil, errorBody("untrusted_bundle",
		"refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted")}, got)
	got = upload(t, fx, signedBundle(t, helloFlow, theirs))
	assert.Equal(t, answer{403, nil, errorBody("untrusted_bundle",
		"refuse bundle: it is signed by ssh-ed25519 "+ssh.FingerprintSHA256(theirs.PublicKey())+", which is not a trusted key")}, got)
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was extracted")
	assert.False(t, fx.s.Ready())

	// The command line's way in refuses the same.
	_, err = fx.s.DeployBundle(context.Background(), signedBundle(t, helloFlow, nil), "")
	assert.EqualError(t, err, "refuse bundle: it is not signed, and only bundles signed by a trusted key are accepted")
	assert.ErrorIs(t, err, bundle.ErrUntrusted)

	c := &endpoint.Client{URL: fx.url, Token: token}
	d, err := c.Upload(context.Background(), signedBundle(t, helloFlow, ours), "")
	require.NoError(t, err)
	assert.Equal(t, "hello", d.Flow)
	assert.Equal(t, `{"message":"Hello, Ada!"}`+"\n", do(t, "POST", fx.url+"/score", `{"name": "Ada"}`).body)

	// A trusted signature moved onto other files is a damaged bundle: the
	// forged files and manifest, then the real bundle's last entry.
	genuine := untarAll(t, signedBundle(t, helloFlow, ours))
	forged := untarAll(t, signedBundle(t, `name: "hello"
nodes: greet: {tool: "builtin.json", inputs: value: "forged"}
outputs: message: "${greet.output.value}"
`, nil))
	got = upload(t, fx, tarAll(t, append(forged, genuine[len(genuine)-1])))
	assert.Equal(t, answer{400, nil, errorBody("invalid_bundle", `read bundle: file "weir-bundle.sig": the signature by ssh-ed25519 `+
		ssh.FingerprintSHA256(ours.PublicKey())+` does not match the bundle's digest: the bundle was changed after it was signed`)}, got)
}

// Without Trust, signed and unsigned bundles deploy as before.
func TestUploadWithoutTrust(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{AdminToken: token}, engine.Options{})
	assert.Equal(t, 201, upload(t, fx, signedBundle(t, helloFlow, nil)).status)
	assert.Equal(t, 201, upload(t, fx, signedBundle(t, versionFlow("v2"), newKey(t))).status)
}

// tarEntry is an entry of a bundle's archive.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

// untarAll returns the entries of a bundle.
func untarAll(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if err != nil {
			return out
		}
		var body bytes.Buffer
		_, err = body.ReadFrom(tr)
		require.NoError(t, err)
		out = append(out, tarEntry{*hdr, body.Bytes()})
	}
}

// tarAll makes a bundle of the entries, as they are.
func tarAll(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		require.NoError(t, tw.WriteHeader(&e.hdr))
		_, err := tw.Write(e.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}
