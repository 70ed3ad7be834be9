// Package makehint finds the make command that builds a missing file, so
// that an error about a plugin file that was never built can say how to
// build it (examples/mixed needs make plugins first).
//
// It reads Makefiles, it never runs make: a Makefile is searched from the
// file's folder up to the root, and the first with a rule for the file
// wins. Variables set with =, :=, ::=, ?= and += are expanded; make's
// functions ($(shell ...), $(wildcard ...)) expand to nothing, so a target
// named only through one of them is not found.
package makehint

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Hint returns " (build it with: make plugins)" when no file is at path and
// a Makefile up its folders builds it, and "" otherwise: for the end of an
// error that failed to open the file.
func Hint(path string) string {
	if path == "" {
		return ""
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if cmd := Command(path); cmd != "" {
		return " (build it with: " + cmd + ")"
	}
	return ""
}

// makefiles are the names GNU make looks for, in its order.
var makefiles = []string{"GNUmakefile", "makefile", "Makefile"}

// Command returns the make command, to run from the working folder, that
// builds the file at path, or "" when no Makefile up path's folders has a
// rule for it. It prefers a phony target that depends on the file (make
// plugins) to the file's own rule (make examples/plugins/text/text.wasm).
func Command(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for dir := filepath.Dir(abs); ; {
		for _, name := range makefiles {
			src, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			rel, err := filepath.Rel(dir, abs)
			if err != nil {
				break
			}
			if target, ok := parse(src).builds(filepath.ToSlash(rel)); ok {
				return command(dir, target)
			}
			break // make reads only the first of its names
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// command writes make target, run in dir, as a command for the working
// folder; target is "" for the Makefile's default goal.
func command(dir, target string) string {
	cmd := "make"
	if wd, err := os.Getwd(); err == nil && wd != dir {
		rel, err := filepath.Rel(wd, dir)
		if err != nil {
			rel = dir
		}
		cmd += " -C " + rel
	}
	if target != "" {
		cmd += " " + target
	}
	return cmd
}

// rule is one rule of a Makefile, its names expanded.
type rule struct {
	targets, prereqs []string
}

// makefile is what builds reads of a Makefile.
type makefile struct {
	rules []rule
	phony []string
}

var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]*)\s*(:=|::=|\?=|\+=|=)\s*(.*)$`)

// parse reads the rules of a Makefile, expanding variables as they are
// set above each rule.
func parse(src []byte) *makefile {
	m := &makefile{}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	var line string
	for sc.Scan() {
		text := sc.Text()
		if strings.HasPrefix(text, "\t") && line == "" {
			continue // a recipe
		}
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line += cont + " "
			continue
		}
		line += text
		text, line = line, ""
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		if a := assignment.FindStringSubmatch(strings.TrimSpace(text)); a != nil {
			value := strings.TrimSpace(a[3])
			switch a[2] {
			case ":=", "::=":
				value = expand(value, vars, 0)
			case "?=":
				if _, set := vars[a[1]]; set {
					continue
				}
			case "+=":
				value = strings.TrimSpace(vars[a[1]] + " " + value)
			}
			vars[a[1]] = value
			continue
		}
		targets, prereqs, ok := strings.Cut(text, ":")
		if !ok || strings.HasPrefix(text, "\t") {
			continue
		}
		prereqs = strings.TrimPrefix(prereqs, ":") // a double-colon rule
		if i := strings.IndexByte(prereqs, ';'); i >= 0 {
			prereqs = prereqs[:i] // a recipe on the rule's line
		}
		if strings.Contains(prereqs, "=") {
			continue // a target-specific variable
		}
		r := rule{strings.Fields(expand(targets, vars, 0)), strings.Fields(expand(prereqs, vars, 0))}
		if slices.Equal(r.targets, []string{".PHONY"}) {
			m.phony = append(m.phony, r.prereqs...)
			continue
		}
		m.rules = append(m.rules, r)
	}
	return m
}

// builds returns the target that builds the file rel (slash-separated,
// relative to the Makefile's folder): a phony target that depends on it,
// else rel itself; "" stands for the default goal. ok is false when no
// rule makes rel.
func (m *makefile) builds(rel string) (target string, ok bool) {
	made := false
	for _, r := range m.rules {
		for _, t := range r.targets {
			if t == rel || t == "./"+rel || matches(t, rel) {
				made = true
			}
		}
	}
	if !made {
		return "", false
	}
	for i, r := range m.rules {
		if !slices.Contains(r.prereqs, rel) && !slices.Contains(r.prereqs, "./"+rel) {
			continue
		}
		for _, t := range r.targets {
			if slices.Contains(m.phony, t) {
				if i == 0 && len(r.targets) == 1 {
					return "", true // make alone builds the default goal
				}
				return t, true
			}
		}
	}
	return rel, true
}

// matches reports whether the pattern target (one %) matches name.
func matches(pattern, name string) bool {
	prefix, suffix, ok := strings.Cut(pattern, "%")
	return ok && len(name) > len(prefix)+len(suffix) && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix)
}

// expand replaces $(NAME) and ${NAME} in s with the variables' values;
// make's functions and unknown variables expand to nothing.
func expand(s string, vars map[string]string, depth int) string {
	if depth > 10 || !strings.Contains(s, "$") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			out.WriteByte(s[i])
			continue
		}
		open := s[i+1]
		if open == '$' {
			out.WriteByte('$')
			i++
			continue
		}
		closer := map[byte]byte{'(': ')', '{': '}'}[open]
		if closer == 0 {
			i++ // $X, a one-letter variable: make's automatic ones have no value here
			continue
		}
		// Find the matching closer, counting nested references.
		level, j := 0, i+1
		for ; j < len(s); j++ {
			switch s[j] {
			case open:
				level++
			case closer:
				level--
			}
			if level == 0 {
				break
			}
		}
		if j == len(s) {
			out.WriteString(s[i:])
			break
		}
		name := s[i+2 : j]
		if !strings.ContainsAny(name, " \t,") { // not a function call
			out.WriteString(expand(vars[expand(name, vars, depth+1)], vars, depth+1))
		}
		i = j
	}
	return out.String()
}
