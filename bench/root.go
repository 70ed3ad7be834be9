package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the folder of weir's go.mod, wherever in the
// repository the benchmark commands were started.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmarks inside the weir repository")
	}
	return filepath.Dir(mod), nil
}

// BuildWeir builds the weir binary of the repository at root into exe, as
// the Makefile does: static, without cgo.
func BuildWeir(ctx context.Context, root, exe string) error {
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", exe, "./cmd/weir")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build weir: %v\n%s", err, out)
	}
	return nil
}
