//go:build unix

package rootfs

import "syscall"

// oDirectory lets the kernel refuse what is not a folder before opening
// it, so that a FIFO opened as a folder fails rather than blocks.
const oDirectory = syscall.O_DIRECTORY
