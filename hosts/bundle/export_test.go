package bundle

import "testing"

// SetMaxStream lowers the limit on an uncompressed archive for the test t.
// t must not run in parallel.
func SetMaxStream(t testing.TB, n int64) {
	old := maxStream
	maxStream = n
	t.Cleanup(func() { maxStream = old })
}
