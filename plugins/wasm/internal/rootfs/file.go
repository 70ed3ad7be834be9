package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// File is a file or folder opened in an FS. Like every wazero file, it is
// used by one instance at a time and is not safe for concurrent use.
type File struct {
	// Methods that a later wazero adds to sys.File answer ENOSYS until
	// this package implements them.
	sys.UnimplementedFile

	fsys   *FS
	name   string // under the root, to reopen the file for SetAppend and to set its times
	flag   sys.Oflag
	file   *os.File
	closed atomic.Bool // atomic: wazero's watchdog may close an instance's files while the guest closes one

	// ids is what Dev, Ino and IsDir return, read by the first Stat: a
	// descriptor keeps naming the same file.
	ids *ids
}

type ids struct {
	dev   uint64
	ino   wsys.Inode
	isDir bool
}

func (f *File) cached() (*ids, sys.Errno) {
	if f.ids == nil {
		if _, errno := f.Stat(); errno != 0 {
			return nil, errno
		}
	}
	return f.ids, 0
}

// Dev returns the device of the file.
func (f *File) Dev() (uint64, sys.Errno) {
	id, errno := f.cached()
	if errno != 0 {
		return 0, errno
	}
	return id.dev, 0
}

// Ino returns the inode of the file.
func (f *File) Ino() (wsys.Inode, sys.Errno) {
	id, errno := f.cached()
	if errno != 0 {
		return 0, errno
	}
	return id.ino, 0
}

// IsDir says whether the file is a folder.
func (f *File) IsDir() (bool, sys.Errno) {
	id, errno := f.cached()
	if errno != 0 {
		return false, errno
	}
	return id.isDir, 0
}

// IsAppend says whether writes go to the end of the file.
func (f *File) IsAppend() bool { return f.flag&sys.O_APPEND != 0 }

// SetAppend switches append mode. A descriptor's O_APPEND cannot be changed
// portably, so the file is opened again at the same path in the root, and
// kept only if that is still the same file; the offset carries over.
func (f *File) SetAppend(enable bool) sys.Errno {
	if f.closed.Load() {
		return sys.EBADF
	}
	if id, errno := f.cached(); errno != 0 {
		return errno
	} else if id.isDir {
		return sys.EISDIR
	}
	flag := f.flag &^ (sys.O_APPEND | sys.O_CREAT | sys.O_EXCL | sys.O_TRUNC)
	if enable {
		flag |= sys.O_APPEND
	}
	at, err := f.file.Seek(0, io.SeekCurrent)
	if err != nil {
		return fileErrno(err)
	}
	again, errno := f.fsys.openPlain(f.name, flag, 0)
	if errno != 0 {
		return errno
	}
	if errno := f.sameFile(again); errno != 0 {
		_ = again.Close()
		return errno
	}
	if _, err := again.Seek(at, io.SeekStart); err != nil {
		_ = again.Close()
		return fileErrno(err)
	}
	_ = f.file.Close()
	f.file, f.flag = again, flag
	return 0
}

// sameFile is ENOENT when other is not the file f has open: its path was
// renamed or replaced since it was opened.
func (f *File) sameFile(other *os.File) sys.Errno {
	a, err := f.file.Stat()
	if err != nil {
		return fileErrno(err)
	}
	b, err := other.Stat()
	if err != nil {
		return fileErrno(err)
	}
	if !os.SameFile(a, b) {
		return sys.ENOENT
	}
	return 0
}

// Stat describes the open file.
func (f *File) Stat() (wsys.Stat_t, sys.Errno) {
	if f.closed.Load() {
		return wsys.Stat_t{}, sys.EBADF
	}
	fi, err := f.file.Stat()
	if err != nil {
		return wsys.Stat_t{}, fileErrno(err)
	}
	st := wsys.NewStat_t(fi)
	f.ids = &ids{dev: st.Dev, ino: st.Ino, isDir: fi.IsDir()}
	return st, 0
}

// Read reads from the offset; zero bytes and no error is the end.
func (f *File) Read(buf []byte) (int, sys.Errno) {
	if f.closed.Load() {
		return 0, sys.EBADF
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.Read(buf)
	return n, fileErrno(err)
}

// Pread reads at off without moving the offset.
func (f *File) Pread(buf []byte, off int64) (int, sys.Errno) {
	if f.closed.Load() {
		return 0, sys.EBADF
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.ReadAt(buf, off)
	return n, fileErrno(err)
}

// offset is an int64 by another name, so that go vet does not take Seek
// for io.Seeker's, which returns an error rather than wazero's Errno.
type offset = int64

// Seek moves the offset. Seeking a folder to 0 restarts Readdir, which is
// how wazero rewinds a folder.
func (f *File) Seek(off offset, whence int) (offset, sys.Errno) {
	if f.closed.Load() {
		return 0, sys.EBADF
	}
	if whence < io.SeekStart || whence > io.SeekEnd {
		return 0, sys.EINVAL
	}
	n, err := f.file.Seek(off, whence)
	return n, fileErrno(err)
}

// Readdir reads up to n entries (all when n <= 0); fewer than n means the
// end. "." and ".." are not entries: wazero adds them.
func (f *File) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	if f.closed.Load() {
		return nil, sys.EBADF
	}
	// The entries are described with fstatat on the folder's descriptor,
	// never by a path: nothing outside the folder is looked at.
	fis, err := f.file.Readdir(n)
	if errno := fileErrno(err); errno != 0 {
		if errno == sys.ENOTDIR || errno == sys.EINVAL {
			// WASI's fd_readdir on a file is EBADF.
			return nil, sys.EBADF
		}
		return nil, errno
	}
	dirents := make([]sys.Dirent, len(fis))
	for i, fi := range fis {
		dirents[i] = sys.Dirent{Name: fi.Name(), Ino: wsys.NewStat_t(fi).Ino, Type: fi.Mode().Type()}
	}
	return dirents, 0
}

// Write writes at the offset, or at the end in append mode.
func (f *File) Write(buf []byte) (int, sys.Errno) {
	if errno := f.writable(); errno != 0 {
		return 0, errno
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.Write(buf)
	return n, fileErrno(err)
}

// Pwrite writes at off without moving the offset.
func (f *File) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if errno := f.writable(); errno != 0 {
		return 0, errno
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.WriteAt(buf, off)
	return n, fileErrno(err)
}

// Truncate sets the size of the file.
func (f *File) Truncate(size int64) sys.Errno {
	if errno := f.writable(); errno != 0 {
		return errno
	}
	if size < 0 {
		return sys.EINVAL
	}
	return fileErrno(f.file.Truncate(size))
}

// writable is EBADF when the file cannot be written: closed, or opened in a
// read-only FS. The open flags already say so to the kernel; this says it
// whatever the kernel would answer.
func (f *File) writable() sys.Errno {
	if f.closed.Load() || f.fsys.readOnly {
		return sys.EBADF
	}
	return 0
}

// Sync flushes the file to storage.
func (f *File) Sync() sys.Errno {
	if f.closed.Load() {
		return sys.EBADF
	}
	return fileErrno(f.file.Sync())
}

// Datasync flushes the file to storage; Go has no fdatasync, so it is Sync.
func (f *File) Datasync() sys.Errno { return f.Sync() }

// Utimens sets the access and modification times of the open file. Go has
// no futimens, so the times are set at the file's path in the root, if that
// still names the file.
func (f *File) Utimens(atim, mtim int64) sys.Errno {
	if f.closed.Load() {
		return sys.EBADF
	}
	if f.fsys.readOnly {
		return sys.EROFS
	}
	fi, err := f.fsys.root.Stat(f.name)
	if err != nil {
		return errno(err)
	}
	mine, err := f.file.Stat()
	if err != nil {
		return fileErrno(err)
	}
	if !os.SameFile(fi, mine) {
		return sys.ENOENT
	}
	return errno(f.fsys.root.Chtimes(f.name, timeOf(atim), timeOf(mtim)))
}

// Close closes the file, and counts it out of the FS's open files;
// closing it again does nothing.
func (f *File) Close() sys.Errno {
	if !f.closed.CompareAndSwap(false, true) {
		return 0
	}
	err := f.file.Close()
	f.fsys.open.Add(-1)
	return fileErrno(err)
}

// fileErrno is the WASI errno of an error of an open file: the end of the
// file is not an error.
func fileErrno(err error) sys.Errno {
	if err == nil || errors.Is(err, io.EOF) {
		return 0
	}
	if errors.Is(err, fs.ErrClosed) {
		return sys.EBADF
	}
	return sys.UnwrapOSError(err)
}

var _ sys.File = (*File)(nil)
