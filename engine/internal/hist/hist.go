// Package hist counts durations in a histogram of fixed size, so that a
// batch of any number of lines reports percentiles in constant memory.
package hist

import (
	"math"
	"math/bits"
	"time"
)

// sub is the number of buckets per power of two: values are kept to within
// 1/64 (1.6%) of what was recorded, and exactly below 128 ns.
const sub = 64

// buckets covers every positive int64.
const buckets = (64-6)*sub + sub

// Hist is a histogram of durations. The zero value is empty and ready.
// It is not safe for concurrent use.
type Hist struct {
	counts [buckets]int64
	n      int64
	max    time.Duration
}

func index(v uint64) int {
	if v < 2*sub {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v>>e is in [64, 128)
	return (e+1)*sub + int(v>>e) - sub
}

// value is a representative duration of bucket i: its middle.
func value(i int) time.Duration {
	if i < 2*sub {
		return time.Duration(i)
	}
	e := i/sub - 1
	m := uint64(i%sub + sub)
	return time.Duration(m<<e + (uint64(1)<<e)/2)
}

// Add records one duration; negative ones count as zero.
func (h *Hist) Add(d time.Duration) {
	d = max(d, 0)
	h.counts[index(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

// Count returns how many durations were recorded.
func (h *Hist) Count() int64 { return h.n }

// Max returns the largest duration recorded, exactly.
func (h *Hist) Max() time.Duration { return h.max }

// Quantile returns the duration below which a fraction q (0 < q <= 1) of
// the recorded ones fall, within 1.6%; zero when nothing was recorded.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(value(i), h.max)
		}
	}
	return h.max
}
