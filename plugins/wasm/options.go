package wasm

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/weirflow/weir/internal/bytesize"
)

// Limits bound one plugin. Zero fields take the defaults in their comments.
type Limits struct {
	// MemoryPages caps each instance's linear memory, in 64 KiB pages
	// (4096: 256 MiB).
	MemoryPages uint32
	// Timeout bounds one call (1m). The node's own timeout and the run's
	// deadline apply as well.
	Timeout time.Duration
	// Output caps the bytes of one call's outputs (16 MiB).
	Output int
	// Instances bounds the instances of one module, and so the calls that
	// run at once (twice the CPUs, at least 4).
	Instances int
	// Recycle replaces an instance after this many calls, since guests with
	// a garbage collector tend to grow (100000).
	Recycle int
}

const pageSize = 64 << 10

func (l Limits) withDefaults() Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = 4096
	}
	if l.Timeout == 0 {
		l.Timeout = time.Minute
	}
	if l.Output == 0 {
		l.Output = 16 << 20
	}
	if l.Instances == 0 {
		l.Instances = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if l.Recycle == 0 {
		l.Recycle = 100000
	}
	return l
}

// entry is the part of a flow's plugin entry this package reads.
type entry struct {
	Limits struct {
		Memory    json.RawMessage `json:"memory"`
		Timeout   string          `json:"timeout"`
		Output    json.RawMessage `json:"output"`
		Instances int             `json:"instances"`
		Recycle   int             `json:"recycle"`
	} `json:"limits"`
	Config map[string]string `json:"config"`
}

// parseEntry reads limits and config from a plugin entry's options.
// memory is pages when a number, bytes when a string with a unit
// ("64MiB"); output is bytes, either way.
func parseEntry(opts []byte, defaults Limits) (Limits, map[string]string, error) {
	var e entry
	if len(opts) > 0 {
		if err := json.Unmarshal(opts, &e); err != nil {
			return Limits{}, nil, fmt.Errorf("read plugin options: %w", err)
		}
	}
	l := defaults
	if len(e.Limits.Memory) > 0 {
		pages, err := parseSize(e.Limits.Memory, pageSize)
		if err != nil {
			return Limits{}, nil, fmt.Errorf("limits.memory: %w", err)
		}
		l.MemoryPages = uint32(min(max(pages/pageSize, 1), 65536))
	}
	if e.Limits.Timeout != "" {
		d, err := time.ParseDuration(e.Limits.Timeout)
		if err != nil || d <= 0 {
			return Limits{}, nil, fmt.Errorf("limits.timeout: %q is not a positive duration", e.Limits.Timeout)
		}
		l.Timeout = d
	}
	if len(e.Limits.Output) > 0 {
		n, err := parseSize(e.Limits.Output, 1)
		if err != nil {
			return Limits{}, nil, fmt.Errorf("limits.output: %w", err)
		}
		l.Output = int(n)
	}
	if e.Limits.Instances > 0 {
		l.Instances = e.Limits.Instances
	}
	if e.Limits.Recycle > 0 {
		l.Recycle = e.Limits.Recycle
	}
	return l.withDefaults(), e.Config, nil
}

// parseSize reads a number (counted in unit bytes) or a string such as
// "64MiB", and returns bytes.
func parseSize(raw json.RawMessage, unit int64) (int64, error) {
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%d is not positive", n)
		}
		return n * unit, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s is not a number or a size such as \"64MiB\"", raw)
	}
	n, ok := bytesize.Parse(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a size such as \"64MiB\"", s)
	}
	return n, nil
}
