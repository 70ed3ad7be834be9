package lineset

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSet(t *testing.T) {
	var s Set
	for _, l := range []int{0, 1, 63, 64, 65535, 65536, 1 << 40} {
		assert.False(t, s.Has(l), l)
		s.Add(l)
		assert.True(t, s.Has(l), l)
	}
	assert.False(t, s.Has(2))
	assert.False(t, s.Has(65537))
	assert.False(t, s.Has(-1))
	s.Add(-1)
	assert.False(t, s.Has(-1))
	assert.Len(t, s.pages, 3, "a far line costs one page")
}
