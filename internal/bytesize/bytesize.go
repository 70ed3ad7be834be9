// Package bytesize reads and writes sizes in bytes the way weir's flags,
// flows and messages give them: 1048576, 512KiB, 64 MiB, 10MB.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

var units = map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}

// Parse reads a positive size: a whole number of bytes, or one followed by
// B, KiB, MiB or GiB (powers of 1024) or KB, MB or GB (powers of 1000),
// with or without a space between. It reports false for anything else and
// for sizes over 2^62 bytes; the caller says what it expected.
func Parse(s string) (int64, bool) {
	rest := strings.TrimLeft(s, "0123456789")
	unit, ok := units[strings.TrimLeft(rest, " ")]
	if !ok || strings.HasSuffix(rest, " ") {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-len(rest)], 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/unit {
		return 0, false
	}
	return n * unit, true
}

// Format writes n exactly, in the largest of GiB, MiB and KiB that it is a
// whole number of, else in bytes: how limits are given and compared.
func Format(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Round writes n in B, KiB, MiB or GiB, with one decimal above B: how a
// reader takes in the size of a file.
func Round(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; v >= unit && i < 2; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB"}[i])
}
