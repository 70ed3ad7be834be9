// Package progdigest names the code of the running program by a digest,
// for the node result cache of tools compiled into it: weir's builtin
// tools and the Go functions a program registers.
package progdigest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// Of returns the digest of the running program, computed once. A build
// that recorded a clean VCS revision (go build in a committed checkout,
// or go install of a version) is named by its build information: module
// versions, revision and flags. Any other build, a go test binary or one
// built from edited files, by the sha256 of its executable file, so that
// a rebuilt program never reuses the results of the one before.
func Of() (string, error) {
	once.Do(func() { digest, err = compute() })
	return digest, err
}

var (
	once   sync.Once
	digest string
	err    error
)

func compute() (string, error) {
	if info, ok := debug.ReadBuildInfo(); ok && clean(info) {
		sum := sha256.Sum256([]byte(info.String()))
		return "build:" + hex.EncodeToString(sum[:]), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("digest the program: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("digest the program: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest the program: %w", err)
	}
	return "exe:" + hex.EncodeToString(h.Sum(nil)), nil
}

// clean reports whether info names the program's code: a revision without
// local edits, or a module version fetched as it was published, and no
// module replaced by a folder, whose files the information does not cover.
func clean(info *debug.BuildInfo) bool {
	for _, m := range info.Deps {
		if m.Replace != nil && m.Replace.Version == "" {
			return false
		}
	}
	vcs, revision, modified := false, false, false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs":
			vcs = true
		case "vcs.revision":
			revision = s.Value != ""
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if vcs {
		return revision && !modified
	}
	v := info.Main.Version
	return v != "" && v != "(devel)" && !strings.Contains(v, "+dirty")
}
