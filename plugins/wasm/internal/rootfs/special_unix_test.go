//go:build unix

package rootfs_test

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/experimental/sys"
)

// hangBound is how long an open may take before it counts as hung. Opening
// a FIFO with no other end blocks forever, so any bound shows it.
const hangBound = 30 * time.Second

// within runs op and fails the test if it does not return within
// hangBound.
func within[T any](t *testing.T, what string, op func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- op() }()
	select {
	case v := <-done:
		return v
	case <-time.After(hangBound):
		t.Fatalf("%s: still blocked after %v", what, hangBound)
		panic("unreachable")
	}
}

func TestOnlyFilesAndFoldersOpen(t *testing.T) {
	w := newWorld(t)
	fifo := filepath.Join(w.granted, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o666))
	require.NoError(t, os.Symlink("fifo", filepath.Join(w.granted, "tofifo")))
	// A socket's path must be short; the FS reaches it through a link.
	sockDir, err := os.MkdirTemp("", "sock")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	l, err := net.Listen("unix", filepath.Join(sockDir, "s"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	require.NoError(t, os.Rename(filepath.Join(sockDir, "s"), filepath.Join(w.granted, "sock")))

	for _, readOnly := range []bool{false, true} {
		fsys := w.open(t, readOnly)
		for _, name := range []string{"fifo", "tofifo", "/sub/../fifo", "sock"} {
			flags := []sys.Oflag{sys.O_RDONLY, sys.O_RDONLY | sys.O_NONBLOCK}
			if !readOnly {
				flags = append(flags, sys.O_WRONLY, sys.O_RDWR, sys.O_WRONLY|sys.O_TRUNC, sys.O_WRONLY|sys.O_CREAT|sys.O_APPEND)
			}
			for _, flag := range flags {
				got := within(t, "open "+name, func() sys.Errno { return openErrno(fsys, name, flag) })
				assert.Equal(t, sys.EACCES, got, "open %s with %v, read-only %v", name, flag, readOnly)
			}
		}
		assert.Zero(t, fsys.OpenFiles(), "a refused open holds nothing")

		// It can still be seen, and removed where the grant writes.
		st, errno := fsys.Stat("tofifo")
		require.Zero(t, errno)
		assert.Equal(t, os.ModeNamedPipe, st.Mode.Type())
		dir, errno := fsys.OpenFile(".", sys.O_RDONLY|sys.O_DIRECTORY, 0)
		require.Zero(t, errno)
		entries, errno := dir.Readdir(-1)
		require.Zero(t, errno)
		require.Zero(t, dir.Close())
		names := map[string]os.FileMode{}
		for _, d := range entries {
			names[d.Name] = d.Type
		}
		assert.Equal(t, os.ModeNamedPipe, names["fifo"])
		assert.Equal(t, os.ModeSocket, names["sock"])
	}
	assert.Equal(t, sys.EEXIST, openErrno(w.open(t, false), "fifo", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL))
	require.Zero(t, w.open(t, false).Unlink("fifo"))
}

// TestAFIFOSwappedInNeverBlocks races opens against the host replacing a
// file with a FIFO of the same name, over and over: between the FS's look
// at the name and its open, the name may be a FIFO. The open never blocks,
// and what it opens is the file or nothing.
func TestAFIFOSwappedInNeverBlocks(t *testing.T) {
	w := newWorld(t)
	fsys := w.open(t, false)
	file := filepath.Join(w.granted, "swap")
	fifo := filepath.Join(w.granted, "swap.fifo")
	require.NoError(t, os.WriteFile(file+".file", []byte("file"), 0o644))

	var stop atomic.Bool
	var wg sync.WaitGroup
	var swapErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			for _, step := range []func() error{
				func() error { return syscall.Mkfifo(fifo, 0o666) },
				func() error { return os.Rename(fifo, file) },
				func() error { return os.Link(file+".file", file+".new") },
				func() error { return os.Rename(file+".new", file) },
			} {
				if err := step(); err != nil {
					swapErr = err
					return
				}
			}
		}
	}()

	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	outcomes := within(t, "opens against swaps", func() map[sys.Errno]int {
		outcomes := map[sys.Errno]int{}
		for range rounds {
			for _, flag := range []sys.Oflag{sys.O_RDONLY, sys.O_WRONLY, sys.O_RDWR} {
				f, errno := fsys.OpenFile("swap", flag, 0)
				outcomes[errno]++
				if errno == 0 {
					st, errno := f.Stat()
					if errno != 0 || !st.Mode.IsRegular() {
						t.Errorf("opened %v (errno %v)", st.Mode, errno)
					}
					f.Close()
				}
			}
		}
		return outcomes
	})
	stop.Store(true)
	wg.Wait()
	require.NoError(t, swapErr)
	t.Logf("opens: %v", outcomes)
	for errno := range outcomes {
		assert.Contains(t, []sys.Errno{0, sys.EACCES, sys.ENOENT}, errno)
	}
	assert.Zero(t, fsys.OpenFiles())
}
