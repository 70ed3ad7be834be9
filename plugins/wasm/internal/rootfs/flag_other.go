//go:build !unix

package rootfs

// oDirectory is not a flag here; wazero's path_open checks that what it
// opened with O_DIRECTORY is a folder.
const oDirectory = 0
