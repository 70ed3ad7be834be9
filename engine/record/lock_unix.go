//go:build unix

package record

import (
	"errors"
	"os"
	"syscall"
)

// errLocked: another open file (this process's or another's) holds the lock.
var errLocked = errors.New("locked")

// lock takes an exclusive lock on f without waiting: errLocked if it is
// held. The lock lasts until f is closed.
func lock(f *os.File) error { return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) }

// lockWait takes an exclusive lock on f, waiting for it.
func lockWait(f *os.File) error { return flock(f, syscall.LOCK_EX) }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return &os.PathError{Op: "lock", Path: f.Name(), Err: err}
		}
	}
}
