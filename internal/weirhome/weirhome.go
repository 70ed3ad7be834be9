// Package weirhome finds the weir home folder, where the run record and the
// node result cache live.
package weirhome

import (
	"os"
	"path/filepath"
	"runtime"
)

// Dir returns $WEIR_HOME if set; else $XDG_DATA_HOME/weir if that is an
// absolute path; else ~/Library/Application Support/weir on macOS and
// ~/.local/share/weir elsewhere. It fails only when there is no home
// folder to put it in.
func Dir() (string, error) {
	if d := os.Getenv("WEIR_HOME"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "weir"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Application Support", "weir"), nil
	}
	return filepath.Join(home, ".local", "share", "weir"), nil
}
