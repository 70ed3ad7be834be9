package bench

import (
	"os"
	"strconv"
	"strings"
)

// ProcMemory is the resident set of process pid and its peak, in bytes:
// VmRSS and VmHWM of /proc/PID/status, 0 where there is no such file.
// Unlike the rusage of a finished child, the peak is the process's own.
func ProcMemory(pid int) (rss, peak int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		name, v, _ := strings.Cut(line, ":")
		kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		switch {
		case err != nil:
		case name == "VmRSS":
			rss = kib << 10
		case name == "VmHWM":
			peak = kib << 10
		}
	}
	return rss, peak
}
