package wasm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/weirflow/weir/plugins/wasm/internal/rootfs"
)

// moduleConfig is the sandbox of one instance: only what the flow granted.
// sleep serves a granted sleep: it must end at the call's deadline, since
// the watchdog cannot stop a guest while it waits in the host.
func (pl *Plugin) moduleConfig(name string, stdin []byte, stdout, stderr *tail, sleep func(ns int64)) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().
		WithName(name).
		WithStdout(stdout).
		WithStderr(stderr)
	if stdin != nil {
		cfg = cfg.WithStdin(bytes.NewReader(stdin))
	}
	if len(pl.dirs) > 0 {
		fsc := wazero.NewFSConfig()
		for _, m := range pl.dirs {
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(m.fs, m.guest)
		}
		cfg = cfg.WithFSConfig(fsc)
	}
	g := pl.spec.Grants
	for _, name := range g.Env {
		if v, ok := os.LookupEnv(name); ok {
			cfg = cfg.WithEnv(name, v)
		}
	}
	if g.Clock {
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithNanosleep(sleep)
	}
	if g.Random {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	return cfg
}

// sleepUntil sleeps ns nanoseconds, or until deadline (unix nanos, 0 for
// none) or until stop closes, whichever comes first, and reports whether it
// reached the deadline.
func sleepUntil(ns, deadline int64, stop <-chan struct{}) bool {
	if deadline != 0 {
		ns = min(ns, deadline-time.Now().UnixNano())
	}
	if ns > 0 {
		t := time.NewTimer(time.Duration(ns))
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
		}
	}
	return deadline != 0 && time.Now().UnixNano() >= deadline
}

// mount is a folder granted to the plugin, seen by the guest at guest.
// Every path the guest uses in it is resolved inside the folder (package
// rootfs); wazero's own folder mounts would follow links out of it.
type mount struct {
	guest string
	fs    *rootfs.FS
}

// openDirs opens the granted folders once for the plugin's life; its
// instances share them. A folder that is missing or not a folder fails
// here, when the plugin opens, rather than in a guest's first call. They
// are mounted in the order of their guest paths, so that every instance
// numbers them the same.
func (pl *Plugin) openDirs() error {
	dirs := pl.spec.Grants.Dirs
	for _, guest := range slices.Sorted(maps.Keys(dirs)) {
		d := dirs[guest]
		fsys, err := rootfs.Open(d.Path, !d.Write)
		if err != nil {
			pl.closeDirs()
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("mount %s at %s: %w", d.Path, guest, err)
		}
		pl.dirs = append(pl.dirs, mount{guest: guest, fs: fsys})
	}
	return nil
}

// closeDirs closes the granted folders; calling it again does nothing.
func (pl *Plugin) closeDirs() {
	for _, m := range pl.dirs {
		_ = m.fs.Close()
	}
	pl.dirs = nil
}
