package python

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// venv is a virtual environment made for one requirements file and
// interpreter; ready closes once it is made, or failed to be.
type venv struct {
	ready  chan struct{}
	python string
	err    error
}

// pipArgs install without asking and fail fast where no package index
// answers: no retries, a short timeout, no check for a newer pip.
var pipArgs = []string{"install", "--retries", "0", "--timeout", "5", "--disable-pip-version-check", "--no-input", "--quiet", "-r"}

// venv returns the interpreter of a virtual environment that sees the
// system's packages (--system-site-packages) and holds those of the
// requirements file, made with base the first time and kept in the cache
// folder under the digest of the file and base's path. Callers asking for
// the same one at once wait for one making of it; a failed making is tried
// again by the next caller.
func (p *Provider) venv(ctx context.Context, base, requirements string) (string, error) {
	req, err := os.ReadFile(requirements)
	if err != nil {
		return "", fmt.Errorf("read requirements: %w", err)
	}
	sum := sha256.Sum256(append([]byte(base+"\x00"), req...))
	key := hex.EncodeToString(sum[:])[:24]
	p.mu.Lock()
	v := p.venvs[key]
	if v == nil {
		v = &venv{ready: make(chan struct{})}
		p.venvs[key] = v
		go func() {
			v.python, v.err = p.makeVenv(base, requirements, key)
			if v.err != nil {
				p.mu.Lock()
				delete(p.venvs, key)
				p.mu.Unlock()
			}
			close(v.ready)
		}()
	}
	p.mu.Unlock()
	select {
	case <-v.ready:
		return v.python, v.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// makeVenv makes the virtual environment of key in a folder of its own
// and renames it into place once pip succeeded, so that a half-made one
// is never used: a weir that finds the folder uses it, and two that make
// it at once keep the first one renamed.
func (p *Provider) makeVenv(base, requirements, key string) (string, error) {
	dir, err := p.cacheDir()
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, "venv", key)
	python := filepath.Join(final, "bin", "python")
	if _, err := os.Stat(python); err == nil {
		return python, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("make a virtual environment: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".tmp-"+key+"-")
	if err != nil {
		return "", fmt.Errorf("make a virtual environment: %w", err)
	}
	defer os.RemoveAll(tmp) // gone by then when renamed
	if out, err := exec.Command(base, "-m", "venv", "--system-site-packages", "--without-pip", tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("make a virtual environment with %s -m venv: %w: %s", base, err, bytes.TrimSpace(out))
	}
	// The venv has no pip of its own (--without-pip, which needs no
	// ensurepip): the system's pip, which it sees, installs into it. Tools
	// are run as python -m and imports, never through the scripts pip
	// writes, whose first lines would name the folder before the rename.
	cmd := exec.Command(filepath.Join(tmp, "bin", "python"), append([]string{"-m", "pip"}, append(pipArgs, requirements)...)...)
	cmd.Env = append(os.Environ(), "PIP_NO_INPUT=1", "PYTHONNOUSERSITE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", pipError(requirements, out, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(python); serr == nil {
			return python, nil // another weir made it first
		}
		return "", fmt.Errorf("make a virtual environment: %w", err)
	}
	return python, nil
}

var (
	// pip's words for a requirement it cannot have.
	noDistribution = regexp.MustCompile(`(?m)(?:No matching distribution found for|Could not find a version that satisfies the requirement) (\S+)`)
	noPip          = regexp.MustCompile(`No module named pip`)
	separators     = regexp.MustCompile(`[-_.]+`)
)

// pipError says which requirement pip could not install, with its line
// in the file: `requirements.txt:3: cannot install "x==1.0": ...`.
func pipError(requirements string, out []byte, err error) error {
	text := string(bytes.TrimSpace(out))
	if noPip.MatchString(text) {
		return fmt.Errorf("install %s: pip is not there to install it: give the interpreter pip (on Debian, the python3-pip package)", filepath.Base(requirements))
	}
	last := lastLine(text)
	if m := noDistribution.FindStringSubmatch(text); m != nil {
		if line, n := requirementLine(requirements, m[1]); n > 0 {
			return fmt.Errorf("%s:%d: cannot install %q: no package index this machine reaches has it (pip: %s)", filepath.Base(requirements), n, line, last)
		}
		return fmt.Errorf("%s: cannot install %q: no package index this machine reaches has it (pip: %s)", filepath.Base(requirements), m[1], last)
	}
	return fmt.Errorf("install %s with pip: %w: %s", filepath.Base(requirements), err, last)
}

// requirementLine finds the line of the requirements file that names the
// requirement pip quoted, and returns it with its number.
func requirementLine(requirements, req string) (string, int) {
	f, err := os.Open(requirements)
	if err != nil {
		return "", 0
	}
	defer f.Close()
	name := strings.ToLower(reqName(req))
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line != "" && !strings.HasPrefix(line, "#") && normalize(reqName(line)) == normalize(name) {
			return line, n
		}
	}
	return "", 0
}

// reqName is the project name a requirement starts with.
func reqName(req string) string {
	end := strings.IndexFunc(req, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	if end < 0 {
		return req
	}
	return req[:end]
}

// normalize compares project names the way pip does: case, and runs of
// -, _ and . are all one.
func normalize(name string) string {
	return strings.ToLower(separators.ReplaceAllString(name, "-"))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
