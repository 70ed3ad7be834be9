package record

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sortLines adds lines of the given dataset line numbers, in that order,
// to a sorter whose chunk is chunk bytes, and returns what it yields: the
// dataset line and the line of the file of each, and whether it spilled.
func sortLines(t *testing.T, chunk int, order []int) (got [][2]int, spilled bool) {
	t.Helper()
	defer func(old int) { sortChunk = old }(sortChunk)
	sortChunk = chunk
	var s lineSorter
	defer s.close()
	for i, line := range order {
		require.NoError(t, s.add(line, i+1, fmt.Appendf(nil, `{"line":%d,"at":%d}`, line, i+1)))
	}
	for e, err := range s.sorted() {
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf(`{"line":%d,"at":%d}`, e.line, e.at), string(e.b))
		got = append(got, [2]int{e.line, e.at})
	}
	return got, s.spill != nil
}

func TestLineSorter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	order := r.Perm(5000)
	for i := range order {
		order[i]++
	}
	// A repeated line, as in a damaged record, keeps its file order.
	order = append(order, 7)
	for _, chunk := range []int{1 << 30, 4 << 10, 256} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			got, spilled := sortLines(t, chunk, order)
			assert.Equal(t, chunk < 1<<30, spilled)
			require.Len(t, got, len(order))
			for i := 1; i < len(got); i++ {
				require.LessOrEqual(t, got[i-1][0], got[i][0], "at %d", i)
			}
			at7 := []int{}
			for _, g := range got {
				if g[0] == 7 {
					at7 = append(at7, g[1])
				}
			}
			assert.Len(t, at7, 2)
			assert.Less(t, at7[0], at7[1])
		})
	}
	got, _ := sortLines(t, 1<<30, nil)
	assert.Empty(t, got)
}

// The spill file is gone once the sorter is closed.
func TestLineSorterRemovesItsFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, spilled := sortLines(t, 64, []int{3, 2, 1, 5, 4})
	require.True(t, spilled)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left)
}
