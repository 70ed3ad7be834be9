package leaktest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that keeps the failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestFinds(t *testing.T) {
	const secret = `s"cret-value`
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clean.txt"), []byte("nothing here"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "out.json"), []byte(`{"v":"s\"cret-value"}`), 0o644))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("archived s\"cret-value"))
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.weir"), gz.Bytes(), 0o644))

	r := &recorder{TB: t}
	assert.Equal(t, 3, Tree(r, secret, dir))
	assert.Equal(t, []string{
		"the secret leaked into " + filepath.Join(dir, "b.weir") + ", at byte 9: \"archived s\\\"cret-value\"",
		"the secret leaked into " + filepath.Join(dir, "sub", "out.json") + ", at byte 6: \"{\\\"v\\\":\\\"s\\\\\\\"cret-value\\\"}\"",
	}, r.errs)

	r = &recorder{TB: t}
	Bytes(r, secret, "stdout", []byte("redacted: ***"))
	assert.Empty(t, r.errs)
}
