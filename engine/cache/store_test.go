package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine/cache"
)

var ctx = context.Background()

// key makes a key of the form the engine gives: 64 hex digits.
func key(i int) string { return fmt.Sprintf("%064x", i) }

func TestGetPut(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s := cache.Open(filepath.Join(t.TempDir(), "cache"), cache.Options{Now: func() time.Time { return now }})
	_, ok := s.Get(ctx, key(1), 0)
	assert.False(t, ok, "an empty store misses")

	require.NoError(t, s.Put(ctx, key(1), "text.upper", []byte(`{"text":"A"}`)))
	b, err := os.ReadFile(filepath.Join(s.Dir(), "00", key(1)+".json"))
	require.NoError(t, err)
	assert.Equal(t, `{"key":"`+key(1)+`","tool":"text.upper","created":"2026-05-06T07:08:09.000000000Z","output":{"text":"A"}}`+"\n", string(b))
	info, err := os.Stat(filepath.Join(s.Dir(), "00", key(1)+".json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only the user reads outputs")

	out, ok := s.Get(ctx, key(1), 0)
	assert.True(t, ok)
	assert.Equal(t, `{"text":"A"}`, string(out))

	now = now.Add(time.Hour - time.Nanosecond)
	_, ok = s.Get(ctx, key(1), time.Hour)
	assert.True(t, ok, "younger than the ttl")
	now = now.Add(time.Nanosecond)
	_, ok = s.Get(ctx, key(1), time.Hour)
	assert.False(t, ok, "as old as the ttl")
	_, ok = s.Get(ctx, key(1), 0)
	assert.True(t, ok, "no ttl: any age")

	for _, bad := range []string{"", "ab", "../" + key(1), "ab/cd", key(1) + ".json"} {
		_, ok := s.Get(ctx, bad, 0)
		assert.False(t, ok, bad)
		assert.EqualError(t, s.Put(ctx, bad, "t", []byte(`{}`)), "cache "+bad+": invalid key")
	}
}

// Many writers and readers of one key: a reader sees a whole entry or
// none, never a part.
func TestConcurrentPutGet(t *testing.T) {
	s := cache.Open(t.TempDir(), cache.Options{})
	n := 400
	if testing.Short() {
		n = 50
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			big := `{"v":"` + strings.Repeat(fmt.Sprint(w), 64<<10) + `"}`
			for range n {
				assert.NoError(t, s.Put(ctx, key(7), "t.x", []byte(big)))
				if out, ok := s.Get(ctx, key(7), 0); ok {
					assert.Len(t, out, len(big))
				}
			}
		}()
	}
	wg.Wait()
	u, err := s.Usage()
	require.NoError(t, err)
	assert.Equal(t, 1, u.Entries)
	leftovers, err := filepath.Glob(filepath.Join(s.Dir(), "*", ".tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers)
}

func TestPruneAndClear(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)
	s := cache.Open(dir, cache.Options{Now: func() time.Time { return now }})
	out := []byte(`{"v":"` + strings.Repeat("x", 93) + `"}`) // 100 bytes
	for i := range 5 {
		require.NoError(t, s.Put(ctx, key(i), "t.x", out))
		now = now.Add(24 * time.Hour)
	}
	size := func() int64 {
		b, err := os.ReadFile(filepath.Join(dir, "00", key(0)+".json"))
		require.NoError(t, err)
		return int64(len(b))
	}()
	u, err := s.Usage()
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{Entries: 5, Bytes: 5 * size}, u)

	// A writer killed mid-write left a temporary file; a file not the
	// store's stays.
	tmp := filepath.Join(dir, "00", ".tmp-123")
	require.NoError(t, os.WriteFile(tmp, []byte("part"), 0o600))
	require.NoError(t, os.Chtimes(tmp, now.Add(-2*time.Hour), now.Add(-2*time.Hour)))
	mine := filepath.Join(dir, "README")
	require.NoError(t, os.WriteFile(mine, []byte("mine"), 0o600))

	// Written 5, 4, 3, 2 and 1 days ago.
	removed, err := s.Prune(cache.PruneOptions{OlderThan: 84 * time.Hour})
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{Entries: 2, Bytes: 2 * size}, removed)
	assert.NoFileExists(t, tmp)
	_, ok := s.Get(ctx, key(1), 0)
	assert.False(t, ok)
	_, ok = s.Get(ctx, key(2), 0)
	assert.True(t, ok)

	removed, err = s.Prune(cache.PruneOptions{MaxBytes: 2 * size})
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{Entries: 1, Bytes: size}, removed, "the oldest goes")
	_, ok = s.Get(ctx, key(2), 0)
	assert.False(t, ok)

	removed, err = s.Clear()
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{Entries: 2, Bytes: 2 * size}, removed)
	assert.FileExists(t, mine)
	assert.NoDirExists(t, filepath.Join(dir, "00"))
	u, err = s.Usage()
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{}, u)

	missing := cache.Open(filepath.Join(dir, "none"), cache.Options{})
	u, err = missing.Usage()
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{}, u)
	removed, err = missing.Clear()
	require.NoError(t, err)
	assert.Equal(t, cache.Usage{}, removed)
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("WEIR_HOME", "/somewhere/weir")
	dir, err := cache.DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, "/somewhere/weir/cache", dir)
}
