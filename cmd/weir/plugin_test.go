package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of the plugin new tests")

// textTools is how describe shows the example Go plugin.
const textTools = `: wasm plugin, weir-abi-1, 4 tools

TOOL   INPUTS        OUTPUTS                       DESCRIPTION
count  text:string*  words:integer, chars:integer  Counts the words and characters of text.
greet  name:string*  message:string                Greets someone by name.
lower  text:string*  text:string                   Lower-cases text.
upper  text:string*  text:string                   Upper-cases text.
`

func TestPluginDescribe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.wasm")
	require.NoError(t, os.WriteFile(empty, []byte("\x00asm\x01\x00\x00\x00"), 0o644))
	notes := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("not a plugin\n"), 0o644))
	runCases(t, []commandCase{
		{
			name:   "table",
			args:   []string{"plugin", "describe", textWasm},
			stdout: textWasm + textTools,
		},
		{
			name: "json",
			args: []string{"plugin", "describe", "-o", "json", textWasm},
			stdout: `{
  "abi": "weir-abi-1",
  "tools": [
    {
      "name": "count",
      "description": "Counts the words and characters of text.",
      "inputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ],
        "additionalProperties": false
      },
      "outputs": {
        "type": "object",
        "properties": {
          "words": {
            "type": "integer",
            "description": "Runs of characters between white space."
          },
          "chars": {
            "type": "integer",
            "description": "Unicode code points."
          }
        },
        "required": [
          "words",
          "chars"
        ],
        "additionalProperties": false
      }
    },
    {
      "name": "greet",
      "description": "Greets someone by name.",
      "inputs": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string",
            "description": "Who to greet."
          }
        },
        "required": [
          "name"
        ],
        "additionalProperties": false
      },
      "outputs": {
        "type": "object",
        "properties": {
          "message": {
            "type": "string"
          }
        },
        "required": [
          "message"
        ],
        "additionalProperties": false
      }
    },
    {
      "name": "lower",
      "description": "Lower-cases text.",
      "inputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ],
        "additionalProperties": false
      },
      "outputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ],
        "additionalProperties": false
      }
    },
    {
      "name": "upper",
      "description": "Upper-cases text.",
      "inputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ],
        "additionalProperties": false
      },
      "outputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ],
        "additionalProperties": false
      }
    }
  ]
}
`,
		},
		{
			name:   "output flag after the file",
			args:   []string{"plugin", "describe", textWasm, "--output=table"},
			stdout: textWasm + textTools,
		},
		{
			name:   "a Wasm module that is not a plugin",
			args:   []string{"plugin", "describe", empty},
			code:   1,
			stderr: "weir: empty.wasm is not a weir plugin: it exports neither weir_invoke (weir-abi-1) nor _start (command mode)\n",
		},
		{
			name:   "not a Wasm module",
			args:   []string{"plugin", "describe", notes},
			code:   1,
			stderr: `weir: compile notes.txt: not a WebAssembly module (no \0asm header)` + "\n",
		},
		{
			name:   "no such file",
			args:   []string{"plugin", "describe", "testdata/missing.wasm"},
			code:   1,
			stderr: "weir: read plugin: open testdata/missing.wasm: no such file or directory\n",
		},
		{
			name:   "a folder without Python files",
			args:   []string{"plugin", "describe", "testdata"},
			code:   1,
			stderr: "weir: read Python tools: testdata holds no .py files\n",
		},
		{
			name:   "bad output format",
			args:   []string{"plugin", "describe", "-o", "yaml", textWasm},
			code:   2,
			stderr: `weir: -o must be table or json, not "yaml"` + "\n" + usage("plugin describe"),
		},
		{
			name:   "no file",
			args:   []string{"plugin", "describe"},
			code:   2,
			stderr: "weir: plugin describe takes 1 argument, got 0\n" + usage("plugin describe"),
		},
	})
}

// The plugin in C, built from its source with clang as make plugins does.
func TestPluginDescribeC(t *testing.T) {
	t.Parallel()
	wasmFile := buildCStrings(t)
	const tools = `: wasm plugin, weir-abi-1, 2 tools

TOOL     INPUTS        OUTPUTS                       DESCRIPTION
length   text:string*  bytes:integer, runes:integer  Counts the UTF-8 bytes and the Unicode code points of text.
reverse  text:string*  text:string                   Reverses text by Unicode code points.
`
	got := weir(t, "", "plugin", "describe", wasmFile)
	assert.Equal(t, result{0, wasmFile + tools, ""}, got)
	got = weir(t, "", "plugin", "describe", "-o", "json", wasmFile)
	assert.Equal(t, result{0, `{
  "abi": "weir-abi-1",
  "tools": [
    {
      "name": "length",
      "description": "Counts the UTF-8 bytes and the Unicode code points of text.",
      "inputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ]
      },
      "outputs": {
        "type": "object",
        "properties": {
          "bytes": {
            "type": "integer",
            "minimum": 0
          },
          "runes": {
            "type": "integer",
            "minimum": 0
          }
        },
        "required": [
          "bytes",
          "runes"
        ]
      }
    },
    {
      "name": "reverse",
      "description": "Reverses text by Unicode code points.",
      "inputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ]
      },
      "outputs": {
        "type": "object",
        "properties": {
          "text": {
            "type": "string"
          }
        },
        "required": [
          "text"
        ]
      }
    }
  ]
}
`, ""}, got)
}

// buildCStrings returns the path of examples/plugins/c-strings/strings.wasm
// built for the test, or skips it loudly when that cannot be done.
func buildCStrings(t *testing.T) string {
	t.Helper()
	path, whyNot := cStrings(t)
	if path == "" {
		t.Skipf("SKIP LOUDLY: %s", whyNot)
	}
	return path
}

// cStrings builds examples/plugins/c-strings in a copy of its folder, so
// that the test never writes into the repository, and returns the path of
// strings.wasm. Without clang it returns the one make plugins built, if
// any; else "" and why.
func cStrings(t *testing.T) (path, whyNot string) {
	t.Helper()
	const src = "../../examples/plugins/c-strings"
	clang, clangErr := exec.LookPath("clang")
	make, makeErr := exec.LookPath("make")
	if clangErr != nil || makeErr != nil || clang == "" {
		if _, err := os.Stat(src + "/strings.wasm"); err == nil {
			return src + "/strings.wasm", ""
		}
		return "", fmt.Sprintf("no clang or make to build %s (%v, %v), and no strings.wasm built there: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32", src, clangErr, makeErr)
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	_ = os.Remove(filepath.Join(dir, "strings.wasm")) // build it anew
	out, err := exec.Command(make, "-C", dir).CombinedOutput()
	require.NoError(t, err, "make -C %s (a copy of %s):\n%s", dir, src, out)
	return filepath.Join(dir, "strings.wasm"), ""
}

// --cache-dir is where both the engine and describe compile Wasm modules.
func TestCacheDir(t *testing.T) {
	t.Parallel()
	// The C plugin compiles in a blink, even under -race; the Go one takes
	// seconds there.
	plugin, whyNot := cStrings(t)
	if plugin == "" {
		t.Logf("using the Go plugin: %s", whyNot)
		plugin = textWasm
	}
	abs, err := filepath.Abs(plugin)
	require.NoError(t, err)
	flow := filepath.Join(t.TempDir(), "flow.cue")
	require.NoError(t, os.WriteFile(flow, []byte(`name: "cached"
plugins: p: wasm: "`+filepath.ToSlash(abs)+`"
nodes: hi: {tool: "p.`+map[bool]string{true: "upper", false: "reverse"}[plugin == textWasm]+`", inputs: text: "hi"}
outputs: text: "${hi.output.text}"
`), 0o644))
	for _, args := range [][]string{
		{"plugin", "describe", plugin},
		{"run", flow},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			cache := t.TempDir()
			got := weir(t, "", append([]string{"--cache-dir", cache}, args...)...)
			require.Equal(t, 0, got.code, got.stderr)
			// The compiled module is in a folder named after the versions of
			// wazero and weir.
			var files []string
			require.NoError(t, filepath.WalkDir(cache, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, path)
				}
				return err
			}))
			assert.NotEmpty(t, files, "nothing compiled into --cache-dir %s", cache)
		})
	}
	t.Run("in memory", func(t *testing.T) {
		t.Parallel()
		got := weir(t, "", "plugin", "describe", "--cache-dir", "-", plugin)
		assert.Equal(t, 0, got.code, got.stderr)
		assert.True(t, strings.HasPrefix(got.stdout, plugin+": wasm plugin, weir-abi-1, "), got.stdout)
	})
}

// scaffoldArgs returns the command line that scaffolds name into a new
// temporary folder with weir's source in the folder weir beside it, given
// as a path relative to the working folder, and that folder.
func scaffoldArgs(t *testing.T, name string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	weirDir := filepath.Join(dir, "weir")
	require.NoError(t, os.Mkdir(weirDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(weirDir, "go.mod"), []byte("// weir\nmodule github.com/weirflow/weir\n\ngo 1.26.0\n"), 0o644))
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, weirDir)
	require.NoError(t, err)
	return []string{"plugin", "new", "--dir", filepath.Join(dir, "plugins"), "--weir", rel, name}, filepath.Join(dir, "plugins")
}

// The files plugin new writes are in testdata/scaffold/KIND/shout, each
// with .golden added to its name: a go.mod there would make the folder a
// module of its own, which the weir module leaves out. go test -update
// rewrites them.
func TestPluginNew(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"wasm", "goplugin"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			args, dir := scaffoldArgs(t, "shout")
			got := weir(t, "", append(args, "--kind", kind)...)
			target := filepath.Join(dir, "shout")
			assert.Equal(t, result{0, "created " + target + ": go.mod, main.go, main_test.go, Makefile, README.md\n" +
				"next: cd " + target + " && go mod tidy && make test build\n", ""}, got)
			files := readTree(t, target)
			golden := filepath.Join("testdata", "scaffold", kind, "shout")
			if *update {
				require.NoError(t, os.RemoveAll(golden))
				require.NoError(t, os.MkdirAll(golden, 0o755))
				for name, text := range files {
					require.NoError(t, os.WriteFile(filepath.Join(golden, name+".golden"), []byte(text), 0o644))
				}
			}
			want := map[string]string{}
			for name, text := range readTree(t, golden) {
				want[strings.TrimSuffix(name, ".golden")] = text
			}
			// go.mod's replace is the path of weir from the plugin.
			assert.Contains(t, want["go.mod"], "replace github.com/weirflow/weir => ../../weir\n")
			assert.Equal(t, want, files)
		})
	}
}

// readTree returns the files under dir by their slash-separated paths.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(os.DirFS(dir), path)
		files[path] = string(b)
		return err
	}))
	return files
}

func TestPluginNewNames(t *testing.T) {
	t.Parallel()
	t.Run("with a dash", func(t *testing.T) {
		t.Parallel()
		args, dir := scaffoldArgs(t, "my-tool")
		got := weir(t, "", args...)
		require.Equal(t, 0, got.code, got.stderr)
		files := readTree(t, filepath.Join(dir, "my-tool"))
		// A CUE label with a dash is quoted.
		assert.Contains(t, files["main.go"], `plugins: "my-tool": {wasm: "my-tool.wasm"}`)
		assert.Contains(t, files["README.md"], `plugins: "my-tool": wasm: "my-tool.wasm"`)
		assert.Contains(t, files["Makefile"], "-o my-tool.wasm .\n")
		assert.True(t, strings.HasPrefix(files["go.mod"], "module my-tool\n"))
	})
	bad := []struct{ name, stderr string }{
		{"two words", `weir: plugin new "two words": name a plugin with letters, digits, _ and -, starting with a letter or _`},
		{"1st", `weir: plugin new "1st": name a plugin with letters, digits, _ and -, starting with a letter or _`},
		{"a/b", `weir: plugin new "a/b": name a plugin with letters, digits, _ and -, starting with a letter or _`},
		{"strings", `weir: plugin new strings: Go's standard library has a package "strings"; pick another name`},
		{"main", `weir: plugin new main: the go command keeps "main" for itself; pick another name`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			got := weir(t, "", "plugin", "new", "--dir", dir, tc.name)
			assert.Equal(t, result{2, "", tc.stderr + "\n" + usage("plugin new")}, got)
			assert.Empty(t, readTree(t, dir), "plugin new wrote files")
		})
	}
}

func TestPluginNewErrors(t *testing.T) {
	t.Parallel()
	t.Run("existing folder", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		target := filepath.Join(dir, "shout")
		require.NoError(t, os.Mkdir(target, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(target, "main.go"), []byte("mine"), 0o644))
		got := weir(t, "", "plugin", "new", "--dir", dir, "shout")
		assert.Equal(t, result{1, "", "weir: create " + target + ": it exists, and plugin new does not overwrite\n"}, got)
		assert.Equal(t, map[string]string{"main.go": "mine"}, readTree(t, target))
	})
	t.Run("existing file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		target := filepath.Join(dir, "shout")
		require.NoError(t, os.WriteFile(target, []byte("mine"), 0o644))
		got := weir(t, "", "plugin", "new", "--dir", dir, "shout")
		assert.Equal(t, result{1, "", "weir: create " + target + ": it exists, and plugin new does not overwrite\n"}, got)
	})
	t.Run("an unknown kind", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		got := weir(t, "", "plugin", "new", "--dir", dir, "--kind", "c", "shout")
		assert.Equal(t, result{2, "", "weir: --kind must be wasm or goplugin, not \"c\"\n" + usage("plugin new")}, got)
		assert.Empty(t, readTree(t, dir))
	})
	t.Run("--weir without go.mod", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		got := weir(t, "", "plugin", "new", "--dir", dir, "--weir", "testdata", "shout")
		assert.Equal(t, result{2, "", "weir: --weir testdata: no go.mod there\n" + usage("plugin new")}, got)
		assert.Empty(t, readTree(t, dir))
	})
	t.Run("--weir of another module", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		other := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644))
		got := weir(t, "", "plugin", "new", "--dir", dir, "--weir", other, "shout")
		assert.Equal(t, result{2, "", "weir: --weir " + other + ": its go.mod is module example.com/other, not github.com/weirflow/weir\n" + usage("plugin new")}, got)
	})
	t.Run("--dir under a file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		got := weir(t, "", "plugin", "new", "--dir", filepath.Join(file, "plugins"), "shout")
		assert.Equal(t, result{1, "", "weir: create " + filepath.Join(file, "plugins") + ": mkdir " + file + ": not a directory\n"}, got)
	})
}

// A test binary is a development build: without --weir, go.mod uses the
// weir checkout the tests run in, and its go.sum.
func TestPluginNewInCheckout(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	got := weir(t, "", "plugin", "new", "--dir", dir, "shout")
	target := filepath.Join(dir, "shout")
	assert.Equal(t, result{0, "created " + target + ": go.mod, go.sum, main.go, main_test.go, Makefile, README.md\n" +
		"next: cd " + target + " && go mod tidy && make test build\n", ""}, got)
	gomod, err := os.ReadFile(filepath.Join(target, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, "module shout\n\ngo 1.26.0\n\nrequire github.com/weirflow/weir v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/weirflow/weir => "+root+"\n", string(gomod))
	gosum, err := os.ReadFile(filepath.Join(target, "go.sum"))
	require.NoError(t, err)
	weirSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	assert.Equal(t, string(weirSum), string(gosum))
}

// Outside a checkout, a development build cannot know where weir is.
func TestPluginNewOutsideCheckout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	got := weir(t, "", "plugin", "new", "shout")
	assert.Equal(t, result{2, "", "weir: plugin new shout: this weir was built from source, whose module no version names: " +
		"run it inside a weir checkout, or pass --weir with the folder of weir's source\n" + usage("plugin new")}, got)
	assert.Empty(t, readTree(t, dir))
}

func TestCheckout(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "weir", "plugins"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "weir", "go.mod"), []byte("module github.com/weirflow/weir\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other", "go.mod"), []byte("module example.com/other\n"), 0o644))

	t.Chdir(filepath.Join(dir, "weir"))
	// In the checkout, its path from the working folder, which the replace
	// directive makes relative to the plugin, so that both move together.
	assert.Equal(t, ".", checkout("shout"))
	assert.Equal(t, ".", checkout("plugins/shout"))
	assert.Equal(t, filepath.Join(dir, "weir"), checkout(filepath.Join(dir, "other", "shout")), "outside it: absolute")
	t.Chdir(filepath.Join(dir, "other"))
	assert.Equal(t, "../weir", checkout("../weir/plugins/shout"), "a target in a checkout, from elsewhere")
	assert.Equal(t, "", checkout("shout"))
}

func TestReplacePath(t *testing.T) {
	t.Parallel()
	weirDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(weirDir, "go.mod"), []byte("module \"github.com/weirflow/weir\" // quoted\n"), 0o644))
	got, err := replacePath(weirDir, "x")
	require.NoError(t, err)
	assert.Equal(t, weirDir, got, "an absolute --weir stays absolute")
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, weirDir)
	require.NoError(t, err)
	for _, tc := range []struct{ target, want string }{
		{filepath.Join(weirDir, "plugins", "x"), "../.."},
		{filepath.Join(weirDir, "x"), ".."},
		{filepath.Join(filepath.Dir(weirDir), "x"), "../" + filepath.Base(weirDir)},
	} {
		got, err := replacePath(rel, tc.target)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "from %s", tc.target)
	}
	spaced := filepath.Join(t.TempDir(), "my weir")
	require.NoError(t, os.Mkdir(spaced, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(spaced, "go.mod"), []byte("module github.com/weirflow/weir\n"), 0o644))
	got, err = replacePath(spaced, "x")
	require.NoError(t, err)
	assert.Equal(t, `"`+spaced+`"`, got)
}

// TestPluginNewBuilds makes a plugin of each kind as a newcomer does, in
// the checkout and without --weir, and runs the command it prints next
// exactly, offline where the module cache allows; then describes the Wasm
// module, and runs the go-plugin in a flow.
func TestPluginNewBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go plugins; skipped under -short")
	}
	t.Parallel()
	for _, name := range []string{"make", "sh"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("SKIP LOUDLY: no %s on PATH to run what plugin new prints: %v", name, err)
		}
	}
	// next runs the line plugin new printed after "next: " in a shell.
	next := func(t *testing.T, stdout string, env ...string) (string, error) {
		_, line, ok := strings.Cut(stdout, "\nnext: ")
		require.True(t, ok, "no next line in %q", stdout)
		cmd := exec.Command("sh", "-c", strings.TrimSuffix(line, "\n"))
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	build := func(t *testing.T, kind string) string {
		dir := t.TempDir()
		got := weir(t, "", "plugin", "new", "--kind", kind, "--dir", dir, "shout")
		require.Equal(t, 0, got.code, got.stderr)
		// Every module the plugin needs is weir's, so in the module cache
		// and in go.sum: try offline first, then through the proxy.
		goflags := strings.TrimSpace(os.Getenv("GOFLAGS") + " -mod=mod")
		out, err := next(t, got.stdout, "GOWORK=off", "GOFLAGS="+goflags, "GOPROXY=off")
		if err != nil {
			t.Logf("offline, it failed; trying the proxy:\n%s", out)
			out, err = next(t, got.stdout, "GOWORK=off", "GOFLAGS="+goflags)
		}
		require.NoError(t, err, "%s", out)
		assert.Contains(t, out, "ok  \tshout")
		return filepath.Join(dir, "shout")
	}
	t.Run("wasm", func(t *testing.T) {
		t.Parallel()
		wasmFile := filepath.Join(build(t, "wasm"), "shout.wasm")
		got := weir(t, "", "plugin", "describe", wasmFile)
		assert.Equal(t, result{0, wasmFile + `: wasm plugin, weir-abi-1, 1 tool

TOOL   INPUTS        OUTPUTS         DESCRIPTION
greet  name:string*  message:string  Greets someone by name.
`, ""}, got)
	})
	t.Run("goplugin", func(t *testing.T) {
		t.Parallel()
		dir := build(t, "goplugin")
		flow := filepath.Join(dir, "flow.cue")
		require.NoError(t, os.WriteFile(flow, []byte(`name: "hi"
plugins: shout: goplugin: "shout"
nodes: hi: {
	tool: "shout.greet"
	inputs: name: "Ada"
}
outputs: message: "${hi.output.message}"
`), 0o644))
		got := weir(t, "", "run", "-o", "json", flow)
		assert.Equal(t, result{0, "{\n  \"message\": \"Hello, Ada!\"\n}\n", ""}, got)
	})
}

func TestPluginDescribeGoPlugin(t *testing.T) {
	t.Parallel()
	exe := filepath.Join(t.TempDir(), "native")
	out, err := exec.Command("go", "build", "-o", exe, "../../examples/plugins/native").CombinedOutput()
	require.NoError(t, err, "build examples/plugins/native: %s", out)
	runCases(t, []commandCase{
		{
			name: "table",
			args: []string{"plugin", "describe", exe},
			stdout: exe + `: goplugin plugin, weir-tool-v1, 1 tool

TOOL  INPUTS                          OUTPUTS                       DESCRIPTION
hash  text:string*, algorithm:string  algorithm:string, hex:string  Digests text with SHA-256 or SHA-512.
`,
		},
	})
	assert.True(t, isExecutable([]byte("\x7fELF\x02\x01")))
	assert.True(t, isExecutable([]byte("\xcf\xfa\xed\xfe")))
	assert.True(t, isExecutable([]byte("MZ\x90\x00")))
	assert.False(t, isExecutable([]byte("#!/bin/sh")))
}

// TestPluginDescribeBuiltin lists the tools every flow has, stats among
// them.
func TestPluginDescribeBuiltin(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "plugin", "describe", "builtin")
	require.Equal(t, 0, got.code, got.stderr)
	lines := strings.Split(got.stdout, "\n")
	require.Greater(t, len(lines), 3, got.stdout)
	assert.Equal(t, "builtin: builtin plugin, native, 7 tools", lines[0])
	var tools []string
	for _, l := range lines[3:] {
		if name, _, ok := strings.Cut(l, " "); ok {
			tools = append(tools, name)
		}
	}
	assert.Equal(t, []string{"http", "json", "llm", "prompt", "sleep", "stats", "template"}, tools)
	assert.Regexp(t, `(?m)^stats +values:\[\]any\|null\* +count:integer, sum:number, mean:number, min:number, max:number +Counts, sums and averages a list of numbers: the metric of a batch's aggregate node\.$`, got.stdout)

	got = weir(t, "", "plugin", "describe", "-o", "json", "builtin")
	assert.Contains(t, got.stdout, "{\n  \"abi\": \"native\",\n  \"tools\": [\n    {\n      \"name\": \"http\",")
}
