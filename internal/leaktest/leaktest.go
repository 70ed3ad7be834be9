// Package leaktest looks for a planted secret where weir must never write
// one: the files of a folder (WEIR_HOME, a state folder), a bundle, a trace
// file, and the bytes a test collected (standard output and error, HTTP
// bodies). A gzip file is read uncompressed, so that a bundle's files are
// searched, not their compressed bytes. The secret-leak tests of the
// command line and of the examples share it.
package leaktest

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Forms are the ways secret can show in text: as it is, escaped inside a
// JSON string, quoted by Go's %q.
func Forms(secret string) []string {
	js := string(jsonscan.AppendString(nil, secret))
	q := strconv.Quote(secret)
	return []string{secret, js[1 : len(js)-1], q[1 : len(q)-1]}
}

// Bytes fails t when b, which what names in the message, holds a form of
// secret.
func Bytes(t testing.TB, secret, what string, b []byte) {
	t.Helper()
	for _, f := range Forms(secret) {
		if i := bytes.Index(b, []byte(f)); i >= 0 {
			t.Errorf("the secret leaked into %s, at byte %d: %q", what, i, context(b, i, len(f)))
			return
		}
	}
}

// Tree fails t for each file under root (a folder, or a file) that holds
// a form of secret, and returns how many files it read, for the caller to
// check that it searched something.
func Tree(t testing.TB, secret, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		Bytes(t, secret, p, uncompressed(b))
		return nil
	})
	if err != nil {
		t.Errorf("search %s for the secret: %v", root, err)
	}
	return n
}

// uncompressed returns b, or what it decompresses to when it is gzip data.
func uncompressed(b []byte) []byte {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		// What was read, and the raw bytes: search both.
		return append(out, b...)
	}
	return out
}

// context is the text around a match, for the message.
func context(b []byte, i, n int) []byte {
	return b[max(0, i-40):min(len(b), i+n+40)]
}
