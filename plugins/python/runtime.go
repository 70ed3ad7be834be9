package python

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// files is weir's module for Python (the weir package, the promptflow
// stand-in) and the two scripts weir runs: the runner of tools and the
// reader of contracts.
//
//go:embed runtime/*.py runtime/weir/*.py runtime/promptflow/*.py runtime/promptflow/*/*.py
var files embed.FS

// runtimeDigest names the embedded files' version: it keys the folder they
// are written to and the contracts cached from them.
var runtimeDigest = sync.OnceValue(func() string {
	h := sha256.New()
	var paths []string
	_ = fs.WalkDir(files, "runtime", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, _ := files.ReadFile(p)
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s\x00%x\n", p, sum)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// writeRuntime writes the embedded files into dir/runtime-<digest> unless
// they are there already, and returns that folder. It writes a new folder
// under another name and renames it, so that a process never sees half of
// one; a racing process that renamed first wins, with the same files.
func writeRuntime(dir string) (string, error) {
	final := filepath.Join(dir, "runtime-"+runtimeDigest())
	if _, err := os.Stat(filepath.Join(final, "_weir_runner.py")); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write weir's Python module: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".runtime-*")
	if err != nil {
		return "", fmt.Errorf("write weir's Python module: %w", err)
	}
	err = fs.WalkDir(files, "runtime", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("runtime", filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(tmp, rel), 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, rel), b, 0o644)
	})
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(final, "_weir_runner.py")); serr == nil {
			return final, nil // another process wrote it first
		}
		return "", fmt.Errorf("write weir's Python module: %w", err)
	}
	return final, nil
}
