package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIndexNeverDecreasesAndFits(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<63 - 1} {
		i := index(v)
		assert.GreaterOrEqual(t, i, prev, "index(%d)", v)
		assert.Less(t, i, buckets, "index(%d)", v)
		prev = i
	}
}

func TestQuantileWithinPrecision(t *testing.T) {
	var h Hist
	r := rand.New(rand.NewPCG(1, 2))
	all := make([]time.Duration, 100000)
	for i := range all {
		all[i] = time.Duration(r.ExpFloat64() * float64(5*time.Millisecond))
		h.Add(all[i])
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.95, 0.99, 1} {
		want := all[int(q*float64(len(all)))-1]
		got := h.Quantile(q)
		assert.InEpsilon(t, float64(want), float64(got), 0.02, "q=%v", q)
	}
	assert.Equal(t, all[len(all)-1], h.Max())
	assert.EqualValues(t, len(all), h.Count())
}

func TestSmallAndEmpty(t *testing.T) {
	var h Hist
	assert.Zero(t, h.Quantile(0.5))
	for _, d := range []time.Duration{3, 1, 2, -5} {
		h.Add(d)
	}
	assert.Equal(t, time.Duration(1), h.Quantile(0.5))
	assert.Equal(t, time.Duration(3), h.Quantile(0.99))
	assert.Equal(t, time.Duration(0), h.Quantile(0.01))
}
