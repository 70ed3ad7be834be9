package hostutil

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// elfMachines maps the GOARCH values weir ships for to their ELF machine.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"riscv64": elf.EM_RISCV,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// ShippableBinary returns the weir binary to ship to a Linux machine of
// architecture goarch: path, or the running executable when path is empty.
// A container or a VM gets the binary alone, without a C library, so it
// must be a static Linux ELF executable for goarch; the error says how to
// build one when it is not.
func ShippableBinary(path, goarch string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find the weir binary to ship: %w", err)
		}
		path = exe
	}
	build := fmt.Sprintf("build one with CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary", goarch)
	f, err := elf.Open(path)
	var notELF *elf.FormatError
	if errors.As(err, &notELF) {
		return "", fmt.Errorf("weir binary %s: not a Linux executable; %s", path, build)
	}
	if err != nil {
		return "", fmt.Errorf("weir binary: %w", err)
	}
	defer f.Close()
	want, ok := elfMachines[goarch]
	if !ok {
		return "", fmt.Errorf("weir binary for %s: architecture not supported; use one of amd64, arm64, arm, 386, riscv64, ppc64le, s390x", goarch)
	}
	if f.Machine != want {
		return "", fmt.Errorf("weir binary %s is for %s, the target is linux/%s; %s", path, machineName(f.Machine), goarch, build)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("weir binary %s is linked dynamically (built with cgo), and the target has no C library to load; %s", path, build)
		}
	}
	return path, nil
}

// machineName names m as GOARCH does when it can.
func machineName(m elf.Machine) string {
	for arch, em := range elfMachines {
		if em == m {
			return "linux/" + arch
		}
	}
	return m.String()
}

// GOARCH maps the output of `uname -m` to a GOARCH: "x86_64" -> "amd64".
// It returns "" for a machine weir is not built for.
func GOARCH(uname string) string {
	switch uname {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l", "armv6l":
		return "arm"
	case "i386", "i686":
		return "386"
	case "riscv64", "ppc64le", "s390x":
		return uname
	}
	return ""
}

// HostArch is the GOARCH of this machine, the default target.
const HostArch = runtime.GOARCH
