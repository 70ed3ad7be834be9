// Package figures is what the benchmark commands under bench/cmd (and
// bench/peers/cmd/wasmbench) measure, in the form they write with -json
// FILE beside the tables they print, and that bench/cmd/report reads to draw
// its charts. Each command has one type; every file starts with a Header
// saying which command wrote it, where and when.
//
// Times are in nanoseconds and memory in bytes, as integers or floats;
// a figure a system cannot measure (a peak RSS without /proc) is 0.
package figures

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine is where the figures were taken.
type Machine struct {
	CPUs  int       `json:"cpus"`
	Model string    `json:"model"` // the CPU's model name, "" where unknown
	OS    string    `json:"os"`
	Arch  string    `json:"arch"`
	Go    string    `json:"go"`
	Date  time.Time `json:"date"`
	// Load is the machine's 1-minute load average when the command
	// started, 0 where unknown: on a shared machine it says how much else
	// ran beside the figures.
	Load float64 `json:"load_average"`
}

// ThisMachine describes the machine this process runs on, now.
func ThisMachine() Machine {
	return Machine{
		CPUs:  runtime.NumCPU(),
		Model: cpuModel("/proc/cpuinfo"),
		OS:    runtime.GOOS,
		Arch:  runtime.GOARCH,
		Go:    runtime.Version(),
		Date:  time.Now().UTC(),
		Load:  loadAverage("/proc/loadavg"),
	}
}

// loadAverage is the first figure of a /proc/loadavg file, 0 where there
// is none.
func loadAverage(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return 0
	}
	return v
}

// String is the machine as a chart's caption says it: "2 CPUs (AMD EPYC),
// linux/amd64, go1.26.8, 2026-12-03, load 1.2".
func (m Machine) String() string {
	model, load := "", ""
	if m.Model != "" {
		model = " (" + m.Model + ")"
	}
	if m.Load > 0 {
		load = fmt.Sprintf(", load %.1f", m.Load)
	}
	return fmt.Sprintf("%d CPUs%s, %s/%s, %s, %s%s", m.CPUs, model, m.OS, m.Arch, m.Go, m.Date.Format(time.DateOnly), load)
}

// cpuModel is the first "model name" of a /proc/cpuinfo file, "" where
// there is none (other systems, some architectures).
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Header starts every command's figures.
type Header struct {
	Command string   `json:"command"`
	Args    []string `json:"args"` // the command's flags, -json and its file left out
	Machine Machine  `json:"machine"`
}

// NewHeader is the header of figures command takes on this machine now,
// with the flags of this process.
func NewHeader(command string) Header {
	return Header{Command: command, Args: withoutJSON(os.Args[1:]), Machine: ThisMachine()}
}

// withoutJSON is args without -json FILE (or -json=FILE, --json): the
// flags that chose what was measured.
func withoutJSON(args []string) []string {
	kept := []string{}
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case !strings.HasPrefix(args[i], "-") || name != "json":
			kept = append(kept, args[i])
		case !hasValue:
			i++ // the file
		}
	}
	return kept
}

// Write writes v as indented JSON to the file path.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	return nil
}

// Read reads the figures that Write wrote to path into v.
func Read(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read figures: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read figures %s: %w", path, err)
	}
	return nil
}
