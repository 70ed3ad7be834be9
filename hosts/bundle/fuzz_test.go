package bundle_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/bundle"
)

var update = flag.Bool("update", false, "write the seed corpus of FuzzRead in testdata/fuzz")

const corpus = "testdata/fuzz/FuzzRead"

// seeds are the seed corpus of FuzzRead: valid bundles, one of them
// signed, and every bundle TestReadErrors and TestReadConfines refuse, but
// the largest.
func seeds(t *testing.T) map[string][]byte {
	t.Helper()
	greetBundle, _ := build(t, greet)
	signed, _ := buildSigned(t, greet, testKey(1))
	s := map[string][]byte{
		"valid":        newFixture().bytes(),
		"valid-greet":  greetBundle,
		"valid-signed": signed,
	}
	for _, tc := range confineCases() {
		s["outside-"+strings.ReplaceAll(tc.name, " ", "-")] = handMade(tc.files).bytes()
	}
	for _, tc := range readCases() {
		if tc.name != "too many files" {
			s["invalid-"+strings.ReplaceAll(tc.name, " ", "-")] = tc.data
		}
	}
	return s
}

// TestSeedCorpus checks that the seed corpus has a file per seed; go test
// -run TestSeedCorpus -update writes them.
func TestSeedCorpus(t *testing.T) {
	for name, data := range seeds(t) {
		path := filepath.Join(corpus, name)
		if *update {
			require.NoError(t, os.MkdirAll(corpus, 0o755))
			require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data), 0o644))
			continue
		}
		assert.FileExists(t, path, "run go test -run TestSeedCorpus -update")
	}
}

// FuzzRead feeds Read anything: it must refuse with an *InvalidError or
// return a bundle that extracts to exactly the files its manifest lists.
func FuzzRead(f *testing.F) {
	f.Add(newFixture().bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := bundle.Read(data)
		if err != nil {
			var ie *bundle.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Read: not an *InvalidError: %v", err)
			}
			return
		}
		m := b.Manifest()
		dir := t.TempDir()
		flowPath, err := b.Extract(dir)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, filepath.FromSlash(m.Entry)), flowPath)
		var n int
		require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			require.NoError(t, err)
			if d.IsDir() {
				return nil
			}
			require.True(t, d.Type().IsRegular(), path)
			n++
			return nil
		}))
		assert.Equal(t, len(m.Files), n)
		for _, f := range m.Files {
			content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			require.NoError(t, err)
			assert.Equal(t, f.SHA256, fmt.Sprintf("%x", sha256Sum(content)), f.Path)
		}
		// A bundle reads the same way twice.
		again, err := bundle.Read(bytes.Clone(data))
		require.NoError(t, err)
		assert.Equal(t, m, again.Manifest())
	})
}
