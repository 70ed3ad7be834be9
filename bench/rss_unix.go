//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
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
