package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// manifest is flow/manifest.json.
type manifest struct {
	Files []manifestFile `json:"files"`
}

type manifestFile struct {
	Path     string `json:"path"`     // the original, absolute
	Snapshot string `json:"snapshot"` // relative to the run folder, with '/'
	SHA256   string `json:"sha256"`
}

// snapshot copies the flow files into dst (a run's flow/ folder): the first
// at its base name, the others at their path relative to the first one's
// folder, or under _outside/ by base name when that path leaves the folder.
// It writes manifest.json last.
func snapshot(dst string, files []string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	var (
		m    = manifest{Files: []manifestFile{}}
		root string
		seen = map[string]bool{} // originals copied
		used = map[string]bool{} // snapshot paths taken
	)
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fmt.Errorf("snapshot flow file %s: %w", f, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		var rel string
		if i == 0 {
			root = filepath.Dir(abs)
			rel = filepath.Base(abs)
		} else if r, err := filepath.Rel(root, abs); err == nil && filepath.IsLocal(r) {
			rel = filepath.ToSlash(r)
		} else {
			rel = "_outside/" + filepath.Base(abs)
		}
		rel = unused(rel, used)
		sum, err := copyFile(filepath.Join(dst, filepath.FromSlash(rel)), abs)
		if err != nil {
			return fmt.Errorf("snapshot flow file %s: %w", f, err)
		}
		m.Files = append(m.Files, manifestFile{Path: abs, Snapshot: "flow/" + rel, SHA256: sum})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "manifest.json"), append(b, '\n'), 0o644)
}

// unused returns rel, or rel with "-2", "-3"... before its extension if a
// file already took it (two files outside the folder with one base name),
// and marks it taken. manifest.json is taken from the start.
func unused(rel string, used map[string]bool) string {
	used["manifest.json"] = true
	ext := path.Ext(rel)
	stem := strings.TrimSuffix(rel, ext)
	for n := 2; used[rel]; n++ {
		rel = fmt.Sprintf("%s-%d%s", stem, n, ext)
	}
	used[rel] = true
	return rel
}

// copyFile copies src to dst, a new file, and returns src's SHA-256.
func copyFile(dst, src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
