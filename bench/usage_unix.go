//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// PeakRSS is the finished process's peak resident set, in bytes: getrusage
// gives it in KiB on Linux and the BSDs, in bytes on macOS.
func PeakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}

// CPUTime is the CPU time this process has used, user and system: on a
// shared machine it drifts less than the wall time of a benchmark.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
