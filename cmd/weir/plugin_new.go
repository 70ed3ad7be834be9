package main

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
)

// scaffold holds the files of a new plugin, as templates of scaffoldData:
// go.mod, shared, and the other files in a folder for each kind.
//
//go:embed scaffold
var scaffold embed.FS

// scaffoldFiles are the files plugin new writes, in the order it lists them.
var scaffoldFiles = []string{"go.mod", "main.go", "main_test.go", "Makefile", "README.md"}

const (
	weirModule = "github.com/weirflow/weir"
	// goVersion is the go line of a new plugin's go.mod: the Go that the
	// PDK needs, and that weir itself is built with.
	goVersion = "1.26.0"
	// placeholderVersion is the version a replace directive stands in for.
	placeholderVersion = "v0.0.0-00010101000000-000000000000"
)

// pluginName is what a plugin entry of a flow may be called, which is also
// a valid Go module path.
var pluginName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// scaffoldData is what the templates of scaffold read.
type scaffoldData struct {
	Name    string // the module, the plugin and the file it builds
	Label   string // Name as a CUE label
	Go      string
	Version string // of the weir module, if known
	Replace string // the weir folder the module uses, relative to it, if any
}

func newPluginNew() *cobra.Command {
	var dir, weirDir, kind string
	cmd := &cobra.Command{
		Use:   "new [flags] NAME",
		Short: "Create a Go plugin to start from",
		Long: `Create the folder NAME (in --dir) holding a Go plugin with one tool: go.mod,
main.go, main_test.go, a Makefile whose build target makes the plugin, and
a README. An existing folder is never overwritten.

--kind wasm (the default) makes a WebAssembly module, NAME.wasm, written
with the plugin development kit (plugins/pdk): sandboxed, granted only what
its flow gives it. --kind goplugin makes an executable, NAME, serving its
tools with goplugin.Serve: a process of its own, for what Wasm cannot do
(cgo, native libraries, devices), not sandboxed.

go.mod uses weir's source through a replace directive: the folder --weir
names, else the weir checkout that holds NAME's folder or the working
folder. A weir that is a published release, outside a checkout, requires
its own version instead.`,
		Example: `  weir plugin new shout
  weir plugin new --kind goplugin --dir plugins digest
  weir plugin new --weir ../weir shout`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := a[0]
			if err := oneOf("--kind", kind, "wasm", "goplugin"); err != nil {
				return err
			}
			if err := checkPluginName(name); err != nil {
				return err
			}
			target := filepath.Join(dir, name)
			p := scaffoldData{Name: name, Label: cueLabel(name), Go: goVersion}
			if weirDir == "" {
				weirDir = checkout(target)
			}
			switch {
			case weirDir != "":
				replace, err := replacePath(weirDir, target)
				if err != nil {
					return err
				}
				p.Version, p.Replace = placeholderVersion, replace
			case publishedVersion() != "":
				p.Version = publishedVersion()
			default:
				return usageError{fmt.Errorf("plugin new %s: this weir was built from source, whose module no version names: "+
					"run it inside a weir checkout, or pass --weir with the folder of weir's source", name)}
			}
			// weir's go.sum holds the sums of every module the plugin
			// needs, so that go mod tidy checks them without asking the
			// checksum database (and works offline, given the module cache).
			var goSum []byte
			files := scaffoldFiles
			if p.Replace != "" {
				if goSum, _ = os.ReadFile(filepath.Join(weirDir, "go.sum")); goSum != nil {
					files = slices.Insert(slices.Clone(files), 1, "go.sum")
				}
			}
			if err := writeScaffold(target, kind, p, goSum); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created %s: %s\n", target, strings.Join(files, ", "))
			fmt.Fprintf(out, "next: cd %s && go mod tidy && make test build\n", target)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "create NAME in the folder `DIR`")
	cmd.Flags().StringVar(&weirDir, "weir", "", "build against weir's source in the folder `PATH` (default: the weir checkout around DIR or the working folder)")
	cmd.Flags().StringVar(&kind, "kind", "wasm", "the kind of plugin: wasm or goplugin")
	return cmd
}

// checkout returns the weir checkout that holds target or the working
// folder, as a path relative to the working folder when it holds target
// (so that the replace directive moves with both), or "" when there is none.
func checkout(target string) string {
	abs, err := filepath.Abs(target)
	if err != nil {
		return ""
	}
	for _, start := range []string{filepath.Dir(abs), "."} {
		dir, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for {
			if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == weirModule {
				if !strings.HasPrefix(abs, dir+string(filepath.Separator)) {
					return dir
				}
				if wd, err := os.Getwd(); err == nil {
					if rel, err := filepath.Rel(wd, dir); err == nil {
						return rel
					}
				}
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

func checkPluginName(name string) error {
	if !pluginName.MatchString(name) {
		return usageError{fmt.Errorf("plugin new %q: name a plugin with letters, digits, _ and -, starting with a letter or _", name)}
	}
	// A module named like a package of the standard library, or a word
	// the go command keeps for itself, cannot build.
	switch name {
	case "main", "std", "cmd", "all", "tool", "work":
		return usageError{fmt.Errorf("plugin new %s: the go command keeps %q for itself; pick another name", name, name)}
	}
	if p, err := build.Default.Import(name, "", build.FindOnly); err == nil && p.Goroot {
		return usageError{fmt.Errorf("plugin new %s: Go's standard library has a package %q; pick another name", name, name)}
	}
	return nil
}

// cueLabel writes name as a label of a CUE struct, quoted unless it is an
// identifier.
func cueLabel(name string) string {
	if strings.Contains(name, "-") {
		return strconv.Quote(name)
	}
	return name
}

// replacePath checks that dir holds weir's module and returns the path of
// dir as target's go.mod reads it: relative to target when dir is relative,
// so that both can move together.
func replacePath(dir, target string) (string, error) {
	mod, err := modulePath(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", usageError{fmt.Errorf("--weir %s: %w", dir, err)}
	}
	if mod != weirModule {
		return "", usageError{fmt.Errorf("--weir %s: its go.mod is module %s, not %s", dir, mod, weirModule)}
	}
	path := dir
	if !filepath.IsAbs(dir) {
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		absTarget, err := filepath.Abs(target)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(absTarget, absDir)
		if err != nil {
			return "", err
		}
		path = filepath.ToSlash(rel)
		if !strings.HasPrefix(path, "../") && path != ".." {
			path = "./" + path
		}
	}
	if strings.ContainsAny(path, " \t\"'`\\") {
		path = strconv.Quote(path)
	}
	return path, nil
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errors.New("no go.mod there")
	}
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			mod, _, _ := strings.Cut(rest, "//")
			mod = strings.TrimSpace(mod)
			if unq, err := strconv.Unquote(mod); err == nil {
				mod = unq
			}
			return mod, nil
		}
	}
	return "", errors.New("its go.mod has no module line")
}

var (
	// moduleVersion is the form of a version that a go.mod can require:
	// a release, a pre-release or a pseudo-version, with no +build suffix.
	moduleVersion = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)
	// gitDescribe ends what git describe prints after a tag, which the
	// Makefile sets weir's version to: a commit past a release, not one.
	gitDescribe = regexp.MustCompile(`-[0-9]+-g[0-9a-f]+(-dirty)?$`)
)

// publishedVersion is the version of the weir module this binary was built
// from, or "" when it was built from source, which no module version names:
// a development build, or one with local changes.
func publishedVersion() string {
	if v := engine.Version(); moduleVersion.MatchString(v) && !gitDescribe.MatchString(v) {
		return v
	}
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != weirModule || !moduleVersion.MatchString(info.Main.Version) {
		return ""
	}
	// A build in a checkout stamps a version from its commit, which
	// need not be published: go install of a version stamps none.
	for _, s := range info.Settings {
		if s.Key == "vcs" {
			return ""
		}
	}
	return info.Main.Version
}

// writeScaffold creates the folder target and the files of the plugin p, of
// kind wasm or goplugin, in it, with goSum as its go.sum unless it is nil,
// and removes the folder again when a file fails.
func writeScaffold(target, kind string, p scaffoldData, goSum []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(target), err)
	}
	if err := os.Mkdir(target, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: it exists, and plugin new does not overwrite", target)
		}
		return fmt.Errorf("create %s: %w", target, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(target)
		}
	}()
	tmpl, err := template.ParseFS(scaffold, "scaffold/*.tmpl", "scaffold/"+kind+"/*.tmpl")
	if err != nil {
		return err // the embedded templates always parse
	}
	for _, f := range scaffoldFiles {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, f+".tmpl", p); err != nil {
			return fmt.Errorf("write %s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(target, f), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if goSum != nil {
		return os.WriteFile(filepath.Join(target, "go.sum"), goSum, 0o644)
	}
	return nil
}
