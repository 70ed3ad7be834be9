package procgroup

import (
	"strings"
	"sync"
)

// Tail keeps the last lines a child process wrote to standard error, for the
// errors that say why it failed. It is safe for concurrent use.
type Tail struct {
	mu      sync.Mutex
	lines   []string // a ring of up to cap(lines)
	next    int
	partial []byte
	onLine  func(string)
}

// maxLine bounds a kept line; a plugin may write megabytes on one.
const maxLine = 1024

func NewTail(n int, onLine func(string)) *Tail {
	return &Tail{lines: make([]string, 0, n), onLine: onLine}
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for rest := p; len(rest) > 0; {
		i := strings.IndexByte(string(rest), '\n')
		chunk := rest
		if i >= 0 {
			chunk = rest[:i]
		}
		if room := maxLine - len(t.partial); room > 0 {
			t.partial = append(t.partial, chunk[:min(len(chunk), room)]...)
		}
		if i < 0 {
			break
		}
		t.push(strings.TrimRight(string(t.partial), "\r"))
		t.partial = t.partial[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (t *Tail) push(line string) {
	if t.onLine != nil {
		t.onLine(line)
	}
	if len(t.lines) < cap(t.lines) {
		t.lines = append(t.lines, line)
		return
	}
	if cap(t.lines) == 0 {
		return
	}
	t.lines[t.next] = line
	t.next = (t.next + 1) % len(t.lines)
}

// Lines returns the kept lines, oldest first, with an unfinished last line.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.lines)+1)
	out = append(out, t.lines[t.next:]...)
	out = append(out, t.lines[:t.next]...)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
	}
	return out
}

// String is the kept lines for an error message: "; its last lines of
// stderr:" and the lines indented, or "; it wrote nothing to stderr".
func (t *Tail) String() string {
	lines := t.Lines()
	if len(lines) == 0 {
		return "; it wrote nothing to stderr"
	}
	return "; its last lines of stderr:\n\t" + strings.Join(lines, "\n\t")
}
