package python

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// tree is the Python files of a plugin: a file, or a folder's.
type tree struct {
	// root is the folder the tools' modules are imported from: the
	// plugin's folder, or the folder of its file; an absolute path. shown
	// is the same folder as the flow gave it, for messages.
	root, shown string
	// tools are the files, relative to root, whose @tool functions are the
	// plugin's tools: the file, or the folder's *.py files (not its
	// subfolders', which tools may import).
	tools []string
	// digest pins the plugin: see Digest.
	digest string
}

// readTree lists and digests the Python files at path.
func readTree(path string) (*tree, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", path)
		}
		return nil, err
	}
	if !info.IsDir() {
		sum, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		return &tree{root: filepath.Dir(abs), shown: filepath.Dir(path), tools: []string{filepath.Base(path)}, digest: sum}, nil
	}
	t := &tree{root: abs, shown: path}
	h := sha256.New()
	files, err := Files(path)
	if err != nil {
		return nil, err
	}
	for _, rel := range files {
		sum, err := fileDigest(filepath.Join(path, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%s\n", rel, sum)
		if !strings.Contains(rel, "/") {
			t.tools = append(t.tools, rel)
		}
	}
	if len(t.tools) == 0 {
		return nil, fmt.Errorf("%s holds no .py files", path)
	}
	t.digest = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// Files returns the .py files of the Python plugin folder at path that
// Digest covers, relative to it with slashes and sorted: those under it,
// subfolders included, but not hidden ones, __pycache__ or virtual
// environments. A bundle carries these.
func Files(path string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".py") && d.Type().IsRegular() {
			rel, _ := filepath.Rel(path, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}

// skipDir reports whether a folder's files are none of the plugin's:
// hidden folders, Python's byte-code caches and virtual environments.
func skipDir(path, name string) bool {
	if strings.HasPrefix(name, ".") || name == "__pycache__" {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

// Digest returns the SHA-256 that a flow's sha256 pins for the Python
// plugin at path, in lower-case hex. For a file it is the file's digest.
// For a folder it is the digest of one line per .py file under it
// (subfolders included, but not hidden ones, __pycache__ or virtual
// environments), sorted by path: the path relative to the folder with
// slashes, a NUL byte, the file's SHA-256 in hex, and a newline.
func Digest(path string) (string, error) {
	t, err := readTree(path)
	if err != nil {
		return "", err
	}
	return t.digest, nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
