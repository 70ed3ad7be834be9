//go:build !unix

package rootfs

// oDirectory is not a flag here; wazero's path_open checks that what it
// opened with O_DIRECTORY is a folder.
const oDirectory = 0

// oNonblock is not a flag here: there are no FIFOs to open in a folder.
const oNonblock = 0

// noOtherEnd is never true here: there are no FIFOs to open in a folder.
func noOtherEnd(error) bool { return false }
