//go:build !unix

package record

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

func lock(f *os.File) error {
	return &os.PathError{Op: "lock", Path: f.Name(), Err: errors.ErrUnsupported}
}

func lockWait(f *os.File) error { return lock(f) }
