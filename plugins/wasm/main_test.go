package wasm_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/internal/testbuild"
)

// fixtures holds the guests the tests run, built once per test binary:
// Go guests with the PDK, WAT guests with wabt's wat2wasm, the C example
// with clang. A missing tool skips the tests that need it, loudly, unless
// WEIR_REQUIRE_TOOLS is set, as CI does: then it fails them.
var fixtures struct {
	dir     string
	missing map[string]string // fixture -> why it could not be built
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-wasm-fixtures")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtures.dir = dir
	fixtures.missing = map[string]string{}
	buildFixtures()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildFixtures() {
	goGuest := func(name, dir string) {
		if err := testbuild.GoWasm(dir, filepath.Join(fixtures.dir, name+".wasm")); err != nil {
			fixtures.missing[name] = err.Error()
		}
	}
	goGuest("hostile", "./testdata/hostile")
	// The text guest is built where make plugins puts it, which Example
	// opens, and copied for the tests.
	if text, err := testbuild.TextPlugin("../.."); err != nil {
		fixtures.missing["text"] = err.Error()
	} else if out, err := exec.Command("cp", text, fixtures.dir).CombinedOutput(); err != nil {
		fixtures.missing["text"] = fmt.Sprintf("copy text: %v\n%s", err, out)
	}

	wats := []string{"trap", "loop", "grow", "bigout", "noabi", "wrongabi", "badjson", "command",
		"bounds", "noisy", "badout", "loadloop", "initloop", "cmdspin", "cmdflood", "sleep"}
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		for _, name := range wats {
			fixtures.missing[name] = "wat2wasm not found: apt-get install wabt"
		}
	} else if out, err := exec.Command("make", "-s", "-C", "testdata/wat").CombinedOutput(); err != nil {
		for _, name := range wats {
			fixtures.missing[name] = fmt.Sprintf("make testdata/wat: %v\n%s", err, out)
		}
	} else {
		for _, name := range wats {
			if out, err := exec.Command("cp", filepath.Join("testdata", "wat", name+".wasm"), fixtures.dir).CombinedOutput(); err != nil {
				fixtures.missing[name] = fmt.Sprintf("copy %s: %v\n%s", name, err, out)
			}
		}
	}

	if _, err := exec.LookPath("clang"); err != nil {
		fixtures.missing["strings"] = "clang not found: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"
	} else {
		src := "../../examples/plugins/c-strings"
		out, err := exec.Command("make", "-s", "-C", src).CombinedOutput()
		if err == nil {
			out, err = exec.Command("cp", filepath.Join(src, "strings.wasm"), fixtures.dir).CombinedOutput()
		}
		if err != nil {
			fixtures.missing["strings"] = fmt.Sprintf("make c-strings: %v\n%s", err, out)
		}
	}
}

// fixture returns the path of a built guest, or skips (fails under
// WEIR_REQUIRE_TOOLS) when it could not be built here.
func fixture(t testing.TB, name string) string {
	t.Helper()
	if why, ok := fixtures.missing[name]; ok {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatalf("fixture %s: %s", name, why)
		}
		t.Skipf("SKIPPED, fixture %s not built: %s", name, why)
	}
	return filepath.Join(fixtures.dir, name+".wasm")
}
