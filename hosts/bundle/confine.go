package bundle

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weirflow/weir/internal/schemas"
)

// isFlowFile reports whether the bundle path p may hold a flow: the
// schemas package reads .cue, .yaml, .yml and .json files, by extension.
func isFlowFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".cue", ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// confine parses the entry flow of a bundle and every sub-flow it reaches,
// each as the file at its path inside the bundle, and checks that every
// path they name stays in the bundle: a plugin's file and a sub-flow are
// files of the bundle, and a granted folder is a folder of it, granted
// read-only. A flow is parsed as the engine parses it, so a path that the
// check resolves inside the bundle resolves to the same file once the
// bundle is extracted; and since an extracted bundle holds only regular
// files and the folders Extract made, no link can lead out of it.
//
// isFile reports whether a bundle path is one of the bundle's files; src
// returns the content of a flow file, or nil when it is not one. confine
// returns the entry flow, or schemas.Errors at positions in files named by
// their bundle paths.
func confine(entry string, isFile func(string) bool, src func(string) []byte) (*schemas.Flow, error) {
	c := &confiner{isFile: isFile, src: src, seen: map[string]bool{entry: true}}
	top, err := c.flow(entry)
	if err != nil {
		return nil, err
	}
	return top, c.errs.Err()
}

type confiner struct {
	isFile func(string) bool
	src    func(string) []byte
	seen   map[string]bool // flows parsed or being parsed
	errs   schemas.Errors
}

// flow parses the flow at the bundle path p and checks it and its
// sub-flows.
func (c *confiner) flow(p string) (*schemas.Flow, error) {
	name := filepath.FromSlash(p)
	f, err := schemas.Parse(name, c.src(p))
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	for _, pl := range f.Plugins {
		what := fmt.Sprintf("plugin %q", pl.Spec.Name)
		if pl.Spec.Kind != "builtin" {
			c.file(pl.Pos, what, dir, pl.Spec.Source)
		}
		guests := make([]string, 0, len(pl.Spec.Grants.Dirs))
		for guest := range pl.Spec.Grants.Dirs {
			guests = append(guests, guest)
		}
		slices.Sort(guests)
		for _, guest := range guests {
			d := pl.Spec.Grants.Dirs[guest]
			what := fmt.Sprintf("%s: granted folder %q", what, guest)
			if _, ok := c.inside(pl.Pos, what, dir, d.Path); ok && d.Write {
				c.errs.Add(pl.Pos, "%s: a plugin may not write into a bundle, whose files the server runs: grant the folder without write", what)
			}
		}
	}
	for _, n := range f.Nodes {
		if n.Flow == "" {
			continue
		}
		sub, ok := c.file(n.FlowPos, fmt.Sprintf("node %q", n.Name), dir, n.Flow)
		if !ok || c.seen[sub] {
			continue
		}
		c.seen[sub] = true
		if _, err := c.flow(sub); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// file checks that resolved, a path the flow in dir names, is a file of
// the bundle, and returns its bundle path.
func (c *confiner) file(pos schemas.Pos, what, dir, resolved string) (string, bool) {
	p, ok := c.inside(pos, what, dir, resolved)
	if ok && !c.isFile(p) {
		c.errs.Add(pos, "%s: the path %s is not a file of the bundle", what, written(dir, resolved))
		return "", false
	}
	return p, ok
}

// inside checks that resolved, a path the flow in dir names and the
// schemas package joined to dir, does not leave the bundle, and returns it
// as a bundle path.
func (c *confiner) inside(pos schemas.Pos, what, dir, resolved string) (string, bool) {
	if filepath.IsAbs(resolved) || filepath.VolumeName(resolved) != "" {
		c.errs.Add(pos, "%s: the path %s is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file", what, resolved)
		return "", false
	}
	p := filepath.ToSlash(resolved)
	if p == ".." || strings.HasPrefix(p, "../") {
		c.errs.Add(pos, "%s: the path %s leads outside the bundle: a flow in a bundle reaches only the bundle's files", what, written(dir, resolved))
		return "", false
	}
	return p, true
}

// written is the relative path that the flow in dir wrote for resolved,
// as clean as the schemas package made it.
func written(dir, resolved string) string {
	rel, err := filepath.Rel(dir, resolved)
	if err != nil {
		return resolved
	}
	return rel
}
