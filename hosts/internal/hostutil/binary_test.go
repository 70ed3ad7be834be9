package hostutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippableBinaryNotELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weir")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\necho weir\n"), 0o755))
	_, err := ShippableBinary(path, "amd64")
	require.EqualError(t, err, "weir binary "+path+": not a Linux executable; build one with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary")

	missing := filepath.Join(t.TempDir(), "gone")
	_, err = ShippableBinary(missing, "amd64")
	require.EqualError(t, err, "weir binary: open "+missing+": no such file or directory")
	_, err = ShippableBinary("/bin/sh", "mips")
	require.EqualError(t, err, "weir binary for mips: architecture not supported; use one of amd64, arm64, arm, 386, riscv64, ppc64le, s390x")
}

func TestGOARCH(t *testing.T) {
	for uname, want := range map[string]string{
		"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm", "i686": "386",
		"riscv64": "riscv64", "s390x": "s390x", "mips": "",
	} {
		assert.Equal(t, want, GOARCH(uname), uname)
	}
}

func TestLogTail(t *testing.T) {
	assert.Equal(t, "  c\n  d", LogTail("a\nb\nc\nd\n", 2))
	assert.Equal(t, "  a", LogTail("a", 5))
}
