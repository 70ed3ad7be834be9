package wasm

import (
	"bytes"
	"crypto/rand"
	"os"

	"github.com/tetratelabs/wazero"
)

// moduleConfig is the sandbox of one instance: only what the flow granted.
func (pl *Plugin) moduleConfig(name string, stdin []byte, stdout, stderr *tail) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().
		WithName(name).
		WithStdout(stdout).
		WithStderr(stderr)
	if stdin != nil {
		cfg = cfg.WithStdin(bytes.NewReader(stdin))
	}
	g := pl.spec.Grants
	if len(g.Dirs) > 0 {
		fs := wazero.NewFSConfig()
		for guest, d := range g.Dirs {
			if d.Write {
				fs = fs.WithDirMount(d.Path, guest)
			} else {
				fs = fs.WithReadOnlyDirMount(d.Path, guest)
			}
		}
		cfg = cfg.WithFSConfig(fs)
	}
	for _, name := range g.Env {
		if v, ok := os.LookupEnv(name); ok {
			cfg = cfg.WithEnv(name, v)
		}
	}
	if g.Clock {
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if g.Random {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	return cfg
}
