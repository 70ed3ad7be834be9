package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/weirflow/weir/bench/figures"
)

// report is REPORT.md as it is written, section by section.
type report struct {
	dir    string            // of REPORT.md; charts and figures in report/ under it
	failed map[string]string // why a command that ran has no figures
	md     strings.Builder
}

func (r *report) chartDir() string { return filepath.Join(r.dir, "report") }

func (r *report) figuresFile(command string) string {
	return filepath.Join(r.chartDir(), command+".json")
}

// write draws every section's charts and writes REPORT.md.
func (r *report) write() error {
	r.md.WriteString("# weir benchmark report\n\n" +
		"Written by `make bench-report` (bench/cmd/report), which runs each benchmark command with `-json`, one after the other: " +
		"in short mode by default (small counts, short runs: the shape of the figures, in a few minutes), " +
		"and as the README's figures are taken with `make bench-report FULL=1`. " +
		"Each section says the command and flags its figures come from; they are kept in [report/](report/) beside the charts, " +
		"and `go run ./bench/cmd/report -run none` draws them again. " +
		"On a shared machine absolute times drift by 10 to 20% between runs, but ratios taken in one run hold: read the charts as ratios. " +
		"Each chart says the machine, the date of its figures and the machine's load average when they were taken; " +
		"the README's Performance section says what each scenario is for.\n")
	for _, s := range []struct {
		title, command string
		render         func() error
	}{
		{"Wasm tool calls", "wasmbench", r.wasm},
		{"go-plugin tools", "pluginbench", r.goplugin},
		{"The engine's cost per node", "weirbench", r.engine},
		{"Loading flows", "loadbench", r.load},
		{"Serving", "servebench", r.serve},
		{"Batches", "batchbench", r.batch},
		{"Work pools", "poolbench", r.pool},
	} {
		fmt.Fprintf(&r.md, "\n## %s\n\n", s.title)
		if err := s.render(); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(r.dir, "REPORT.md"), []byte(r.md.String()), 0o644)
}

// figures reads a command's figures into v and says how they were
// measured; when there are none, it says why in the report and returns
// false.
func (r *report) figures(command string, v any) bool {
	var h figures.Header
	err := figures.Read(r.figuresFile(command), v)
	if err == nil {
		err = figures.Read(r.figuresFile(command), &h)
	}
	if err != nil {
		why, ok := r.failed[command]
		switch {
		case ok:
			why = oneLine(why)
		case errors.Is(err, os.ErrNotExist):
			why = fmt.Sprintf("no figures in report/%s.json: run `go run ./bench/cmd/report -run %s`", command, command)
		default:
			why = oneLine(err.Error())
		}
		fmt.Fprintf(&r.md, "Not measured on this machine: %s\n", why)
		return false
	}
	c, _ := lookup(command)
	c.short = h.Args
	fmt.Fprintf(&r.md, "Measured with `%s` on %s.\n\n", c.line(false), h.Machine)
	return true
}

// chart draws a chart into report/file and shows it with its caption.
func (r *report) chart(file, alt, caption string, draw func(w io.Writer) error) error {
	var b bytes.Buffer
	if err := draw(&b); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.chartDir(), file), b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(&r.md, "![%s](report/%s)\n\n%s\n\n", alt, file, caption)
	return nil
}

// table writes a markdown table, its first column left-aligned and the
// others, figures, right-aligned.
func (r *report) table(header []string, rows [][]string) {
	r.md.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i == 0 {
			r.md.WriteString(" --- |")
		} else {
			r.md.WriteString(" ---: |")
		}
	}
	r.md.WriteString("\n")
	for _, row := range rows {
		r.md.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	r.md.WriteString("\n")
}

// oneLine keeps a command's error to one line of the report.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "'")), " ")
}

func µs(ns float64) string { return fmt.Sprintf("%.2f µs", ns/1e3) }

func ms(ns int64) string { return fmt.Sprintf("%.0f ms", float64(ns)/1e6) }

func mib(b int64) string {
	if b <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func num(v float64) string { return fmt.Sprintf("%.0f", v) }

func ratio(v float64) string { return fmt.Sprintf("%.2fx", v) }
