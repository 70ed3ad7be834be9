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
	m.Model = ""
	if got, want := m.String(), "2 CPUs, linux/amd64, go1.26.8, 2026-12-03"; got != want {
		t.Errorf("String() without a model = %q, want %q", got, want)
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
