package record_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine/record"
)

func TestScanDataset(t *testing.T) {
	// Blank lines do not count; a line longer than the buffer counts once;
	// a last line without its newline counts.
	data := "{\"a\":1}\n\n  \n{\"a\":\"" + strings.Repeat("x", 1<<20) + "\"}\n{\"a\":3}"
	path := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	d, err := record.ScanDataset(path)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(data))
	assert.Equal(t, record.Dataset{SHA256: hex.EncodeToString(sum[:]), Lines: 3}, d)

	missing := filepath.Join(t.TempDir(), "none.jsonl")
	_, err = record.ScanDataset(missing)
	require.EqualError(t, err, "read dataset: open "+missing+": no such file or directory")
}
