package python

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/weirflow/weir/internal/bytesize"
)

// Limits bound one plugin. Zero fields take the defaults in their comments.
type Limits struct {
	// Timeout bounds one call (1m); a call past it kills its process. The
	// node's own timeout and the run's deadline apply as well.
	Timeout time.Duration
	// Instances bounds the interpreter processes of one plugin, and so the
	// calls that run at once (twice the CPUs, at least 4).
	Instances int
	// Memory caps each process's address space (RLIMIT_AS), in bytes, where
	// the OS allows; 0 sets no cap.
	Memory int64
	// Output caps the bytes of one call's outputs (16 MiB).
	Output int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = time.Minute
	}
	if l.Instances <= 0 {
		l.Instances = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if l.Output <= 0 {
		l.Output = 16 << 20
	}
	return l
}

// entry is the part of a flow's plugin entry this package reads. python is
// the path (already resolved by the flow's loader) or an object with it.
type entry struct {
	Python json.RawMessage   `json:"python"`
	Env    map[string]string `json:"env"`
	Limits struct {
		Timeout   string          `json:"timeout"`
		Instances int             `json:"instances"`
		Memory    json.RawMessage `json:"memory"`
		Output    json.RawMessage `json:"output"`
	} `json:"limits"`
}

// source is the python key's object form.
type source struct {
	Path         string `json:"path"`
	Interpreter  string `json:"interpreter"`
	Requirements string `json:"requirements"`
	// Returns "value" makes every tool's output {"value": <what it
	// returned>} whatever its annotation says, unchecked: prompt flow's
	// rule, which imported flows keep.
	Returns string `json:"returns"`
}

// parseEntry reads a plugin entry's options.
func parseEntry(opts []byte, defaults Limits) (entry, source, Limits, error) {
	var e entry
	var src source
	if len(opts) > 0 {
		if err := json.Unmarshal(opts, &e); err != nil {
			return e, src, Limits{}, fmt.Errorf("read python entry: %w", err)
		}
	}
	if len(e.Python) > 0 && e.Python[0] == '{' {
		if err := json.Unmarshal(e.Python, &src); err != nil {
			return e, src, Limits{}, fmt.Errorf("read python entry: %w", err)
		}
	}
	if src.Returns != "" && src.Returns != "value" {
		return e, src, Limits{}, fmt.Errorf("python.returns: %q is not \"value\"", src.Returns)
	}
	l := defaults
	if e.Limits.Timeout != "" {
		d, err := time.ParseDuration(e.Limits.Timeout)
		if err != nil || d <= 0 {
			return e, src, Limits{}, fmt.Errorf("limits.timeout: %q is not a positive duration", e.Limits.Timeout)
		}
		l.Timeout = d
	}
	if e.Limits.Instances > 0 {
		l.Instances = e.Limits.Instances
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		set  func(int64)
	}{
		{"memory", e.Limits.Memory, func(n int64) { l.Memory = n }},
		{"output", e.Limits.Output, func(n int64) { l.Output = int(n) }},
	} {
		if len(f.raw) == 0 {
			continue
		}
		n, err := parseBytes(f.raw)
		if err != nil {
			return e, src, Limits{}, fmt.Errorf("limits.%s: %w", f.name, err)
		}
		f.set(n)
	}
	return e, src, l.withDefaults(), nil
}

// parseBytes reads a number of bytes or a size such as "64MiB". Unlike a
// Wasm plugin's limits.memory, a number is bytes: a process has no pages.
func parseBytes(raw json.RawMessage) (int64, error) {
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%d is not positive", n)
		}
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s is not a number or a size such as \"64MiB\"", raw)
	}
	n, ok := bytesize.Parse(s)
	if !ok || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as \"64MiB\"", s)
	}
	return n, nil
}
