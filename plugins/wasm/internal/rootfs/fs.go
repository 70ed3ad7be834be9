package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// MaxOpen is how many files an FS holds open at once, across all the
// instances that share it: one past it, an open fails with ErrTooManyOpen.
// It keeps a guest that opens files and never closes them from using up
// the host process's descriptors, which weir itself needs (to accept a
// connection, to open a run record). An instance's files are closed, and
// counted back, when wazero closes the instance.
const MaxOpen = 256

// ErrTooManyOpen is the errno of an open past MaxOpen. WASI has EMFILE but
// wazero's errnos do not (it would reach the guest as EIO); EAGAIN is the
// nearest that says what happened: a resource is used up for now, and
// closing files makes the same open succeed. EIO would tell the guest that
// the storage failed.
const ErrTooManyOpen = sys.EAGAIN

// FS is one host folder as a wazero file system. It is safe for concurrent
// use by any number of instances; each File it opens belongs to one.
type FS struct {
	// Methods that a later wazero adds to sys.FS answer ENOSYS until
	// this package implements them.
	sys.UnimplementedFS

	root     *os.Root
	readOnly bool
	open     atomic.Int32 // Files opened and not closed, at most MaxOpen
}

// Open opens the folder dir as an FS; a readOnly FS refuses every change.
// The folder stays open, wherever it is moved, until Close.
func Open(dir string, readOnly bool) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: root, readOnly: readOnly}, nil
}

// Close closes the folder. Files opened from it stay usable; paths no
// longer resolve (EBADF).
func (fsys *FS) Close() error { return fsys.root.Close() }

// OpenFile opens a file or folder under the root. Anything else (a FIFO, a
// device, a socket) is refused with EACCES: opening one can block the call
// inside the host, where limits.timeout cannot stop it, or act on a device.
// Past MaxOpen open files it fails with ErrTooManyOpen.
func (fsys *FS) OpenFile(name string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	name = rel(name)
	if fsys.readOnly && flag&(sys.O_RDWR|sys.O_WRONLY|sys.O_CREAT|sys.O_TRUNC|sys.O_APPEND) != 0 {
		if flag&sys.O_DIRECTORY != 0 {
			return nil, sys.EISDIR
		}
		return nil, sys.EROFS
	}
	if flag&sys.O_NOFOLLOW != 0 {
		// os.Root follows a final link (inside the root) whatever the
		// flags say; O_NOFOLLOW wants ELOOP instead.
		if fi, err := fsys.root.Lstat(name); err == nil && fi.Mode().Type() == fs.ModeSymlink {
			return nil, sys.ELOOP
		}
	}
	if fsys.open.Add(1) > MaxOpen {
		fsys.open.Add(-1)
		return nil, ErrTooManyOpen
	}
	f, errno := fsys.openPlain(name, flag, perm)
	if errno != 0 {
		fsys.open.Add(-1)
		return nil, errno
	}
	return &File{fsys: fsys, name: name, flag: flag, file: f}, 0
}

// OpenFiles counts the files the FS holds open: those opened and not closed
// yet, by a guest or by wazero on its behalf.
func (fsys *FS) OpenFiles() int { return int(fsys.open.Load()) }

// openPlain opens name if it is a regular file or a folder, and refuses
// anything else with EACCES. What name is gets looked at first, so that a
// device is never opened at all (opening some acts: a watchdog starts, a
// tape rewinds). The open itself is non-blocking, and what was opened is
// looked at again: the host may have put a FIFO there in between, and a
// blocking open of a FIFO waits for the other end forever. O_NONBLOCK
// does nothing to a regular file or a folder, so it is left on.
func (fsys *FS) openPlain(name string, flag sys.Oflag, perm fs.FileMode) (*os.File, sys.Errno) {
	if flag&sys.O_EXCL == 0 { // with O_EXCL, nothing that exists is opened
		if fi, err := fsys.root.Stat(name); err == nil && !plain(fi.Mode()) {
			return nil, sys.EACCES
		}
	}
	f, err := fsys.root.OpenFile(name, osFlag(flag)|oNonblock, perm&fs.ModePerm)
	if noOtherEnd(err) {
		return nil, sys.EACCES // a FIFO put there since the look
	}
	if err != nil {
		return nil, errno(err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fileErrno(err)
	}
	if !plain(fi.Mode()) {
		_ = f.Close()
		return nil, sys.EACCES
	}
	return f, 0
}

// plain is true of what a grant lets a guest open: regular files and
// folders (a link is opened as what it leads to).
func plain(mode fs.FileMode) bool { return mode.IsRegular() || mode.IsDir() }

// Lstat describes what name is, without following a final link.
func (fsys *FS) Lstat(name string) (wsys.Stat_t, sys.Errno) {
	fi, err := fsys.root.Lstat(rel(name))
	if err != nil {
		return wsys.Stat_t{}, errno(err)
	}
	return wsys.NewStat_t(fi), 0
}

// Stat describes what name leads to, following links inside the root.
func (fsys *FS) Stat(name string) (wsys.Stat_t, sys.Errno) {
	fi, err := fsys.root.Stat(rel(name))
	if err != nil {
		return wsys.Stat_t{}, errno(err)
	}
	return wsys.NewStat_t(fi), 0
}

// Mkdir makes a folder.
func (fsys *FS) Mkdir(name string, perm fs.FileMode) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	return errno(fsys.root.Mkdir(rel(name), perm&fs.ModePerm))
}

// Chmod changes the permission bits of a file. Set-user-ID, set-group-ID
// and sticky bits are never set: a guest must not make a host program
// that runs with the rights of weir's user.
func (fsys *FS) Chmod(name string, perm fs.FileMode) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	return errno(fsys.root.Chmod(rel(name), perm&fs.ModePerm))
}

// Rename moves an entry; both paths are under the root.
func (fsys *FS) Rename(from, to string) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	from, to = rel(from), rel(to)
	err := errno(fsys.root.Rename(from, to))
	if err == sys.EEXIST {
		// os.Root refuses to replace a folder with EEXIST; rename(2)
		// says EISDIR when a file would replace it.
		if fi, e := fsys.root.Lstat(from); e == nil && !fi.IsDir() {
			return sys.EISDIR
		}
	}
	return err
}

// Rmdir removes an empty folder.
func (fsys *FS) Rmdir(name string) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	name = rel(name)
	fi, err := fsys.root.Lstat(name)
	if err != nil {
		return errno(err)
	}
	if !fi.IsDir() {
		return sys.ENOTDIR
	}
	return errno(fsys.root.Remove(name))
}

// Unlink removes a file or a link, never a folder.
func (fsys *FS) Unlink(name string) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	name = rel(name)
	fi, err := fsys.root.Lstat(name)
	if err != nil {
		return errno(err)
	}
	if fi.IsDir() {
		return sys.EISDIR
	}
	return errno(fsys.root.Remove(name))
}

// Link makes a hard link; both paths are under the root, and a link as
// oldName is linked itself, not its target.
func (fsys *FS) Link(oldName, newName string) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	return errno(fsys.root.Link(rel(oldName), rel(newName)))
}

// Symlink makes linkName a symbolic link to target. A target that is
// absolute, or that climbs out of the root from the link's folder, is
// refused with EPERM: os.Root would never follow it for the guest, and a
// host program reading the folder later should not meet it either. This
// check is a courtesy to the host; the guest is confined where paths are
// resolved, whatever links exist.
func (fsys *FS) Symlink(target, linkName string) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	linkName = rel(linkName)
	if path.IsAbs(target) {
		return sys.EPERM
	}
	if t := path.Join(path.Dir(path.Clean(linkName)), target); t == ".." || strings.HasPrefix(t, "../") {
		return sys.EPERM
	}
	return errno(fsys.root.Symlink(target, linkName))
}

// Readlink returns the text of a link, whatever it points at.
func (fsys *FS) Readlink(name string) (string, sys.Errno) {
	target, err := fsys.root.Readlink(rel(name))
	if err != nil {
		return "", errno(err)
	}
	return target, 0
}

// Utimens sets the access and modification times of what name leads to.
func (fsys *FS) Utimens(name string, atim, mtim int64) sys.Errno {
	if fsys.readOnly {
		return sys.EROFS
	}
	return errno(fsys.root.Chtimes(rel(name), timeOf(atim), timeOf(mtim)))
}

// rel makes wazero's path relative to the root. wazero passes a path under
// a folder opened at the root as "/name", which os.Root would refuse as
// absolute; any leading slash means the root.
func rel(name string) string {
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return "."
	}
	return name
}

// osFlag translates wazero's open flags. O_NONBLOCK is dropped: files and
// folders do not block, and the FS gives the guest nothing else. O_DSYNC
// becomes O_SYNC, which Go has everywhere and which syncs what O_DSYNC
// does and more. O_RSYNC is dropped as most systems do (it only concerns
// reads).
func osFlag(flag sys.Oflag) int {
	var f int
	switch flag & (sys.O_RDWR | sys.O_WRONLY) {
	case sys.O_RDWR:
		f = os.O_RDWR
	case sys.O_WRONLY:
		f = os.O_WRONLY
	default:
		f = os.O_RDONLY
	}
	for _, m := range [...]struct {
		from sys.Oflag
		to   int
	}{
		{sys.O_APPEND, os.O_APPEND},
		{sys.O_CREAT, os.O_CREATE},
		{sys.O_DIRECTORY, oDirectory},
		{sys.O_DSYNC, os.O_SYNC},
		{sys.O_EXCL, os.O_EXCL},
		{sys.O_SYNC, os.O_SYNC},
		{sys.O_TRUNC, os.O_TRUNC},
	} {
		if flag&m.from != 0 {
			f |= m.to
		}
	}
	return f
}

// timeOf turns wazero's nanoseconds into the time os.Root.Chtimes takes:
// the zero time leaves the time as it is.
func timeOf(nanos int64) time.Time {
	if nanos == sys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}

// errno is the WASI errno of an os.Root error. os.Root refuses a path that
// leaves the root (through "..", an absolute path or a link) with an error
// of its own rather than an errno: that is EPERM, the errno wazero gives a
// path that escapes a mount.
func errno(err error) sys.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return sys.UnwrapOSError(e)
	}
	if errors.Is(err, fs.ErrClosed) {
		return sys.EBADF
	}
	return sys.EPERM
}

var _ sys.FS = (*FS)(nil)
