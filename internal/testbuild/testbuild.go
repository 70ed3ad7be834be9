// Package testbuild builds the example plugins that tests run (Go Wasm
// modules and go-plugin executables) the way the Makefile does, so that
// `go test ./...` works on a fresh clone.
package testbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// GoWasm builds the Go package at dir as a Wasm plugin at out
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared).
func GoWasm(dir, out string) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// Built beside out and renamed, so that a test of another package that
	// reads it at the same time never sees half a module.
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", dir, err, out)
	}
	return os.Rename(tmp, out)
}

// TextPlugin makes sure examples/plugins/text/text.wasm under the
// repository root is built and newer than its sources, and returns its path.
func TextPlugin(root string) (string, error) {
	dir := filepath.Join(root, "examples", "plugins", "text")
	out := filepath.Join(dir, "text.wasm")
	if built, err := os.Stat(out); err == nil && !newer(built.ModTime().UnixNano(),
		filepath.Join(dir, "*.go"), filepath.Join(root, "plugins", "pdk", "*.go"), filepath.Join(root, "plugins", "*.go")) {
		return out, nil
	}
	return out, GoWasm(dir, out)
}

// NativePlugin makes sure the go-plugin example
// examples/plugins/native/native under the repository root is built and
// newer than its sources, and returns its path.
func NativePlugin(root string) (string, error) {
	dir := filepath.Join(root, "examples", "plugins", "native")
	out := filepath.Join(dir, "native")
	if built, err := os.Stat(out); err == nil && !newer(built.ModTime().UnixNano(),
		filepath.Join(dir, "*.go"), filepath.Join(root, "plugins", "goplugin", "*.go"), filepath.Join(root, "plugins", "*.go")) {
		return out, nil
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return out, err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", abs, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return out, fmt.Errorf("build %s: %w\n%s", dir, err, b)
	}
	return out, os.Rename(tmp, abs)
}

// newer reports whether a file matching one of the patterns changed after t.
func newer(t int64, patterns ...string) bool {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.ModTime().UnixNano() > t {
				return true
			}
		}
	}
	return false
}
