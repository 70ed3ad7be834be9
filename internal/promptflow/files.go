package promptflow

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// readFolder reads the flow folder's files, by slash path: what the
// converted folder holds beside flow.cue. prompt flow's own artifacts
// (the DAG file, .promptflow, caches, runs, virtual environments) stay
// behind. A symbolic link to a file is read as that file.
func readFolder(dir, dagFile string) (map[string][]byte, error) {
	files := map[string][]byte{}
	total := 0
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		name := e.Name()
		if e.IsDir() {
			if strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules" || isVenv(p) {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == dagFile || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".pyc") {
			return nil
		}
		if e.Type()&fs.ModeSymlink != 0 {
			// A link to a file is copied as the file, as prompt flow's
			// snapshot copies it; links to anything else stay behind.
			if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
				return nil
			}
		} else if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if total += len(b); total > maxFolder {
			return fmt.Errorf("%s holds more than %d MiB: a flow folder is text; is it the right folder?", dir, maxFolder>>20)
		}
		files[rel] = b
		return nil
	})
	return files, err
}

func isVenv(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}

// localPath is where a file of the output is on disk now: in the flow's
// folder or in an include.
func (c *converter) localPath(rel string) string {
	if p, ok := c.origin[rel]; ok {
		return p
	}
	return filepath.Join(c.dir, filepath.FromSlash(rel))
}

// includes copies additional_includes into the folder, each file or
// folder under its base name, as prompt flow's snapshot does (SPEC §2).
func (c *converter) includes() {
	c.origin = map[string]string{}
	at := c.d.pos["additional_includes"]
	for _, inc := range c.d.AdditionalIncludes {
		src := filepath.Join(c.dir, filepath.FromSlash(inc))
		info, err := os.Stat(src)
		if err != nil {
			c.refuse(at, "additional include %s does not exist", inc)
			continue
		}
		base := filepath.Base(src)
		add := func(rel, p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				c.refuse(at, "additional include %s: %v", inc, err)
				return
			}
			if old, ok := c.files[rel]; ok && !bytes.Equal(old, b) {
				c.refuse(at, "additional include %s: %s is also a different file of the flow's folder", inc, rel)
				return
			}
			c.files[rel] = b
			c.origin[rel] = p
		}
		if !info.IsDir() {
			add(base, src)
			continue
		}
		sub, err := readFolder(src, "")
		if err != nil {
			c.refuse(at, "additional include %s: %v", inc, err)
			continue
		}
		for rel := range sub {
			add(path.Join(base, rel), filepath.Join(src, filepath.FromSlash(rel)))
		}
	}
}

// providedByWeir matches the requirements weir's Python module stands in
// for: prompt flow's packages and their extras.
var providedByWeir = regexp.MustCompile(`(?i)^\s*promptflow(?:[-_.](?:tools|core|devkit|azure|tracing))?\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;].*)?$`)

var importsOpenAI = regexp.MustCompile(`(?m)^\s*(?:from|import)\s+openai\b`)

// requirements rewrites the requirements file without prompt flow's
// packages (SPEC §2, environment). A tool that imports openai, which
// promptflow-tools brought along, gets it listed.
func (c *converter) requirements() {
	name := c.d.Environment.PythonRequirementsTxt
	if name == "" {
		return
	}
	rel := path.Clean(filepath.ToSlash(name))
	src, ok := c.files[rel]
	if !ok || strings.HasPrefix(rel, "../") {
		c.warn(c.d.pos["environment"], "requirements file %s does not exist in the flow's folder: the Python tools get no requirements", name)
		return
	}
	var kept, dropped []string
	hasOpenAI := false
	for _, line := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		if providedByWeir.MatchString(line) {
			dropped = append(dropped, strings.TrimSpace(line))
			continue
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "openai") {
			hasOpenAI = true
		}
		kept = append(kept, line)
	}
	for len(kept) > 0 && strings.TrimSpace(kept[len(kept)-1]) == "" {
		kept = kept[:len(kept)-1]
	}
	if len(dropped) > 0 && !hasOpenAI {
		var users []string
		for f, b := range c.files {
			if strings.HasSuffix(f, ".py") && importsOpenAI.Match(b) {
				users = append(users, f)
			}
		}
		if len(users) > 0 {
			sort.Strings(users)
			kept = append(kept, "openai")
			c.notes = append(c.notes, fmt.Sprintf("openai is added to %s: %s import it, and prompt flow's tools package brought it along", rel, strings.Join(users, ", ")))
		}
	}
	if len(dropped) > 0 {
		c.notes = append(c.notes, fmt.Sprintf("%s: %s dropped: weir's Python module provides what tools import from prompt flow", rel, strings.Join(dropped, ", ")))
	}
	delete(c.files, rel)
	if len(kept) == 0 {
		return
	}
	c.files[rel] = []byte(strings.Join(kept, "\n") + "\n")
	c.reqs = rel
}

// Write puts the converted flow into dir, which must not exist or be
// empty. Files are written into a new folder that is renamed into place,
// so a failed write leaves nothing behind.
func (r *Result) Write(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: choose another folder with -o", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".weir-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	names := make([]string, 0, len(r.Files))
	for name := range r.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, r.Files[name], 0o644); err != nil {
			return err
		}
	}
	_ = os.Remove(dir) // an empty folder
	return os.Rename(tmp, dir)
}
