package figures

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCPUModel(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "cpuinfo")
	if err := os.WriteFile(info, []byte("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cpuModel(info); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q, want AMD EPYC 7B13", got)
	}
	if got := cpuModel(filepath.Join(dir, "none")); got != "" {
		t.Errorf("cpuModel of no file = %q, want none", got)
	}
}

func TestMachineString(t *testing.T) {
	m := Machine{CPUs: 2, Model: "AMD EPYC", OS: "linux", Arch: "amd64", Go: "go1.26.8", Date: time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)}
	if got, want := m.String(), "2 CPUs (AMD EPYC), linux/amd64, go1.26.8, 2026-12-03"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	m.Model, m.Load = "", 15.44
	if got, want := m.String(), "2 CPUs, linux/amd64, go1.26.8, 2026-12-03, load 15.4"; got != want {
		t.Errorf("String() without a model, with a load = %q, want %q", got, want)
	}
}

func TestLoadAverage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loadavg")
	if err := os.WriteFile(file, []byte("15.44 16.48 13.53 9/1203 4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := loadAverage(file); got != 15.44 {
		t.Errorf("loadAverage = %v, want 15.44", got)
	}
	if got := loadAverage(filepath.Join(dir, "none")); got != 0 {
		t.Errorf("loadAverage of no file = %v, want 0", got)
	}
}

func TestWithoutJSON(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{nil, []string{}},
		{[]string{"-json", "f.json"}, []string{}},
		{[]string{"-quick", "-json", "f.json", "-lines", "10"}, []string{"-quick", "-lines", "10"}},
		{[]string{"--json=f.json", "-rounds", "1"}, []string{"-rounds", "1"}},
		{[]string{"-nodes", "10,100", "-json"}, []string{"-nodes", "10,100"}},
	} {
		if got := withoutJSON(c.in); !slices.Equal(got, c.want) {
			t.Errorf("withoutJSON(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriteRead(t *testing.T) {
	file := filepath.Join(t.TempDir(), "serve.json")
	in := &Serve{Header: NewHeader("servebench"), Clients: 500, RequestsPerSec: 399.5}
	if err := Write(file, in); err != nil {
		t.Fatal(err)
	}
	var out Serve
	if err := Read(file, &out); err != nil {
		t.Fatal(err)
	}
	if out.Command != "servebench" || out.Clients != 500 || out.RequestsPerSec != 399.5 || !out.Machine.Date.Equal(in.Machine.Date) {
		t.Errorf("read back %+v, wrote %+v", out, in)
	}
	if err := os.WriteFile(file, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Read(file, &out); err == nil || err.Error() != "read figures "+file+": unexpected end of JSON input" {
		t.Errorf("Read of a truncated file: %v", err)
	}
}
