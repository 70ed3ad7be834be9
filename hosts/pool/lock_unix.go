//go:build unix

package pool

import (
	"errors"
	"os"
	"syscall"
)

// errLocked: another open file, of this process or another, holds the lock.
var errLocked = errors.New("locked")

// lockFile takes an exclusive lock on f without waiting, until f is closed.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return errLocked
		}
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
