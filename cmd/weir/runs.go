package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// homeDir is where run records and deployments live: --home, $WEIR_HOME
// or the user data folder.
func (a *app) homeDir() (string, error) {
	if a.home != "" {
		return a.home, nil
	}
	dir, err := record.DefaultDir()
	if err != nil {
		return "", fmt.Errorf("find weir's data folder: %w; set --home or WEIR_HOME", err)
	}
	return dir, nil
}

// openStore opens the run record.
func (a *app) openStore() (*record.Store, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return record.Open(dir)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// isTerminal reports whether w is a terminal, where progress is redrawn in
// place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newRuns(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, show and delete the records of batch runs",
		Long: `Every weir batch keeps a record: an index of runs in a SQLite database and a
folder per run holding the flow, each line's inputs, outputs and node
details, metrics.json and a log. weir run --record keeps a single run the
same way, as a run of one line (kind run), and weir serve --record the
requests it serves (kind serve). These commands read and delete them.`,
		Example: `  weir runs list
  weir runs show hello-20261122-101500-3f9a
  weir runs outputs hello-20261122-101500-3f9a -o jsonl`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRunsList(app), newRunsShow(app), newRunsOutputs(app), newRunsDelete(app), newRunsWait(app))
	return cmd
}

func newRunsList(app *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List batch runs, newest first",
		Example: `  weir runs list
  weir runs list -o json`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			store, err := app.openStore()
			if err != nil {
				return err
			}
			defer store.Close()
			runs, err := store.List()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				list := make([]runJSON, len(runs))
				for i, r := range runs {
					list[i] = toRunJSON(r)
				}
				return writeIndented(w, list)
			}
			if len(runs) == 0 {
				fmt.Fprintln(w, "no runs yet: start one with weir batch FLOW --data FILE")
				return nil
			}
			tw := newTable(w)
			fmt.Fprintln(tw, "RUN\tKIND\tNAME\tFLOW\tSTATUS\tSUCCEEDED\tFAILED\tCARRIED\tCREATED\tDURATION")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.ID, r.Kind, cmpDash(r.Name), r.Flow, r.Status,
					r.Succeeded, r.Failed, r.Carried, r.Created.Format("2006-01-02 15:04:05"), runDuration(r))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// runJSON is a run as weir runs list -o json prints it.
type runJSON struct {
	ID          string            `json:"id"`
	Kind        record.Kind       `json:"kind"`
	Name        string            `json:"name,omitempty"`
	Flow        string            `json:"flow"`
	Status      engine.Status     `json:"status"`
	Error       string            `json:"error,omitempty"`
	Succeeded   int               `json:"succeeded"`
	Failed      int               `json:"failed"`
	Carried     int               `json:"carried"`
	Data        string            `json:"data"`
	DataSHA256  string            `json:"data_sha256,omitempty"`
	Map         map[string]string `json:"map,omitempty"`
	ResumedFrom string            `json:"resumed_from,omitempty"`
	BaseRun     string            `json:"base_run,omitempty"`
	Created     time.Time         `json:"created"`
	Ended       *time.Time        `json:"ended,omitempty"`
	Dir         string            `json:"dir"`
}

func toRunJSON(r record.Info) runJSON {
	j := runJSON{ID: r.ID, Kind: r.Kind, Name: r.Name, Flow: r.Flow, Status: r.Status, Error: r.Error, Succeeded: r.Succeeded,
		Failed: r.Failed, Carried: r.Carried, Data: r.Data, DataSHA256: r.DataSHA256, Map: r.Map,
		ResumedFrom: r.ResumedFrom, BaseRun: r.BaseRun, Created: r.Created, Dir: r.Dir}
	if !r.Ended.IsZero() {
		j.Ended = &r.Ended
	}
	return j
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmpDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runDuration(r record.Info) string {
	if r.Ended.IsZero() {
		return "-"
	}
	return r.Ended.Sub(r.Created).Round(time.Millisecond).String()
}

func newRunsShow(app *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show [flags] RUN",
		Short: "Show a batch run: status, counts, latency and each node",
		Example: `  weir runs show hello-20261122-101500-3f9a
  weir runs show -o json hello-20261122-101500-3f9a`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			store, err := app.openStore()
			if err != nil {
				return err
			}
			defer store.Close()
			info, err := store.Get(a[0])
			if err != nil {
				return err
			}
			m, err := store.Metrics(info.ID)
			if err != nil && info.Status != engine.Running && info.Status != engine.Queued && info.Error == "" {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				return writeIndented(w, struct {
					Run     runJSON         `json:"run"`
					Metrics *record.Metrics `json:"metrics,omitempty"`
				}{toRunJSON(info), m})
			}
			return showRun(w, info, m)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// showRun prints a run; m is nil when the run did not finish.
func showRun(w io.Writer, info record.Info, m *record.Metrics) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "run\t%s\n", info.ID)
	if info.Kind != record.KindBatch {
		// A batch is what most runs are.
		fmt.Fprintf(tw, "kind\t%s\n", info.Kind)
	}
	if info.Name != "" {
		fmt.Fprintf(tw, "name\t%s\n", info.Name)
	}
	fmt.Fprintf(tw, "flow\t%s\n", info.Flow)
	fmt.Fprintf(tw, "status\t%s\n", info.Status)
	if info.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", cell(info.Error))
	}
	if info.Data != "" {
		fmt.Fprintf(tw, "data\t%s\n", info.Data)
	}
	if len(info.Map) > 0 {
		pairs := make([]string, 0, len(info.Map))
		for k, v := range info.Map {
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		fmt.Fprintf(tw, "map\t%s\n", strings.Join(pairs, " "))
	}
	if info.ResumedFrom != "" {
		fmt.Fprintf(tw, "resumes\t%s\n", info.ResumedFrom)
	}
	if info.BaseRun != "" {
		fmt.Fprintf(tw, "reads run\t%s\n", info.BaseRun)
	}
	lines := fmt.Sprintf("%d succeeded, %d failed", info.Succeeded, info.Failed)
	if info.Carried > 0 {
		lines += fmt.Sprintf(", %d carried over", info.Carried)
	}
	fmt.Fprintf(tw, "lines\t%s\n", lines)
	fmt.Fprintf(tw, "created\t%s\n", info.Created.Format(time.RFC3339))
	if !info.Ended.IsZero() {
		fmt.Fprintf(tw, "duration\t%s\n", runDuration(info))
	}
	if m != nil && m.Lines.Ran > 0 {
		fmt.Fprintf(tw, "latency\tp50 %s, p95 %s, p99 %s, max %s\n", ms(m.Latency.P50), ms(m.Latency.P95), ms(m.Latency.P99), ms(m.Latency.Max))
		fmt.Fprintf(tw, "rate\t%.0f lines/s\n", m.LinesPerSecond)
	}
	if m != nil && len(m.AggregateNodes) > 0 {
		fmt.Fprintf(tw, "metrics\t%s\n", display(m.Aggregates))
	}
	fmt.Fprintf(tw, "folder\t%s\n", info.Dir)
	if err := tw.Flush(); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	if err := printMetrics(w, m.Metrics); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	// The CACHED column only where some node took outputs from the node
	// cache, and the tokens only for flows whose tools report them: most
	// flows have neither.
	cachedCol, aggCached := "", ""
	if slices.ContainsFunc(m.Nodes, func(n engine.NodeStats) bool { return n.Cached > 0 }) {
		cachedCol, aggCached = "CACHED\t", "-\t"
	}
	tokens := slices.ContainsFunc(m.Nodes, func(n engine.NodeStats) bool { return n.InputTokens+n.OutputTokens > 0 })
	head := "NODE\tRUNS\t" + cachedCol + "FAILED\tBYPASSED\tCANCELED\tP50\tP95\tP99"
	if tokens {
		head += "\tTOKENS IN\tTOKENS OUT"
	}
	fmt.Fprintln(tw, head)
	for _, n := range m.Nodes {
		cached := ""
		if cachedCol != "" {
			cached = fmt.Sprintf("%d\t", n.Cached)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s%d\t%d\t%d\t%s\t%s\t%s", n.Node, n.Runs, cached, n.Failed, n.Bypassed, n.Canceled,
			ms(n.Latency.P50), ms(n.Latency.P95), ms(n.Latency.P99))
		if tokens {
			fmt.Fprintf(tw, "\t%d\t%d", n.InputTokens, n.OutputTokens)
		}
		fmt.Fprintln(tw)
	}
	for _, n := range m.AggregateNodes {
		fmt.Fprintf(tw, "%s (aggregate)\t1\t%s%s\t-\t-\t%s\t-\t-\n", n.Node, aggCached, yesNo(n.Status == engine.Failed), ms(n.Duration))
	}
	return tw.Flush()
}

func yesNo(failed bool) string {
	if failed {
		return "1"
	}
	return "0"
}

func newRunsOutputs(app *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "outputs [flags] RUN",
		Short: "Print the outputs of each line of a batch run",
		Long: `Print each line's status and outputs, or its error, by line of the dataset
(outputs.jsonl has them in the order they ended; a large record is sorted
through a temporary file). -o jsonl prints one JSON object per line, as
outputs.jsonl holds them, with "error_kind" (input, tool or timeout) for a
line that failed.

A record that disagrees with itself (outputs.jsonl shorter than the run's
counts, a line cut off or malformed) prints the lines it can read, then
exits with status 1 and says what is damaged.`,
		Example: `  weir runs outputs hello-20261122-101500-3f9a
  weir runs outputs -o jsonl hello-20261122-101500-3f9a > outputs.jsonl`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "jsonl"); err != nil {
				return err
			}
			store, err := app.openStore()
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := store.Get(a[0]); err != nil {
				return err
			}
			bw := bufio.NewWriter(cmd.OutOrStdout())
			defer bw.Flush()
			var tw *tabwriter.Writer
			if output == "table" {
				tw = newTable(bw)
				fmt.Fprintln(tw, "LINE\tSTATUS\tOUTPUTS OR ERROR")
			}
			for o, err := range store.Outputs(a[0]) {
				if err != nil {
					// Print the lines that could be read, then what is
					// wrong with the rest.
					if tw != nil {
						tw.Flush()
					}
					return err
				}
				if tw == nil {
					if err := writeOutputLine(bw, o); err != nil {
						return err
					}
					continue
				}
				what := display(o.Outputs)
				if o.Status != engine.Succeeded {
					what = cell(why(o.Err))
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\n", o.Line, o.Status, what)
			}
			if tw != nil {
				return tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or jsonl")
	return cmd
}

func writeOutputLine(w io.Writer, o record.Output) error {
	b := []byte(`{"line":`)
	b = strconv.AppendInt(b, int64(o.Line), 10)
	b = append(b, `,"status":`...)
	b = strconv.AppendQuote(b, string(o.Status))
	if o.Status == engine.Succeeded {
		b = append(b, `,"outputs":`...)
		b = append(b, o.Outputs...)
	} else {
		var le *engine.LineError
		errors.As(o.Err, &le)
		msg, _ := json.Marshal(le.Err.Error())
		b = append(b, `,"error":`...)
		b = append(b, msg...)
		if le.Kind != engine.UnknownFailure {
			b = append(append(append(b, `,"error_kind":"`...), le.Kind.String()...), '"')
		}
	}
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

func newRunsDelete(app *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete RUN...",
		Short:   "Delete batch runs and their folders",
		Example: `  weir runs delete hello-20261122-101500-3f9a`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usageError{fmt.Errorf("runs delete takes at least 1 argument, got 0")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			store, err := app.openStore()
			if err != nil {
				return err
			}
			defer store.Close()
			for _, id := range a {
				if err := store.Delete(id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", id)
			}
			return nil
		},
	}
}
