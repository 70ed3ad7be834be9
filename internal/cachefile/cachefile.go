// Package cachefile writes the files of weir's caches (compiled Wasm,
// contracts), which other processes may read at any time.
package cachefile

import (
	"os"
	"path/filepath"
)

// Keep writes a cache file whole or not at all, making its folder: a
// reader never sees half of it. A cache that cannot be written is only
// slower, so Keep reports nothing.
func Keep(path string, b []byte) {
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
}
