// Command testreport runs go test with -json and prints what go test
// prints without it (a line per package, and the output of the tests that
// failed), then every test that skipped, with its reason. make test runs
// it, so that a test skipped for want of Docker, sshd or clang is seen at
// the end of the run, not lost in it:
//
//	go run ./internal/testreport go test -json -race ./...
//
// Its exit status is go test's.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command args, which writes go test's JSON to its stdout,
// writes the report to stdout, and returns the command's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || !slices.Contains(args, "-json") {
		fmt.Fprintln(stderr, "usage: testreport go test -json [flags] [packages]")
		return 2
	}
	// Ctrl-C reaches go test too: wait for it to stop, and report what ran.
	signal.Ignore(os.Interrupt)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testreport:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testreport:", err)
		return 2
	}
	r := newReport(stdout)
	readErr := r.read(out)
	err = cmd.Wait()
	r.summary()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = max(exit.ExitCode(), 1) // -1 when a signal ended it
	case err != nil:
		fmt.Fprintln(stderr, "testreport:", err)
		code = 1
	case readErr != nil:
		fmt.Fprintln(stderr, "testreport: read go test's output:", readErr)
		code = 1
	}
	if code != 0 {
		fmt.Fprintln(stdout, "FAIL") // as go test ends a failed run
	}
	return code
}

// event is a line of go test -json (see go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is a test that skipped, and what it logged.
type skip struct {
	pkg, test string
	reason    []string
}

// report turns go test's events back into its usual output.
type report struct {
	w       io.Writer
	pkgs    map[string][]string // each package's own output, and that of its failed tests
	tests   map[[2]string][]string
	skipped []skip
}

func newReport(w io.Writer) *report {
	return &report{w: w, pkgs: map[string][]string{}, tests: map[[2]string][]string{}}
}

// read handles each line of r, passing on those that are not events.
func (r *report) read(in io.Reader) error {
	br := bufio.NewReader(in)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var e event
			if line[0] != '{' || json.Unmarshal(line, &e) != nil {
				_, _ = r.w.Write(line)
			} else {
				r.handle(e)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// framing reports whether a line of test output only says that a test
// started, paused or went on, which go test shows only with -v.
func framing(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func (r *report) handle(e event) {
	key := [2]string{e.Package, e.Test}
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.w, e.Output)
	case e.Action == "output" && e.Test != "":
		if !framing(e.Output) {
			r.tests[key] = append(r.tests[key], e.Output)
		}
	case e.Action == "output":
		r.pkgs[e.Package] = append(r.pkgs[e.Package], e.Output)
	case e.Test != "" && e.Action == "skip":
		var reason []string
		for _, l := range r.tests[key] {
			if !strings.HasPrefix(strings.TrimSpace(l), "--- SKIP:") {
				reason = append(reason, strings.TrimRight(l, "\n"))
			}
		}
		r.skipped = append(r.skipped, skip{e.Package, e.Test, reason})
		delete(r.tests, key)
	case e.Test != "" && e.Action == "pass":
		delete(r.tests, key)
	case e.Test != "" && e.Action == "fail":
		// As go test prints it: the --- FAIL line first, then what the
		// test logged, with its subtests indented under it.
		lines := r.tests[key]
		if n := len(lines); n > 0 && strings.HasPrefix(lines[n-1], "--- FAIL:") {
			lines = slices.Concat(lines[n-1:], lines[:n-1])
		}
		delete(r.tests, key)
		if i := strings.LastIndexByte(e.Test, '/'); i >= 0 {
			parent := [2]string{e.Package, e.Test[:i]}
			for _, l := range lines {
				r.tests[parent] = append(r.tests[parent], "    "+l)
			}
			break
		}
		r.pkgs[e.Package] = append(r.pkgs[e.Package], lines...)
	case e.Action == "pass" || e.Action == "skip":
		// A package that passed shows its last line only: ok, or ? for
		// one without tests.
		if lines := r.pkgs[e.Package]; len(lines) > 0 {
			fmt.Fprint(r.w, lines[len(lines)-1])
		}
		r.done(e.Package)
	case e.Action == "fail":
		lines := r.pkgs[e.Package]
		// The output of tests that never ended (a panic, a timeout) goes
		// before the package's last line.
		var running [][2]string
		for k := range r.tests {
			if k[0] == e.Package {
				running = append(running, k)
			}
		}
		slices.SortFunc(running, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
		var left []string
		for _, k := range running {
			left = append(left, r.tests[k]...)
		}
		if n := len(lines); n > 0 {
			lines = slices.Concat(lines[:n-1], left, lines[n-1:])
		} else {
			lines = left
		}
		fmt.Fprint(r.w, strings.Join(lines, ""))
		r.done(e.Package)
	}
}

// done forgets what was kept of a package that ended.
func (r *report) done(pkg string) {
	delete(r.pkgs, pkg)
	for k := range r.tests {
		if k[0] == pkg {
			delete(r.tests, k)
		}
	}
}

// maxReason is how many lines of a skipped test's output the summary shows.
const maxReason = 6

// summary lists the tests that skipped, by package and name.
func (r *report) summary() {
	if len(r.skipped) == 0 {
		return
	}
	slices.SortFunc(r.skipped, func(a, b skip) int {
		return strings.Compare(a.pkg+"\x00"+a.test, b.pkg+"\x00"+b.test)
	})
	n := "1 test"
	if len(r.skipped) > 1 {
		n = fmt.Sprintf("%d tests", len(r.skipped))
	}
	fmt.Fprintf(r.w, "\n%s skipped:\n", n)
	for _, s := range r.skipped {
		fmt.Fprintf(r.w, "--- SKIP: %s %s\n", s.pkg, s.test)
		reason := s.reason
		if len(reason) == 0 {
			reason = []string{"    (no reason given)"}
		}
		if len(reason) > maxReason {
			reason = append(reason[:maxReason-1:maxReason-1], fmt.Sprintf("    (%d more lines)", len(reason)-maxReason+1))
		}
		fmt.Fprintln(r.w, strings.Join(reason, "\n"))
	}
}
