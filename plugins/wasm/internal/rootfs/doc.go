// Package rootfs gives a Wasm guest one host folder as a file system it
// cannot leave: wazero's experimental sys.FS on top of Go's os.Root.
//
// wazero's own folder mounts join the guest's path to the host folder and
// let the host kernel resolve it, so a symbolic link inside the folder,
// whether the guest made it (WASI path_symlink) or the host had it there,
// leads anywhere. Here every path, in every call (open, create, stat,
// lstat, mkdir, unlink, rmdir, rename, link, symlink, readlink, utimes,
// chmod), is resolved by an os.Root: one component at a time from a
// descriptor of the folder, never through "..", an absolute path or a link
// that leaves it, and without a window between a check and its use in which
// the folder could be changed under it.
//
// A read-only FS refuses every change with EROFS, including an open that
// asks for write, create, truncate or append.
//
// Only regular files and folders open: a FIFO, a device or a socket is
// refused with EACCES, and the open never blocks, so nothing in the folder
// can hold a call inside the host where the call's timeout cannot reach.
// An FS holds at most MaxOpen files open at once, whichever instances
// opened them, so that a guest cannot use up the host's descriptors.
//
// Some operations first look at what a path names and then act on it:
// O_NOFOLLOW, unlink (which must not remove a folder), rmdir (which must
// not remove a file), setting the times of an open file. If the folder
// changes in between, they may act on another entry than the one they
// looked at, but always on one inside the folder.
package rootfs
