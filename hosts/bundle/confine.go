package bundle

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weirflow/weir/engine"
)

// isFlowFile reports whether the bundle path p may hold a flow: the
// engine reads .cue, .yaml, .yml and .json files, by extension.
func isFlowFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".cue", ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// confine checks the entry flow of a bundle and every sub-flow it reaches,
// each the file at its bundle path: every path they name must stay in the
// bundle. A plugin's file, a sub-flow and a file a flow embeds are files of
// the bundle, and a granted folder is a folder of it, granted read-only. Paths are taken as
// the flows write them and resolved against the flow's folder inside the
// bundle, as the engine resolves them once the bundle is extracted; and
// since an extracted bundle holds only regular files and the folders
// Extract made, no link can lead out of it.
//
// flow returns the flow file at a bundle path, parsed (Read parses it
// there; Build has parsed it already), with positions naming the file as
// the user should read them. paths are the bundle's files, sorted. confine
// returns what it found in the flows, or engine.FlowErrors sorted by
// position.
func confine(entry string, flow func(string) (*engine.FlowFile, error), paths []string) (*reached, error) {
	c := &confiner{flow: flow, paths: paths, seen: map[string]bool{entry: true}}
	top, err := c.check(entry)
	if err != nil {
		return nil, err
	}
	c.top = top
	return &c.reached, c.err()
}

// reached is what confine found in the flows.
type reached struct {
	top     *engine.FlowFile
	secrets []engine.Secret // each name once, the first declaration
	python  []string        // the names of Python plugins, each once
}

type confiner struct {
	flow  func(string) (*engine.FlowFile, error)
	paths []string        // the bundle's files, sorted
	seen  map[string]bool // flows checked or being checked
	errs  engine.FlowErrors
	reached
}

func (c *confiner) add(pos engine.Pos, format string, args ...any) {
	c.errs = append(c.errs, &engine.FlowError{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems found sorted by position, or nil.
func (c *confiner) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *engine.FlowError) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return c.errs
}

// check checks the flow at the bundle path p and its sub-flows.
func (c *confiner) check(p string) (*engine.FlowFile, error) {
	f, err := c.flow(p)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(filepath.FromSlash(p))
	for _, s := range f.Secrets {
		if !slices.ContainsFunc(c.secrets, func(have engine.Secret) bool { return have.Name == s.Name }) {
			c.secrets = append(c.secrets, s)
		}
	}
	for _, pl := range f.Plugins {
		what := fmt.Sprintf("plugin %q", pl.Spec.Name)
		switch pl.Spec.Kind {
		case "builtin":
		case "python":
			c.checkPython(pl, what, dir)
			if !slices.Contains(c.python, pl.Spec.Name) {
				c.python = append(c.python, pl.Spec.Name)
			}
		default:
			c.file(pl.Pos, what, dir, pl.File)
		}
		for _, guest := range slices.Sorted(maps.Keys(pl.Dirs)) {
			what := fmt.Sprintf("%s: granted folder %q", what, guest)
			if _, ok := c.inside(pl.Pos, what, dir, pl.Dirs[guest]); ok && pl.Spec.Grants.Dirs[guest].Write {
				c.add(pl.Pos, "%s: a plugin may not write into a bundle, whose files the server runs: grant the folder without write", what)
			}
		}
	}
	for _, em := range f.Embeds {
		c.file(em.Pos, fmt.Sprintf("embed %q", em.Written), dir, em.Written)
	}
	for _, sf := range f.SubFlows {
		sub, ok := c.file(sf.Pos, fmt.Sprintf("node %q", sf.Node), dir, sf.Written)
		if !ok || c.seen[sub] {
			continue
		}
		c.seen[sub] = true
		if _, err := c.check(sub); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// checkPython checks a Python plugin's paths: its source is a file or a folder
// of the bundle, its requirements a file of it, and its interpreter is no
// path into it, which holds no interpreter or virtual environment. A
// folder may hold no byte-code, which Python would run in place of the
// .py files that a pin and the bundle's digest vouch for.
func (c *confiner) checkPython(pl engine.PluginEntry, what, dir string) {
	if p, ok := c.inside(pl.Pos, what, dir, pl.File); ok && !c.isFile(p) {
		under := c.under(p)
		if len(under) == 0 {
			c.add(pl.Pos, "%s: the path %s is not a file or folder of the bundle", what, relTo(dir, p))
		}
		for _, f := range under {
			if strings.HasSuffix(f, ".pyc") || slices.Contains(strings.Split(f, "/"), "__pycache__") {
				c.add(pl.Pos, "%s: the bundle holds the byte-code %s, which Python could run in place of the .py files: weir bundle carries none", what, f)
				break
			}
		}
	}
	if pl.Requirements != "" {
		c.file(pl.Pos, what+": requirements", dir, pl.Requirements)
	}
	if in := pl.Interpreter; strings.ContainsRune(in, '/') && !filepath.IsAbs(in) {
		c.add(pl.Pos, "%s: interpreter: the path %s is relative, but a bundle holds no interpreter or virtual environment: name one on the host's PATH (python3) or by an absolute path, and list the packages the tools need in requirements", what, in)
	}
}

// isFile reports whether the bundle path p is one of the bundle's files.
func (c *confiner) isFile(p string) bool {
	_, ok := slices.BinarySearch(c.paths, p)
	return ok
}

// under returns the bundle's files under the folder p.
func (c *confiner) under(p string) []string {
	i, _ := slices.BinarySearch(c.paths, p+"/")
	j := i
	for j < len(c.paths) && strings.HasPrefix(c.paths[j], p+"/") {
		j++
	}
	return c.paths[i:j]
}

// file checks that written, a path the flow in the bundle folder dir
// names, is a file of the bundle, and returns its bundle path.
func (c *confiner) file(pos engine.Pos, what, dir, written string) (string, bool) {
	p, ok := c.inside(pos, what, dir, written)
	if ok && !c.isFile(p) {
		c.add(pos, "%s: the path %s is not a file of the bundle", what, relTo(dir, p))
		return "", false
	}
	return p, ok
}

// inside checks that written, a path the flow in the bundle folder dir
// names, does not leave the bundle, and returns it as a bundle path.
func (c *confiner) inside(pos engine.Pos, what, dir, written string) (string, bool) {
	if filepath.IsAbs(written) || filepath.VolumeName(written) != "" {
		c.add(pos, "%s: the path %s is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file", what, written)
		return "", false
	}
	p := filepath.ToSlash(filepath.Join(dir, written))
	if p == ".." || strings.HasPrefix(p, "../") {
		c.add(pos, "%s: the path %s leads outside the bundle: a flow in a bundle reaches only the bundle's files", what, relTo(dir, p))
		return "", false
	}
	return p, true
}

// relTo is the bundle path p relative to the bundle folder dir: the path
// the flow in dir wrote, as clean as the engine makes it.
func relTo(dir, p string) string {
	rel, err := filepath.Rel(dir, filepath.FromSlash(p))
	if err != nil {
		return p
	}
	return rel
}
