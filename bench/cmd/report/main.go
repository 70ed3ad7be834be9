// Command report runs weir's benchmark commands and writes bench/REPORT.md
// with SVG charts of their figures under bench/report/: Wasm calls against
// raw wazero and Extism, go-plugin against its raw call, the engine's cost
// per node, loading by flow size, serving against prompt flow's figures and
// the arithmetic limit, batches, and work pools.
//
// Each command runs with -json, one after the other so that they do not
// compete for the machine, and its figures are kept beside the charts
// (bench/report/NAME.json): -run none redraws the report from them, -run
// servebench measures one command again. A command that fails (a tool it
// needs is missing) leaves its charts out and the report says why. By
// default the commands run in a short mode, a few minutes in all on two
// cores; -full runs them as the README's figures were taken (about half an
// hour):
//
//	go run ./bench/cmd/report          # or make bench-report
//	go run ./bench/cmd/report -full    # or make bench-report FULL=1
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirflow/weir/bench"
)

// command is a benchmark command as the report runs it.
type command struct {
	name        string
	dir         string // relative to the repository, where go run runs
	short, full []string
}

// pkg is the command's package, as go run takes it in dir.
func (c command) pkg() string {
	if c.dir != "" {
		return "./cmd/" + c.name
	}
	return "./bench/cmd/" + c.name
}

// args are the flags of a run, -json excluded.
func (c command) args(full bool) []string {
	if full {
		return c.full
	}
	return c.short
}

// line is the command as the report shows it, for a reader to run again.
func (c command) line(full bool) string {
	s := "go run " + c.pkg()
	if a := c.args(full); len(a) > 0 {
		s += " " + strings.Join(a, " ")
	}
	if c.dir != "" {
		s = "cd " + c.dir + " && " + s
	}
	return s
}

var commands = []command{
	{name: "wasmbench", dir: "bench/peers", short: []string{"-payloads", "64,1024,4096"}, full: []string{"-payloads", "64,256,1024,4096,16384"}},
	{name: "pluginbench", short: []string{"-rounds", "1"}},
	{name: "weirbench", short: []string{"-nodes", "10,100"}, full: []string{"-nodes", "10,30,100,300,1000"}},
	{name: "loadbench", short: []string{"-rounds", "1", "-nodes", "1000,3000,10000"}, full: []string{"-nodes", "1000,3000,10000,30000"}},
	{name: "servebench", short: []string{"-duration", "5s", "-warmup", "2s"}},
	{name: "batchbench", short: []string{"-quick"}},
	{name: "poolbench", short: []string{"-quick"}},
}

func main() {
	full := flag.Bool("full", false, "run the commands as the README's figures were taken (about half an hour) rather than in short mode")
	runList := flag.String("run", "all", "the commands to run, separated by commas: all, none (redraw from the figures kept), or names such as servebench")
	out := flag.String("out", "", "the folder of REPORT.md, its charts and figures going into report/ under it (default: bench in the repository)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *full, *runList, *out); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, full bool, runList, out string) error {
	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, "bench")
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	chosen, err := choose(runList)
	if err != nil {
		return err
	}
	r := &report{dir: out, failed: map[string]string{}}
	if err := os.MkdirAll(r.chartDir(), 0o755); err != nil {
		return err
	}
	for _, c := range chosen {
		if err := measure(ctx, root, r.figuresFile(c.name), c, full); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(os.Stderr, "report: %s: %v\n", c.name, err)
			r.failed[c.name] = err.Error()
		}
	}
	return r.write()
}

// choose reads -run.
func choose(list string) ([]command, error) {
	switch list {
	case "all":
		return commands, nil
	case "none":
		return nil, nil
	}
	var chosen []command
	for _, name := range strings.Split(list, ",") {
		c, ok := lookup(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("-run: no benchmark command %q", name)
		}
		chosen = append(chosen, c)
	}
	return chosen, nil
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return commands[i], true
}

// measure runs c with -json file, its output passed on; an error ends with
// the last lines the command wrote to its standard error, to say why.
func measure(ctx context.Context, root, file string, c command, full bool) error {
	fmt.Printf("\n== %s\n", c.line(full))
	args := append([]string{"run", c.pkg()}, c.args(full)...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-json", file)...)
	cmd.Dir = filepath.Join(root, c.dir)
	var stderr bytes.Buffer
	cmd.Stdout = os.Stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	// Figures kept from an earlier run must not pass for this one's.
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v%s", c.line(full), err, lastLines(stderr.String(), 3))
	}
	fmt.Printf("== %s took %s\n", c.name, time.Since(start).Round(time.Second))
	return nil
}

// lastLines is the last n lines of s, after a colon, or "".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return ": " + strings.Join(lines[max(len(lines)-n, 0):], " / ")
}
