package rootfs_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/weirflow/weir/plugins/wasm/internal/rootfs"
)

// world is a granted folder beside a folder it must not reach:
//
//	base/outside/secret.txt         "secret"
//	base/granted/inside.txt         "inside"
//	base/granted/sub/               a folder
//	base/granted/up      -> ..      links the host put there
//	base/granted/abs     -> base/outside
//	base/granted/etc     -> /etc
//	base/granted/deep    -> sub/../../outside
//	base/granted/dangle  -> ../outside/planted.txt (does not exist)
//	base/granted/alias   -> sub/../inside.txt
type world struct {
	base, granted, outside string
}

func newWorld(t *testing.T) world {
	t.Helper()
	base := t.TempDir()
	w := world{base: base, granted: filepath.Join(base, "granted"), outside: filepath.Join(base, "outside")}
	require.NoError(t, os.Mkdir(w.outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.outside, "secret.txt"), []byte("secret"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(w.granted, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.granted, "inside.txt"), []byte("inside"), 0o644))
	for link, target := range map[string]string{
		"up":     "..",
		"abs":    w.outside,
		"etc":    "/etc",
		"deep":   "sub/../../outside",
		"dangle": "../outside/planted.txt",
		"alias":  "sub/../inside.txt",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(w.granted, link)))
	}
	return w
}

func (w world) open(t *testing.T, readOnly bool) *rootfs.FS {
	t.Helper()
	fsys, err := rootfs.Open(w.granted, readOnly)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fsys.Close() })
	return fsys
}

// tree describes every entry under dir, without following links: kind,
// content or target, permission bits and modification time. skip is left
// out.
func tree(t *testing.T, dir, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode().Type() == fs.ModeSymlink:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		out[p] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

func read(fsys *rootfs.FS, name string) (string, sys.Errno) {
	f, errno := fsys.OpenFile(name, sys.O_RDONLY, 0)
	if errno != 0 {
		return "", errno
	}
	defer f.Close()
	var out []byte
	buf := make([]byte, 4)
	for {
		n, errno := f.Read(buf)
		if errno != 0 {
			return "", errno
		}
		if n == 0 {
			return string(out), 0
		}
		out = append(out, buf[:n]...)
	}
}

func create(fsys *rootfs.FS, name, text string) sys.Errno {
	f, errno := fsys.OpenFile(name, sys.O_WRONLY|sys.O_CREAT|sys.O_TRUNC, 0o600)
	if errno != 0 {
		return errno
	}
	if _, errno := f.Write([]byte(text)); errno != 0 {
		f.Close()
		return errno
	}
	return f.Close()
}

func openErrno(fsys *rootfs.FS, name string, flag sys.Oflag) sys.Errno {
	f, errno := fsys.OpenFile(name, flag, 0o600)
	if errno == 0 {
		f.Close()
	}
	return errno
}

func TestNothingOutsideTheRootIsReached(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	before := tree(t, w.base, w.granted)
	stamp := time.Unix(1_000_000_000, 0).UnixNano()

	for _, tc := range []struct {
		name string
		op   func() sys.Errno
	}{
		{"open ..", func() sys.Errno { return openErrno(fsys, "../outside/secret.txt", sys.O_RDONLY) }},
		{"open /..", func() sys.Errno { return openErrno(fsys, "/../outside/secret.txt", sys.O_RDONLY) }},
		{"open sub/../..", func() sys.Errno { return openErrno(fsys, "sub/../../outside/secret.txt", sys.O_RDONLY) }},
		{"open through a link to ..", func() sys.Errno { return openErrno(fsys, "up/outside/secret.txt", sys.O_RDONLY) }},
		{"open through an absolute link", func() sys.Errno { return openErrno(fsys, "abs/secret.txt", sys.O_RDONLY) }},
		{"open /etc/passwd through a link", func() sys.Errno { return openErrno(fsys, "etc/passwd", sys.O_RDONLY) }},
		{"open through a link that climbs", func() sys.Errno { return openErrno(fsys, "deep/secret.txt", sys.O_RDONLY) }},
		{"truncate through a link", func() sys.Errno { return openErrno(fsys, "abs/secret.txt", sys.O_WRONLY|sys.O_TRUNC) }},
		{"append through a link", func() sys.Errno { return openErrno(fsys, "abs/secret.txt", sys.O_WRONLY|sys.O_APPEND) }},
		{"create through a link", func() sys.Errno { return create(fsys, "up/outside/new.txt", "x") }},
		{"create through an absolute link", func() sys.Errno { return create(fsys, "abs/new.txt", "x") }},
		{"create at a dangling link", func() sys.Errno { return create(fsys, "dangle", "x") }},
		{"open a folder through a link", func() sys.Errno { return openErrno(fsys, "up", sys.O_RDONLY|sys.O_DIRECTORY) }},
		{"stat through a link", func() sys.Errno { _, e := fsys.Stat("abs/secret.txt"); return e }},
		{"stat a link out", func() sys.Errno { _, e := fsys.Stat("up"); return e }},
		{"lstat through a link", func() sys.Errno { _, e := fsys.Lstat("up/outside"); return e }},
		{"mkdir through a link", func() sys.Errno { return fsys.Mkdir("up/outside/d", 0o755) }},
		{"chmod through a link", func() sys.Errno { return fsys.Chmod("abs/secret.txt", 0o777) }},
		{"utimes through a link", func() sys.Errno { return fsys.Utimens("abs/secret.txt", stamp, stamp) }},
		{"utimes a link out", func() sys.Errno { return fsys.Utimens("abs", stamp, stamp) }},
		{"unlink through a link", func() sys.Errno { return fsys.Unlink("abs/secret.txt") }},
		{"rmdir through a link", func() sys.Errno { return fsys.Rmdir("up/outside") }},
		{"rename a file out of the root", func() sys.Errno { return fsys.Rename("inside.txt", "up/outside/moved.txt") }},
		{"rename a file into the root", func() sys.Errno { return fsys.Rename("abs/secret.txt", "stolen.txt") }},
		{"hard link to a file outside", func() sys.Errno { return fsys.Link("abs/secret.txt", "hard.txt") }},
		{"hard link placed outside", func() sys.Errno { return fsys.Link("inside.txt", "up/outside/hard.txt") }},
		{"readlink through a link", func() sys.Errno { _, e := fsys.Readlink("up/outside/x"); return e }},
		{"symlink placed outside", func() sys.Errno { return fsys.Symlink("inside.txt", "up/outside/l") }},
		{"symlink to ..", func() sys.Errno { return fsys.Symlink("../../..", "out") }},
		{"symlink to an absolute path", func() sys.Errno { return fsys.Symlink("/etc", "etc2") }},
		{"symlink that climbs from a folder", func() sys.Errno { return fsys.Symlink("../../outside", "sub/l") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, sys.EPERM, tc.op())
		})
	}
	assert.Equal(t, before, tree(t, w.base, w.granted), "nothing outside the root changed")
	for _, name := range []string{"out", "etc2", "sub/l", "hard.txt", "stolen.txt"} {
		_, errno := fsys.Lstat(name)
		assert.Equal(t, sys.ENOENT, errno, name)
	}
}

func TestLinksOutCanBeReadAndMovedButNotFollowed(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	before := tree(t, w.base, w.granted)

	target, errno := fsys.Readlink("abs")
	require.Zero(t, errno)
	assert.Equal(t, w.outside, target)
	target, errno = fsys.Readlink("up")
	require.Zero(t, errno)
	assert.Equal(t, "..", target)
	st, errno := fsys.Lstat("abs")
	require.Zero(t, errno)
	assert.Equal(t, fs.ModeSymlink, st.Mode.Type())

	require.Zero(t, fsys.Rename("abs", "sub/moved"), "a link is moved as a link")
	_, errno = read(fsys, "sub/moved/secret.txt")
	assert.Equal(t, sys.EPERM, errno)
	require.Zero(t, fsys.Link("sub/moved", "sub/hardlink"), "a hard link to a link links the link")
	_, errno = read(fsys, "sub/hardlink/secret.txt")
	assert.Equal(t, sys.EPERM, errno)
	require.Zero(t, fsys.Unlink("sub/hardlink"))
	require.Zero(t, fsys.Unlink("sub/moved"), "unlink removes the link, not what it points at")
	assert.Equal(t, before, tree(t, w.base, w.granted))
}

func TestGuestLinksThatStayInsideOneByOneCannotLeaveTogether(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	before := tree(t, w.base, w.granted)

	// Each target stays in the root read on its own ("." and "d/.."); only
	// resolved together does s climb out.
	require.Zero(t, fsys.Symlink(".", "d"))
	require.Zero(t, fsys.Symlink("d/..", "s"))
	_, errno := read(fsys, "s/outside/secret.txt")
	assert.Equal(t, sys.EPERM, errno)
	assert.Equal(t, sys.EPERM, create(fsys, "s/escaped.txt", "x"))
	assert.Equal(t, sys.EPERM, fsys.Mkdir("s/escaped", 0o755))
	assert.Equal(t, before, tree(t, w.base, w.granted))
}

func TestReadOnlyRefusesEveryChange(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, true)
	before := tree(t, w.base, "")
	stamp := time.Unix(1_000_000_000, 0).UnixNano()

	text, errno := read(fsys, "inside.txt")
	require.Zero(t, errno)
	assert.Equal(t, "inside", text)
	text, errno = read(fsys, "alias")
	require.Zero(t, errno)
	assert.Equal(t, "inside", text, "a host link that stays inside is followed")
	for _, name := range []string{"abs/secret.txt", "etc/passwd", "up/outside/secret.txt", "deep/secret.txt"} {
		_, errno := read(fsys, name)
		assert.Equal(t, sys.EPERM, errno, "a host link out is not followed: %s", name)
	}

	for _, tc := range []struct {
		name string
		op   func() sys.Errno
		want sys.Errno
	}{
		{"open for write", func() sys.Errno { return openErrno(fsys, "inside.txt", sys.O_WRONLY) }, sys.EROFS},
		{"open for read and write", func() sys.Errno { return openErrno(fsys, "inside.txt", sys.O_RDWR) }, sys.EROFS},
		{"open to create", func() sys.Errno { return openErrno(fsys, "new.txt", sys.O_RDONLY|sys.O_CREAT) }, sys.EROFS},
		{"open to truncate", func() sys.Errno { return openErrno(fsys, "inside.txt", sys.O_RDONLY|sys.O_TRUNC) }, sys.EROFS},
		{"open to append", func() sys.Errno { return openErrno(fsys, "inside.txt", sys.O_RDONLY|sys.O_APPEND) }, sys.EROFS},
		{"open a folder to write", func() sys.Errno { return openErrno(fsys, "sub", sys.O_WRONLY|sys.O_DIRECTORY) }, sys.EISDIR},
		{"mkdir", func() sys.Errno { return fsys.Mkdir("d", 0o755) }, sys.EROFS},
		{"chmod", func() sys.Errno { return fsys.Chmod("inside.txt", 0o777) }, sys.EROFS},
		{"rename", func() sys.Errno { return fsys.Rename("inside.txt", "moved.txt") }, sys.EROFS},
		{"rmdir", func() sys.Errno { return fsys.Rmdir("sub") }, sys.EROFS},
		{"unlink", func() sys.Errno { return fsys.Unlink("inside.txt") }, sys.EROFS},
		{"link", func() sys.Errno { return fsys.Link("inside.txt", "hard.txt") }, sys.EROFS},
		{"symlink", func() sys.Errno { return fsys.Symlink("inside.txt", "l") }, sys.EROFS},
		{"utimes", func() sys.Errno { return fsys.Utimens("inside.txt", stamp, stamp) }, sys.EROFS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.op())
		})
	}

	f, errno := fsys.OpenFile("inside.txt", sys.O_RDONLY, 0)
	require.Zero(t, errno)
	defer f.Close()
	_, errno = f.Write([]byte("x"))
	assert.Equal(t, sys.EBADF, errno)
	_, errno = f.Pwrite([]byte("x"), 0)
	assert.Equal(t, sys.EBADF, errno)
	assert.Equal(t, sys.EBADF, f.Truncate(0))
	assert.Equal(t, sys.EROFS, f.Utimens(stamp, stamp))

	assert.Equal(t, before, tree(t, w.base, ""), "nothing changed, inside or out")
}

func TestOperationsInsideWork(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)

	f, errno := fsys.OpenFile("sub/new.txt", sys.O_RDWR|sys.O_CREAT|sys.O_EXCL, 0o600)
	require.Zero(t, errno)
	n, errno := f.Write([]byte("hello world"))
	require.Zero(t, errno)
	assert.Equal(t, 11, n)
	buf := make([]byte, 5)
	n, errno = f.Pread(buf, 6)
	require.Zero(t, errno)
	assert.Equal(t, "world", string(buf[:n]))
	_, errno = f.Pwrite([]byte("HELLO"), 0)
	require.Zero(t, errno)
	require.Zero(t, f.Truncate(5))
	at, errno := f.Seek(0, 1)
	require.Zero(t, errno)
	assert.Equal(t, int64(11), at, "pread and pwrite leave the offset")
	assert.False(t, f.IsAppend())
	require.Zero(t, f.SetAppend(true))
	assert.True(t, f.IsAppend())
	_, errno = f.Write([]byte("!"))
	require.Zero(t, errno)
	st, errno := f.Stat()
	require.Zero(t, errno)
	assert.Equal(t, int64(6), st.Size)
	isDir, errno := f.IsDir()
	require.Zero(t, errno)
	assert.False(t, isDir)
	require.Zero(t, f.Close())
	require.Zero(t, f.Close(), "closing twice is harmless")
	text, errno := read(fsys, "/sub/new.txt")
	require.Zero(t, errno)
	assert.Equal(t, "HELLO!", text, "a leading slash is the root, as wazero passes paths under it")

	assert.Equal(t, sys.EEXIST, openErrno(fsys, "sub/new.txt", sys.O_RDWR|sys.O_CREAT|sys.O_EXCL))
	assert.Equal(t, sys.ENOTDIR, openErrno(fsys, "inside.txt", sys.O_RDONLY|sys.O_DIRECTORY))
	assert.Equal(t, sys.ELOOP, openErrno(fsys, "alias", sys.O_RDONLY|sys.O_NOFOLLOW))
	assert.Zero(t, openErrno(fsys, "inside.txt", sys.O_RDONLY|sys.O_NOFOLLOW))
	assert.Equal(t, sys.ENOENT, openErrno(fsys, "missing.txt", sys.O_RDONLY))

	require.Zero(t, fsys.Mkdir("sub/d", 0o755))
	assert.Equal(t, sys.EEXIST, fsys.Mkdir("sub/d", 0o755))
	require.Zero(t, fsys.Rename("sub/new.txt", "sub/d/moved.txt"))
	assert.Equal(t, sys.EISDIR, fsys.Rename("inside.txt", "sub/d"))
	require.Zero(t, fsys.Link("sub/d/moved.txt", "hard.txt"))
	st, errno = fsys.Stat("hard.txt")
	require.Zero(t, errno)
	assert.Equal(t, uint64(2), st.Nlink)
	require.Zero(t, fsys.Symlink("sub/d/moved.txt", "ln"))
	text, errno = read(fsys, "ln")
	require.Zero(t, errno)
	assert.Equal(t, "HELLO!", text)
	require.Zero(t, fsys.Symlink("../inside.txt", "sub/back"))
	text, errno = read(fsys, "sub/back")
	require.Zero(t, errno)
	assert.Equal(t, "inside", text, "a link that climbs but stays inside is followed")
	target, errno := fsys.Readlink("sub/back")
	require.Zero(t, errno)
	assert.Equal(t, "../inside.txt", target)

	stamp := time.Unix(1_000_000_000, 0).UnixNano()
	require.Zero(t, fsys.Utimens("ln", sys.UTIME_OMIT, stamp))
	st, errno = fsys.Stat("sub/d/moved.txt")
	require.Zero(t, errno)
	assert.Equal(t, stamp, st.Mtim, "utimes follows a link")
	f, errno = fsys.OpenFile("inside.txt", sys.O_RDONLY, 0)
	require.Zero(t, errno)
	require.Zero(t, f.Utimens(stamp, sys.UTIME_OMIT))
	st, errno = f.Stat()
	require.Zero(t, errno)
	assert.Equal(t, stamp, st.Atim)
	require.Zero(t, f.Close())
	require.Zero(t, fsys.Chmod("inside.txt", 0o755|fs.ModeSetuid))
	st, errno = fsys.Stat("inside.txt")
	require.Zero(t, errno)
	assert.Equal(t, fs.FileMode(0o755), st.Mode, "chmod never sets setuid")

	assert.Equal(t, sys.EISDIR, fsys.Unlink("sub/d"))
	assert.Equal(t, sys.ENOTDIR, fsys.Rmdir("hard.txt"))
	assert.Equal(t, sys.ENOTEMPTY, fsys.Rmdir("sub/d"))
	require.Zero(t, fsys.Unlink("sub/d/moved.txt"))
	require.Zero(t, fsys.Rmdir("sub/d"))
	require.Zero(t, fsys.Unlink("ln"))
	_, errno = fsys.Lstat("ln")
	assert.Equal(t, sys.ENOENT, errno)
}

func TestReaddirPagesAndRewinds(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	for _, name := range []string{"a", "b", "c"} {
		require.Zero(t, create(fsys, "sub/"+name, name))
	}
	require.Zero(t, fsys.Mkdir("sub/dir", 0o755))

	dir, errno := fsys.OpenFile("sub", sys.O_RDONLY|sys.O_DIRECTORY, 0)
	require.Zero(t, errno)
	defer dir.Close()
	isDir, errno := dir.IsDir()
	require.Zero(t, errno)
	assert.True(t, isDir)
	var names []string
	for {
		page, errno := dir.Readdir(3)
		require.Zero(t, errno)
		for _, d := range page {
			names = append(names, d.Name)
			assert.NotZero(t, d.Ino, d.Name)
			assert.Equal(t, d.Name == "dir", d.IsDir(), d.Name)
		}
		if len(page) < 3 {
			break
		}
	}
	sort.Strings(names)
	assert.Equal(t, []string{"a", "b", "c", "dir"}, names, "no . or .. (wazero adds them)")

	_, errno = dir.Seek(0, 0)
	require.Zero(t, errno)
	again, errno := dir.Readdir(-1)
	require.Zero(t, errno)
	assert.Len(t, again, 4, "seeking to 0 rewinds")

	root, errno := fsys.OpenFile(".", sys.O_RDONLY, 0)
	require.Zero(t, errno)
	defer root.Close()
	all, errno := root.Readdir(-1)
	require.Zero(t, errno)
	assert.Len(t, all, 8, "the root lists its own entries, links as links")

	file, errno := fsys.OpenFile("inside.txt", sys.O_RDONLY, 0)
	require.Zero(t, errno)
	defer file.Close()
	_, errno = file.Readdir(-1)
	assert.Equal(t, sys.EBADF, errno)
}

// TestSwappingAFolderForALinkOutLeaksNothing races the FS against the host
// replacing a folder under the root with a link out of it, over and over.
// Whatever the interleaving, what the FS reads is the folder's file, and it
// creates, renames and removes nothing outside.
func TestSwappingAFolderForALinkOutLeaksNothing(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	require.NoError(t, os.WriteFile(filepath.Join(w.granted, "sub", "f"), []byte("inside"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(w.outside, "f"), []byte("outside"), 0o644))
	before := tree(t, w.base, w.granted)

	sub, real := filepath.Join(w.granted, "sub"), filepath.Join(w.granted, "sub.real")
	var stop atomic.Bool
	var wg sync.WaitGroup
	var swaps int
	var swapErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			for _, step := range []func() error{
				func() error { return os.Rename(sub, real) },
				func() error { return os.Symlink(w.outside, sub) },
				func() error { return os.Remove(sub) },
				func() error { return os.Rename(real, sub) },
			} {
				if err := step(); err != nil {
					swapErr = err
					return
				}
			}
			swaps++
		}
	}()

	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	outcomes := map[sys.Errno]int{}
	for range rounds {
		text, errno := read(fsys, "sub/f")
		outcomes[errno]++
		switch errno {
		case 0:
			require.Equal(t, "inside", text)
		case sys.EPERM, sys.ENOENT, sys.ENOTDIR, sys.ELOOP:
			// Refused as a link out, or caught between two steps of a
			// swap (no sub; a link that is gone when read).
		default:
			t.Fatalf("read sub/f: %v", errno)
		}
		if st, errno := fsys.Stat("sub/f"); errno == 0 {
			require.Equal(t, int64(len("inside")), st.Size)
		}
		_ = create(fsys, "sub/w", "x")
		_ = fsys.Rename("sub/w", "sub/w2")
		_ = fsys.Unlink("sub/w2")
		_ = fsys.Mkdir("sub/m", 0o755)
		_ = fsys.Rmdir("sub/m")
		_ = fsys.Symlink("f", "sub/l")
		_ = fsys.Unlink("sub/l")
	}
	stop.Store(true)
	wg.Wait()
	require.NoError(t, swapErr)
	t.Logf("%d swaps; reads: %v", swaps, outcomes)
	assert.Equal(t, before, tree(t, w.base, w.granted), "nothing outside was created, changed or removed")
}

func TestOpenNeedsAFolder(t *testing.T) {
	dir := t.TempDir()
	_, err := rootfs.Open(filepath.Join(dir, "missing"), false)
	assert.EqualError(t, err, "open "+filepath.Join(dir, "missing")+": no such file or directory")
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = rootfs.Open(file, true)
	assert.EqualError(t, err, "open "+file+": not a directory")

	fsys, err := rootfs.Open(dir, false)
	require.NoError(t, err)
	require.NoError(t, fsys.Close())
	assert.Equal(t, sys.EBADF, openErrno(fsys, "file", sys.O_RDONLY), "a closed FS resolves nothing")
}

func TestOpenFilesAreBounded(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)

	var files []sys.File
	for i := range rootfs.MaxOpen {
		name := "inside.txt"
		if i%2 == 1 {
			name = "sub" // folders count as files do
		}
		f, errno := fsys.OpenFile(name, sys.O_RDONLY, 0)
		require.Zero(t, errno, "open %d", i)
		files = append(files, f)
	}
	assert.Equal(t, rootfs.MaxOpen, fsys.OpenFiles())
	assert.Equal(t, rootfs.ErrTooManyOpen, openErrno(fsys, "inside.txt", sys.O_RDONLY))
	assert.Equal(t, rootfs.ErrTooManyOpen, openErrno(fsys, ".", sys.O_RDONLY|sys.O_DIRECTORY))
	assert.Equal(t, rootfs.ErrTooManyOpen, create(fsys, "new.txt", "x"), "an open past the bound creates nothing")
	_, errno := fsys.Lstat("new.txt")
	assert.Equal(t, sys.ENOENT, errno)
	assert.Equal(t, rootfs.MaxOpen, fsys.OpenFiles(), "a refused open holds nothing")

	require.Zero(t, files[0].Close())
	require.Zero(t, files[0].Close(), "closing twice counts once")
	assert.Equal(t, rootfs.MaxOpen-1, fsys.OpenFiles())
	text, errno := read(fsys, "inside.txt")
	require.Zero(t, errno, "a closed file makes room")
	assert.Equal(t, "inside", text)

	// SetAppend opens the file again in place of the old one: still one.
	require.Zero(t, files[0].Close())
	f, errno := fsys.OpenFile("sub/a.txt", sys.O_WRONLY|sys.O_CREAT, 0o600)
	require.Zero(t, errno)
	require.Zero(t, f.SetAppend(true))
	assert.Equal(t, rootfs.MaxOpen, fsys.OpenFiles())
	files[0] = f

	for _, f := range files {
		require.Zero(t, f.Close())
	}
	assert.Zero(t, fsys.OpenFiles())
	for _, name := range []string{"missing.txt", "abs/secret.txt"} {
		assert.NotZero(t, openErrno(fsys, name, sys.O_RDONLY))
	}
	assert.Zero(t, fsys.OpenFiles(), "a failed open holds nothing")
}

// TestOpenFilesAreBoundedAcrossInstances opens from many goroutines at
// once, as the instances of one plugin do: exactly MaxOpen opens succeed.
func TestOpenFilesAreBoundedAcrossInstances(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, true)

	var mu sync.Mutex
	var files []sys.File
	refused := map[sys.Errno]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rootfs.MaxOpen {
				f, errno := fsys.OpenFile("inside.txt", sys.O_RDONLY, 0)
				mu.Lock()
				if errno == 0 {
					files = append(files, f)
				} else {
					refused[errno]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, files, rootfs.MaxOpen)
	assert.Equal(t, map[sys.Errno]int{rootfs.ErrTooManyOpen: 7 * rootfs.MaxOpen}, refused)

	// wazero closes an instance's files from the watchdog's goroutine
	// while the guest may close them too: each counts once.
	for _, f := range files {
		wg.Add(2)
		go func() { defer wg.Done(); f.Close() }()
		go func() { defer wg.Done(); f.Close() }()
	}
	wg.Wait()
	assert.Zero(t, fsys.OpenFiles())
}
