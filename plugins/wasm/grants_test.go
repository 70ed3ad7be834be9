package wasm_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm"
)

// grantWorld is a write grant and a read-only grant beside a folder the
// guest must not reach:
//
//	base/outside/secret.txt           "secret"
//	base/a/b/out/                     granted as /out, write
//	base/data/in.txt                  granted as /data, read-only: "granted"
//	base/data/passwd -> /etc/passwd   links the host put there
//	base/data/etc    -> ../../../../../../../../../../etc
//	base/data/secret -> ../outside/secret.txt
//	base/data/alias  -> in.txt
type grantWorld struct {
	base, outside, out, data string
}

func newGrantWorld(t *testing.T) grantWorld {
	t.Helper()
	base := t.TempDir()
	w := grantWorld{base: base, outside: filepath.Join(base, "outside"),
		out: filepath.Join(base, "a", "b", "out"), data: filepath.Join(base, "data")}
	require.NoError(t, os.MkdirAll(w.outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.outside, "secret.txt"), []byte("secret"), 0o644))
	require.NoError(t, os.MkdirAll(w.out, 0o755))
	require.NoError(t, os.MkdirAll(w.data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.data, "in.txt"), []byte("granted"), 0o644))
	for link, target := range map[string]string{
		"passwd": "/etc/passwd",
		"etc":    "../../../../../../../../../../etc",
		"secret": "../outside/secret.txt",
		"alias":  "in.txt",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(w.data, link)))
	}
	return w
}

func (w grantWorld) grants() plugins.Grants {
	return plugins.Grants{Dirs: map[string]plugins.Dir{
		"/out":  {Path: w.out, Write: true},
		"/data": {Path: w.data},
	}}
}

// grantTree describes every entry under dir without following links, but
// for the folders in skip.
func grantTree(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().Type() == fs.ModeSymlink {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		} else if fi.Mode().IsRegular() {
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

func TestGrantsConfineTheGuest(t *testing.T) {
	w := newGrantWorld(t)
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", "", w.grants())
	outside := grantTree(t, w.base, w.out)

	refused := func(t *testing.T, tool, in, want string) {
		t.Helper()
		_, err := call(t, pl, tool, in)
		assert.EqualError(t, err, want)
	}

	t.Run("the issue's attack: a link out of a write grant", func(t *testing.T) {
		refused(t, "symlink", `{"from":"../../../outside","to":"/out/out"}`,
			"symlink ../../../outside /out/out: Operation not permitted")
		refused(t, "write", `{"path":"/out/out/file","text":"pwned"}`,
			"open /out/out/file: No such file or directory")

		// Had the host left the same link there, it is not followed either.
		require.NoError(t, os.Symlink("../../../outside", filepath.Join(w.out, "out")))
		t.Cleanup(func() { _ = os.Remove(filepath.Join(w.out, "out")) })
		refused(t, "write", `{"path":"/out/out/file","text":"pwned"}`,
			"open /out/out/file: Operation not permitted")
		refused(t, "read", `{"path":"/out/out/secret.txt"}`,
			"open /out/out/secret.txt: Operation not permitted")
		refused(t, "list", `{"path":"/out/out"}`,
			"open /out/out: Operation not permitted")
		refused(t, "stat", `{"path":"/out/out"}`,
			"stat /out/out: Operation not permitted")
		assert.Equal(t, `{"text":"../../../outside"}`, mustCall(t, pl, "readlink", `{"path":"/out/out"}`),
			"a link's text can be read; following it is what is confined")
	})

	t.Run("links that stay inside one by one, not together", func(t *testing.T) {
		mustCall(t, pl, "symlink", `{"from":".","to":"/out/d"}`)
		mustCall(t, pl, "symlink", `{"from":"d/..","to":"/out/s"}`)
		refused(t, "write", `{"path":"/out/s/escaped.txt","text":"pwned"}`,
			"open /out/s/escaped.txt: Operation not permitted")
		refused(t, "mkdir", `{"path":"/out/s/escaped"}`,
			"mkdir /out/s/escaped: Operation not permitted")
		refused(t, "read", `{"path":"/out/s/outside/secret.txt"}`,
			"open /out/s/outside/secret.txt: Operation not permitted")
	})

	t.Run("/etc/passwd through a link", func(t *testing.T) {
		refused(t, "symlink", `{"from":"/etc/passwd","to":"/out/passwd"}`,
			"symlink /etc/passwd /out/passwd: Operation not permitted")
		refused(t, "read", `{"path":"/data/passwd"}`, "open /data/passwd: Operation not permitted")
		refused(t, "read", `{"path":"/data/etc/passwd"}`, "open /data/etc/passwd: Operation not permitted")
		refused(t, "read", `{"path":"/etc/passwd"}`, "open /etc/passwd: Bad file number")
		refused(t, "read", `{"path":"/data/../../etc/passwd"}`, "open /data/../../etc/passwd: Bad file number")
	})

	t.Run("a read-only grant with a host link out", func(t *testing.T) {
		refused(t, "read", `{"path":"/data/secret"}`, "open /data/secret: Operation not permitted")
		refused(t, "write", `{"path":"/data/secret","text":"pwned"}`, "open /data/secret: Read-only file system")
		refused(t, "write", `{"path":"/data/in.txt","text":"pwned"}`, "open /data/in.txt: Read-only file system")
		refused(t, "symlink", `{"from":"in.txt","to":"/data/l"}`, "symlink in.txt /data/l: Read-only file system")
		refused(t, "mkdir", `{"path":"/data/d"}`, "mkdir /data/d: Read-only file system")
		refused(t, "remove", `{"path":"/data/in.txt"}`, "remove /data/in.txt: Read-only file system")
		refused(t, "rename", `{"from":"/data/in.txt","to":"/data/moved.txt"}`,
			"rename /data/in.txt /data/moved.txt: Read-only file system")
	})

	t.Run("hard links and renames across the edge", func(t *testing.T) {
		require.NoError(t, os.Symlink(w.outside, filepath.Join(w.out, "abs")))
		mustCall(t, pl, "write", `{"path":"/out/mine.txt","text":"mine"}`)
		refused(t, "link", `{"from":"/out/abs/secret.txt","to":"/out/hard"}`,
			"link /out/abs/secret.txt /out/hard: Operation not permitted")
		refused(t, "link", `{"from":"/out/mine.txt","to":"/out/abs/hard"}`,
			"link /out/mine.txt /out/abs/hard: Operation not permitted")
		refused(t, "rename", `{"from":"/out/abs/secret.txt","to":"/out/stolen.txt"}`,
			"rename /out/abs/secret.txt /out/stolen.txt: Operation not permitted")
		refused(t, "rename", `{"from":"/out/mine.txt","to":"/out/abs/mine.txt"}`,
			"rename /out/mine.txt /out/abs/mine.txt: Operation not permitted")
		refused(t, "remove", `{"path":"/out/abs/secret.txt"}`,
			"remove /out/abs/secret.txt: Operation not permitted")
		refused(t, "rename", `{"from":"/out/mine.txt","to":"/data/mine.txt"}`,
			"rename /out/mine.txt /data/mine.txt: Not implemented on wasip1")
		refused(t, "link", `{"from":"/data/in.txt","to":"/out/in.txt"}`,
			"link /data/in.txt /out/in.txt: Not implemented on wasip1")
		mustCall(t, pl, "rename", `{"from":"/out/abs","to":"/out/moved"}`)
		refused(t, "read", `{"path":"/out/moved/secret.txt"}`,
			"open /out/moved/secret.txt: Operation not permitted")
	})

	assert.Equal(t, outside, grantTree(t, w.base, w.out), "nothing outside /out changed")
	assert.Equal(t, `{"text":"granted"}`, mustCall(t, pl, "read", `{"path":"/data/in.txt"}`), "the next good call works")
}

func TestGrantsStillWork(t *testing.T) {
	w := newGrantWorld(t)
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", "", w.grants())

	mustCall(t, pl, "write", `{"path":"/out/a.txt","text":"one"}`)
	b, err := os.ReadFile(filepath.Join(w.out, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "one", string(b))
	assert.Equal(t, `{"text":"one"}`, mustCall(t, pl, "read", `{"path":"/out/a.txt"}`))
	mustCall(t, pl, "mkdir", `{"path":"/out/sub"}`)
	mustCall(t, pl, "rename", `{"from":"/out/a.txt","to":"/out/sub/b.txt"}`)
	assert.Equal(t, `{"names":["sub/"]}`, mustCall(t, pl, "list", `{"path":"/out"}`))
	assert.Equal(t, `{"names":["b.txt"]}`, mustCall(t, pl, "list", `{"path":"/out/sub"}`))

	mustCall(t, pl, "symlink", `{"from":"sub/b.txt","to":"/out/ln"}`)
	mustCall(t, pl, "symlink", `{"from":"../ln","to":"/out/sub/up"}`)
	assert.Equal(t, `{"text":"one"}`, mustCall(t, pl, "read", `{"path":"/out/sub/up"}`), "links inside are followed")
	assert.Equal(t, `{"text":"sub/b.txt"}`, mustCall(t, pl, "readlink", `{"path":"/out/ln"}`))
	assert.Equal(t, `{"size":3,"mode":"-rw-------"}`, mustCall(t, pl, "stat", `{"path":"/out/ln"}`))
	mustCall(t, pl, "link", `{"from":"/out/sub/b.txt","to":"/out/hard.txt"}`)
	assert.Equal(t, `{"text":"one"}`, mustCall(t, pl, "read", `{"path":"/out/hard.txt"}`))
	target, err := os.Readlink(filepath.Join(w.out, "ln"))
	require.NoError(t, err)
	assert.Equal(t, "sub/b.txt", target, "the host sees the guest's link as made")

	for _, p := range []string{"/out/sub/up", "/out/ln", "/out/hard.txt", "/out/sub/b.txt", "/out/sub"} {
		mustCall(t, pl, "remove", fmt.Sprintf(`{"path":%q}`, p))
	}
	assert.Equal(t, `{"names":[]}`, mustCall(t, pl, "list", `{"path":"/out"}`))

	assert.Equal(t, `{"text":"granted"}`, mustCall(t, pl, "read", `{"path":"/data/alias"}`), "a host link inside a read-only grant is followed")
	assert.Equal(t, `{"names":["alias","etc","in.txt","passwd","secret"]}`, mustCall(t, pl, "list", `{"path":"/data"}`))
}

func TestGrantOfAMissingFolderFailsAtOpen(t *testing.T) {
	p := newProvider(t, wasm.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file or directory",
		file:                          "not a directory",
	} {
		_, err := p.Open(context.Background(), plugins.Spec{Name: "p", Kind: "wasm", Source: fixture(t, "hostile"),
			Grants: plugins.Grants{Dirs: map[string]plugins.Dir{"/data": {Path: path}}}})
		assert.EqualError(t, err, "mount "+path+" at /data: "+want)
	}
}

// openFDs counts the descriptors this process has open, as the kernel
// does; it skips the test where there is no /proc.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("SKIPPED, cannot count open descriptors: %v", err)
	}
	return len(fds)
}

// fdMargin is what the process may open beside the guest's files while a
// test counts them: the runtime, the compile cache.
const fdMargin = 16

func TestOpenFilesOfAGrantAreBounded(t *testing.T) {
	w := newGrantWorld(t)
	p := newProvider(t, wasm.Options{})
	start := openFDs(t)
	pl := open(t, p, "hostile", "", w.grants())
	opened := openFDs(t)

	// One call opens the file until the grant refuses, and keeps every
	// file: the instance holds them when it goes back to the pool. The
	// 256th is the grant's folder, which wazero opens for the instance
	// when the guest first asks about it.
	assert.Equal(t, `{"opened":255,"error":"open /data/in.txt: Try again"}`,
		mustCall(t, pl, "openmany", `{"path":"/data/in.txt","n":1000}`))
	held := openFDs(t)
	assert.LessOrEqual(t, held, opened+256+fdMargin, "the host holds at most the bound")
	assert.GreaterOrEqual(t, held, opened+256-fdMargin, "the guest's files are held while its instance lives")

	// The bound is the plugin's, per granted folder: its other grant and
	// another plugin on the same folder are not touched.
	_, err := call(t, pl, "read", `{"path":"/data/in.txt"}`)
	assert.EqualError(t, err, "open /data/in.txt: Try again")
	mustCall(t, pl, "write", `{"path":"/out/a.txt","text":"a"}`)
	other := open(t, p, "hostile", "", w.grants())
	assert.Equal(t, `{"text":"granted"}`, mustCall(t, other, "read", `{"path":"/data/in.txt"}`))
	require.NoError(t, other.Close())

	// Closing the plugin closes its instances, and wazero closes what
	// each instance has open.
	require.NoError(t, pl.Close())
	assert.LessOrEqual(t, openFDs(t), start+fdMargin, "the plugin's files are closed with it")
}

func TestOpenFilesGoBackWithTheInstance(t *testing.T) {
	w := newGrantWorld(t)
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"recycle":1}}`, w.grants())
	before := openFDs(t)

	// Each instance serves one call: its files go with it, and the next
	// call has the whole bound again.
	for range 3 {
		assert.Equal(t, `{"opened":255,"error":"open /data/in.txt: Try again"}`,
			mustCall(t, pl, "openmany", `{"path":"/data/in.txt","n":1000}`))
		assert.LessOrEqual(t, openFDs(t), before+fdMargin)
	}
	assert.Equal(t, `{"text":"granted"}`, mustCall(t, pl, "read", `{"path":"/data/in.txt"}`))
}

// TestAFIFOInAGrantFailsAtOnce puts a FIFO in each grant. Opening one for
// reading would wait for a writer forever, inside the host, where
// limits.timeout cannot stop it; a grant opens only files and folders.
func TestAFIFOInAGrantFailsAtOnce(t *testing.T) {
	w := newGrantWorld(t)
	for _, dir := range []string{w.data, w.out} {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	}
	require.NoError(t, os.Symlink("fifo", filepath.Join(w.data, "tofifo")))
	pl := open(t, newProvider(t, wasm.Options{}), "hostile", `{"limits":{"timeout":"60s"}}`, w.grants())

	for _, tc := range []struct{ tool, in, want string }{
		{"read", `{"path":"/data/fifo"}`, "open /data/fifo: Permission denied"},
		{"read", `{"path":"/data/tofifo"}`, "open /data/tofifo: Permission denied"},
		{"read", `{"path":"/out/fifo"}`, "open /out/fifo: Permission denied"},
		{"write", `{"path":"/out/fifo","text":"x"}`, "open /out/fifo: Permission denied"},
		{"openmany", `{"path":"/data/fifo","n":1}`, ""},
	} {
		done := make(chan error, 1)
		go func() {
			out, err := call(t, pl, tc.tool, tc.in)
			if tc.tool == "openmany" && err == nil {
				assert.Equal(t, `{"opened":0,"error":"open /data/fifo: Permission denied"}`, out)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if tc.want == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tc.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s %s: still blocked after 30s", tc.tool, tc.in)
		}
	}

	assert.Equal(t, `{"names":["alias","etc","fifo","in.txt","passwd","secret","tofifo"]}`,
		mustCall(t, pl, "list", `{"path":"/data"}`), "a FIFO can be seen, not opened")
	mustCall(t, pl, "remove", `{"path":"/out/fifo"}`)
	assert.Equal(t, `{"text":"granted"}`, mustCall(t, pl, "read", `{"path":"/data/in.txt"}`), "the next good call works")
}
