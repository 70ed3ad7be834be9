package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// Format is the format of the bundles this package writes and the only
	// one it reads.
	Format = 1
	// ManifestName is the path of the manifest, the archive's first entry.
	ManifestName = "weir-bundle.json"

	// MaxSize bounds the sum of the sizes of a bundle's files (512 MiB).
	// Read stops reading an archive whose uncompressed stream outgrows it by
	// more than the room its headers need.
	MaxSize = 512 << 20
	// MaxFiles bounds the number of files in a bundle.
	MaxFiles = 4096
	// MaxManifest bounds the size of weir-bundle.json (1 MiB).
	MaxManifest = 1 << 20
	// MaxFlows bounds the sum of the sizes of a bundle's flow files, those
	// named .cue, .yaml, .yml or .json (16 MiB): Read keeps them in memory
	// to check them.
	MaxFlows = 16 << 20
)

// Manifest is weir-bundle.json, the first entry of the archive.
type Manifest struct {
	// Format is 1.
	Format int `json:"format"`
	// Flow is the name of the entry flow.
	Flow string `json:"flow"`
	// Version is the entry flow's version field, if it has one.
	Version string `json:"version,omitempty"`
	// Weir is the version of weir that built the bundle.
	Weir string `json:"weir"`
	// Entry is the path of the entry flow's file inside the bundle.
	Entry string `json:"entry"`
	// Files are every file of the bundle but the manifest, sorted by path.
	Files []File `json:"files"`
	// Digest is the bundle's content address, "sha256:<hex>": see the
	// package documentation for what it covers.
	Digest string `json:"digest"`
}

// File is one file of a bundle.
type File struct {
	// Path is relative to the bundle's root, with forward slashes.
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of the file's content, in lower case.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Exec marks a go-plugin executable, extracted with mode 0755. A
	// plugin's kind sets it, not the file's mode on the machine that built
	// the bundle.
	Exec bool `json:"exec,omitempty"`
}

// Size returns the sum of the sizes of the manifest's files.
func (m *Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// mode is the file's permission bits in the archive and once extracted.
func (f File) mode() fs.FileMode {
	if f.Exec {
		return 0o755
	}
	return 0o644
}

// digest returns the content address of a bundle with the entry and files
// (in path order): see the package documentation.
func digest(entry string, files []File) string {
	h := sha256.New()
	fmt.Fprintf(h, "weir-bundle %d\nentry %s\n", Format, entry)
	for _, f := range files {
		fmt.Fprintf(h, "%s  %04o  %s\n", f.SHA256, f.mode(), f.Path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// checkPath says what is wrong with p as the path of a file in a bundle, or
// returns "". Paths are checked again by os.Root on Extract; this refuses
// what no weir bundle holds before anything is written.
func checkPath(p string) string {
	switch {
	case p == "":
		return "empty path"
	case strings.HasPrefix(p, "/"):
		return "absolute path"
	case p == ".." || strings.HasPrefix(p, "../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/../"):
		return "path with a .. element"
	case !utf8.ValidString(p):
		return "path that is not UTF-8"
	case strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }):
		return "path with a backslash or a control character"
	case !fs.ValidPath(p) || p == ".":
		return "path that is not clean (. elements, doubled or trailing slashes)"
	}
	return ""
}

// isSHA256 reports whether s is a SHA-256 in lower-case hex.
func isSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
