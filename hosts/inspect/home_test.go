package inspect

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHomeShort(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	assert.Equal(t, filepath.Join("~", ".local", "share", "weir"), homeShort(filepath.Join(home, ".local", "share", "weir")))
	assert.Equal(t, "~", homeShort(home))
	assert.Equal(t, "/srv/weir", homeShort("/srv/weir"), "outside the home folder")
	assert.Equal(t, home+"..x/weir", homeShort(home+"..x/weir"), "a sibling whose name starts with the home's")
}
