package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/internal/jsonscan"
)

func newRun(app *app) *cobra.Command {
	var (
		pairs      []string
		inputsFile string
		output     string
		keep       bool
	)
	cmd := &cobra.Command{
		Use:   "run [flags] FLOW",
		Short: "Run a flow once",
		Long: `Run a flow once and print its outputs and what each node did. FLOW is a
flow file, or a folder holding one named flow.cue (or flow.yaml, flow.yml,
flow.json).

Inputs come from --inputs (a JSON object in a file, or - for stdin), then
from each --input name=value. A value is taken as text when the input is a
string, and as JSON otherwise (--input times=2, --input tags='["a","b"]').

--record keeps the run in the run record, as a run of one line (kind run)
with what each node got and returned, secrets redacted: weir runs show RUN
shows it, and the inspector draws it. Its id goes to stderr.`,
		Example: `  weir run examples/hello/flow.cue --input name=Ada
  weir run examples/hello/flow.cue --input name=Ada --input loud=true -o json`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			path, err := flowFile(a[0])
			if err != nil {
				return err
			}
			f, closeAll, err := app.loadFlow(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer closeAll()
			inputs, err := readInputs(f, inputsFile, pairs, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if !keep {
				res, runErr := f.Run(cmd.Context(), inputs)
				return printRun(cmd.OutOrStdout(), output, res, runErr)
			}
			res, runErr := f.RunWith(cmd.Context(), inputs, engine.RunOptions{NodeValues: engine.AllNodeValues})
			id, err := app.recordRun(f, res, runErr)
			if err != nil {
				return errors.Join(printRun(cmd.OutOrStdout(), output, res, runErr), err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "run %s recorded: weir runs show %s\n", id, id)
			return printRun(cmd.OutOrStdout(), output, res, runErr)
		},
	}
	cmd.Flags().StringArrayVar(&pairs, "input", nil, "an input as name=value (repeatable)")
	cmd.Flags().StringVar(&inputsFile, "inputs", "", "a JSON file holding the inputs object (- for stdin)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&keep, "record", false, "keep the run in the run record, with each node's inputs and outputs (see weir runs)")
	noCacheFlag(cmd, app)
	return cmd
}

// recordRun keeps a run in the run record, as a run of one line, and
// returns its id.
func (a *app) recordRun(f *engine.Flow, res *engine.Result, runErr error) (string, error) {
	store, err := a.openStore()
	if err != nil {
		return "", fmt.Errorf("record the run: %w", err)
	}
	defer store.Close()
	l, err := store.StartLines(f, record.Meta{Kind: record.KindRun})
	if err != nil {
		return "", fmt.Errorf("record the run: %w", err)
	}
	_, addErr := l.Add(res, runErr)
	if err := errors.Join(addErr, l.Finish()); err != nil {
		return "", fmt.Errorf("record run %s: %w", l.ID(), err)
	}
	return l.ID(), nil
}

// printRun prints what a run did as -o says: its outputs, and in a table
// what each node did; it returns the run's error.
func printRun(w io.Writer, output string, res *engine.Result, runErr error) error {
	var inErr *engine.InputError
	if res == nil || errors.As(runErr, &inErr) {
		return runErr // nothing ran: no table to show
	}
	if output == "json" {
		if runErr == nil {
			return printJSON(w, res.Outputs)
		}
		return runErr
	}
	printTable(w, res)
	return runErr
}

// readInputs merges the inputs file and the name=value pairs into one JSON
// object, typing each value by the input it is for. Values keep the bytes
// they were written in (numbers beyond a float64's precision, characters
// such as <), and names keep their order, the file's first: they reach
// the flow as the user wrote them.
func readInputs(f *engine.Flow, file string, pairs []string, stdin io.Reader) (json.RawMessage, error) {
	in, err := readInputsFile(file, stdin)
	if err != nil {
		return nil, err
	}
	types := map[string][]string{}
	for _, in := range f.Inputs() {
		types[in.Name] = in.Types
	}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, usageError{fmt.Errorf("--input %q: write name=value", p)}
		}
		t, declared := types[name]
		switch {
		case !declared && len(types) == 0:
			return nil, usageError{fmt.Errorf("--input %q: the flow takes no inputs", p)}
		case !declared:
			names := make([]string, 0, len(types))
			for n := range types {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, usageError{fmt.Errorf("--input %q: the flow has no input %q (inputs: %s)", p, name, strings.Join(names, ", "))}
		}
		in.set(name, typedValue(value, t))
	}
	return in.encode(), nil
}

// readInputsFile reads the inputs object of --inputs: file, or stdin for
// -; none for "".
func readInputsFile(file string, stdin io.Reader) (inputsObject, error) {
	var in inputsObject
	if file == "" {
		return in, nil
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return in, fmt.Errorf("read inputs: %w", err)
	}
	if err := checkObject(data); err != nil {
		return in, fmt.Errorf("read inputs %s: not a JSON object: %w", file, err)
	}
	for key, val := range jsonscan.Members(data) {
		in.set(string(jsonscan.AppendText(nil, key)), val)
	}
	return in, nil
}

// inputsObject is a JSON object being put together, in the order its
// names were first set.
type inputsObject struct {
	names []string
	vals  [][]byte
}

// set sets name to the encoded value val; a name set again keeps its
// place and takes the later value, as encoding/json would.
func (o *inputsObject) set(name string, val []byte) {
	if i := slices.Index(o.names, name); i >= 0 {
		o.vals[i] = val
		return
	}
	o.names = append(o.names, name)
	o.vals = append(o.vals, val)
}

func (o *inputsObject) encode() json.RawMessage {
	b := []byte{'{'}
	for i, name := range o.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonscan.AppendString(b, name)
		b = append(b, ':')
		b = append(b, o.vals[i]...)
	}
	return append(b, '}')
}

// checkObject says what is wrong with data when it is not one JSON object,
// naming the JSON type it holds rather than Go types.
func checkObject(data []byte) error {
	if !json.Valid(data) {
		var v any
		return json.Unmarshal(data, &v) // the syntax error
	}
	if k := jsonscan.TypePhrase(data); k != "an object" {
		return fmt.Errorf("got %s", k)
	}
	return nil
}

// typedValue reads value as text for a string input, else as JSON when it
// is JSON, so that a mistyped value reaches the flow's type check intact.
func typedValue(value string, types []string) []byte {
	if !slices.Equal(types, []string{"string"}) && json.Valid([]byte(value)) {
		return []byte(value)
	}
	return jsonscan.AppendString(nil, value)
}

// printJSON prints the encoded object raw indented, its bytes otherwise
// as they are: in the flow's order, numbers as the tools wrote them.
func printJSON(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func printTable(w io.Writer, res *engine.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(res.Outputs) > 0 {
		fmt.Fprintln(tw, "OUTPUT\tVALUE")
		for name, val := range jsonscan.Members(res.Outputs) {
			fmt.Fprintf(tw, "%s\t%s\n", jsonscan.AppendText(nil, name), display(val))
		}
		fmt.Fprintln(tw)
	}
	// Tokens only for flows whose tools report them.
	tokens := slices.ContainsFunc(res.Nodes, func(n engine.NodeResult) bool { return n.Usage != nil })
	head := "NODE\tTOOL\tSTATUS\tATTEMPTS\tDURATION"
	if tokens {
		head += "\tTOKENS IN\tTOKENS OUT"
	}
	fmt.Fprintln(tw, head+"\tERROR")
	for _, n := range res.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s", n.Node, n.Tool, nodeStatus(n), n.Attempts, n.Duration.Round(time.Microsecond))
		if tokens && n.Usage != nil {
			fmt.Fprintf(tw, "\t%d\t%d", n.Usage.InputTokens, n.Usage.OutputTokens)
		} else if tokens {
			fmt.Fprint(tw, "\t-\t-")
		}
		fmt.Fprintf(tw, "\t%s\n", cell(n.Error))
	}
	_ = tw.Flush()
}

// display shows a string output as its text and anything else as compact
// JSON, on one line: see cell.
func display(raw json.RawMessage) string {
	var s string
	if string(raw) == "null" || json.Unmarshal(raw, &s) != nil {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return string(raw)
		}
		return buf.String()
	}
	return cell(s)
}

// cell returns s for a cell of a table: as it is, or as a JSON string when
// it holds line breaks, tabs or other control characters, so that it stays
// on its row.
func cell(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return string(jsonscan.AppendString(nil, s))
}
