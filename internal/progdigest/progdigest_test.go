package progdigest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClean(t *testing.T) {
	vcs := func(revision, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: revision}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want bool
	}{
		{"committed checkout", debug.BuildInfo{Settings: vcs("abc123", "false")}, true},
		{"edited checkout", debug.BuildInfo{Settings: vcs("abc123", "true")}, false},
		{"no revision", debug.BuildInfo{Settings: vcs("", "false")}, false},
		{"go install of a version", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true},
		{"go test or go run", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, false},
		{"dirty version", debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.2026-abc+dirty"}}, false},
		{"a module replaced by a folder", debug.BuildInfo{
			Settings: vcs("abc123", "false"),
			Deps:     []*debug.Module{{Path: "x", Replace: &debug.Module{Path: "../x"}}},
		}, false},
	} {
		assert.Equal(t, tc.want, clean(&tc.info), tc.name)
	}
}

// A test binary records no revision: it is named by its file.
func TestOfTestBinary(t *testing.T) {
	got, err := Of()
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	b, err := os.ReadFile(exe)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	assert.Equal(t, "exe:"+hex.EncodeToString(sum[:]), got)
}
