package makehint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommandWeir asks for the files weir's own Makefiles build, from the
// root of the repository, as a newcomer would run make.
func TestCommandWeir(t *testing.T) {
	t.Chdir("../..")
	tests := []struct{ file, want string }{
		{"examples/plugins/text/text.wasm", "make plugins"},
		{"examples/plugins/native/native", "make plugins"},
		{"examples/plugins/c-strings/strings.wasm", "make -C examples/plugins/c-strings"},
		{"plugins/wasm/testdata/wat/loop.wasm", "make -C plugins/wasm/testdata/wat loop.wasm"},
		{"bin/weir", ""}, // made by a recipe (make build), not by a rule
		{"examples/hello/nothing.wasm", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Command(tc.file), "Command(%s)", tc.file)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	write("Makefile", `# Variables of each flavour, continued lines and a double-colon rule.
OUT    := out
TOOLS   = $(OUT)/a.wasm \
          ${OUT}/b.wasm
TOOLS  += $(OUT)/c.wasm
EXTRA  ?= $(OUT)/d.wasm
EXTRA  ?= $(OUT)/ignored.wasm
FOUND   = $(wildcard *.go)

.PHONY: all tools clean
all: build

tools: $(TOOLS) # the plugins

$(TOOLS): src.go
	go build -o $@ .   # a recipe: x: y is not a rule here

$(EXTRA)::
	touch $@

out/e.wasm: CFLAGS = -O2
out/e.wasm: ; touch $@

clean:
	rm -rf $(OUT)
`)
	write("sub/GNUmakefile", "gen.txt:\n\techo > $@\n")
	write("sub/Makefile", "other.txt:\n\techo > $@\n")
	t.Chdir(dir)
	tests := []struct{ file, want string }{
		{"out/a.wasm", "make tools"},
		{"out/b.wasm", "make tools"},
		{"out/c.wasm", "make tools"},
		{"out/d.wasm", "make out/d.wasm"},
		{"out/e.wasm", "make out/e.wasm"},
		{"out/ignored.wasm", ""},
		{"src.go", ""},
		// make reads GNUmakefile before Makefile, and only it; an
		// unknown file there is looked for in the folders above.
		{"sub/gen.txt", "make -C sub gen.txt"},
		{"sub/other.txt", ""},
		{"sub/out/a.wasm", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Command(tc.file), "Command(%s)", tc.file)
	}

	require.NoError(t, os.Mkdir(filepath.Join(dir, "elsewhere"), 0o755))
	t.Chdir(filepath.Join(dir, "elsewhere"))
	assert.Equal(t, "make -C .. tools", Command("../out/a.wasm"), "from another folder")
	assert.Equal(t, " (build it with: make -C .. tools)", Hint("../out/a.wasm"))
	write("out/a.wasm", "built")
	assert.Equal(t, "", Hint("../out/a.wasm"), "a file that is there needs no hint")
	assert.Equal(t, "", Hint(""))
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "$(A)b", "NAME": "A", "LOOP": "$(LOOP)x"}
	tests := []struct{ in, want string }{
		{"$(A) ${A}", "a a"},
		{"$(B)", "ab"},
		{"$($(NAME))", "a"},
		{"$$(A)", "$(A)"},
		{"$(shell echo hi) $(if $(A),x)", " "},
		{"$@ $<", " "},
		{"$(UNSET)", ""},
		{"$(A", "$(A"},
		{"$(LOOP)", "$(LOOP)xxxxxxxxxxx"}, // a loop ends
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, expand(tc.in, vars, 0), "expand(%q)", tc.in)
	}
}
