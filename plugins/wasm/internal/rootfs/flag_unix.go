//go:build unix

package rootfs

import (
	"errors"
	"syscall"
)

// oDirectory lets the kernel refuse what is not a folder before opening
// it, so that a FIFO opened as a folder fails rather than blocks.
const oDirectory = syscall.O_DIRECTORY

// oNonblock makes opening a FIFO return at once instead of waiting for
// the other end (see FS.openPlain).
const oNonblock = syscall.O_NONBLOCK

// noOtherEnd is true of the error of a non-blocking open for writing of a
// FIFO that no one reads (or of a device that is not there): ENXIO.
func noOtherEnd(err error) bool { return errors.Is(err, syscall.ENXIO) }
