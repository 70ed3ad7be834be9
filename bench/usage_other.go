//go:build !unix

package bench

import (
	"os"
	"time"
)

// PeakRSS is unknown here: 0.
func PeakRSS(*os.ProcessState) int64 { return 0 }

// CPUTime is unknown here: 0.
func CPUTime() time.Duration { return 0 }
