package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/testbuild"
)

// The tests run in cmd/weir: the examples are two folders up, the flows made
// for these tests are in testdata.
const (
	hello    = "../../examples/hello/flow.cue"
	pipeline = "../../examples/pipeline/flow.cue"
	hint     = "Run 'weir --help' for usage.\n"
)

// usage is what a usage error of the command path ends with: usage("run")
// is "Run 'weir run --help' for usage.\n". A usage error of weir itself ends
// with hint.
func usage(path string) string { return "Run 'weir " + path + " --help' for usage.\n" }

// TestMain keeps compiled Wasm modules in a folder of the test run, and
// builds the example plugin that the hello flow uses, as make plugins does,
// when it is missing or older than its sources.
func TestMain(m *testing.M) {
	cache, err := os.MkdirTemp("", "weir-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("WEIR_CACHE_DIR", cache)
	if _, err := testbuild.NativePlugin("../.."); err != nil {
		fmt.Fprintln(os.Stderr, "build the native plugin, which examples/mixed uses:", err)
		os.Exit(1)
	}
	if _, err := testbuild.TextPlugin("../.."); err != nil {
		fmt.Fprintln(os.Stderr, "build the text plugin, which examples/hello uses:", err)
		os.Exit(1)
	}
	// Compile the plugin into the cache once, before the tests that use it
	// start at once and would each compile it, which takes a while under
	// -race.
	if code := execute([]string{"plugin", "describe", textWasm}, nil, io.Discard, os.Stderr); code != 0 {
		os.Exit(code)
	}
	code := m.Run()
	os.RemoveAll(cache)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// textWasm is the Go example plugin, which the hello flow uses.
const textWasm = "../../examples/plugins/text/text.wasm"

// result is what one command line did.
type result struct {
	code           int
	stdout, stderr string
}

// weir runs the command line args in-process with stdin as its input.
func weir(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	code := execute(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// commandCase is one command line and everything it must print.
type commandCase struct {
	name   string
	args   []string
	stdin  string
	code   int
	stdout string
	stderr string
	// bug, when set, says why the command does not do what the case wants
	// yet: the case is skipped while it fails and fails once it passes, so
	// that whoever fixes the bug removes the note.
	bug string
}

func runCases(t *testing.T, cases []commandCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := weir(t, tc.stdin, tc.args...)
			want := result{tc.code, tc.stdout, tc.stderr}
			if tc.bug != "" {
				if got != want {
					t.Skipf("bug: %s\ngot:  %#v\nwant: %#v", tc.bug, got, want)
				}
				t.Fatalf("the bug %q seems fixed: remove the note", tc.bug)
			}
			assert.Equal(t, tc.stdout, got.stdout, "stdout")
			assert.Equal(t, tc.stderr, got.stderr, "stderr")
			assert.Equal(t, tc.code, got.code, "exit code")
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	runCases(t, []commandCase{
		{
			name:   "valid flow",
			args:   []string{"validate", hello},
			stdout: hello + `: ok: flow "hello", 2 nodes` + "\n",
		},
		{
			name:   "the flow of a folder",
			args:   []string{"validate", "../../examples/hello"},
			stdout: hello + `: ok: flow "hello", 2 nodes` + "\n",
		},
		{
			name:   "sub-flow",
			args:   []string{"validate", pipeline},
			stdout: pipeline + `: ok: flow "pipeline", 5 nodes` + "\n",
		},
		{
			name:   "cycle",
			args:   []string{"validate", "testdata/cycle.cue"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name: "every problem at once",
			args: []string{"validate", "testdata/problems.cue"},
			code: 1,
			stderr: `testdata/problems.cue:5:65: node "a": input "x": ${inputs.txt}: the flow has no input "txt" (inputs: text); did you mean "text"?
testdata/problems.cue:6:65: node "b": input "x": ${aa.output.text}: unknown node "aa"; did you mean "a"?
testdata/problems.cue:7:2: cycle: c -> c: a node cannot use its own output
testdata/problems.cue:8:12: node "d": unknown tool "builtin.nope" (plugin builtin has: builtin.http, builtin.json, builtin.llm, builtin.prompt, builtin.sleep, builtin.stats, builtin.template)
testdata/problems.cue:10:14: output "v": ${a.output.txt}: no field "txt" in the outputs of tool builtin.template (fields: text); did you mean "text"?
`,
		},
		{
			name:   "no such file",
			args:   []string{"validate", "testdata/missing.cue"},
			code:   1,
			stderr: "weir: read flow: open testdata/missing.cue: no such file or directory\n",
		},
		{
			name:   "one node",
			args:   []string{"validate", "testdata/slow.cue"},
			stdout: `testdata/slow.cue: ok: flow "slow", 1 node` + "\n",
		},
		{
			// run and graph check the flow the same way before they do anything.
			name:   "run refuses a cycle",
			args:   []string{"run", "testdata/cycle.cue"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name:   "graph refuses a cycle",
			args:   []string{"graph", "testdata/cycle.cue"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
	})
}

func TestRun(t *testing.T) {
	t.Parallel()
	const timedOut = `weir: node "nap" (tool builtin.sleep, plugin builtin): timed out after 20ms` + "\n"
	runCases(t, []commandCase{
		{
			name:   "json",
			args:   []string{"run", hello, "--input", "name=Ada", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "a folder without a flow",
			args:   []string{"run", "testdata"},
			code:   1,
			stderr: "weir: read flow: testdata is a folder with no flow file (flow.cue, flow.yaml, flow.yml, flow.json)\n",
		},
		{
			name:   "flags before the flow",
			args:   []string{"run", "-o", "json", "--input", "name=Ada", hello},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "long output flag",
			args:   []string{"run", hello, "--input", "name=Ada", "--output=json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "bool input",
			args:   []string{"run", hello, "--input", "name=Ada", "--input", "loud=true", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": \"HELLO, ADA!\"\n}\n",
		},
		{
			name:   "inputs file",
			args:   []string{"run", hello, "--inputs", "testdata/inputs.json", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": \"HELLO, ADA!\"\n}\n",
		},
		{
			name:   "--input wins over the inputs file",
			args:   []string{"run", hello, "--input", "loud=false", "--inputs", "testdata/inputs.json", "--input", "name=Bo", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Bo!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "the last --input wins",
			args:   []string{"run", hello, "--input", "name=Ada", "--input", "name=Bo", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, Bo!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "inputs from stdin",
			args:   []string{"run", hello, "--inputs", "-", "-o", "json"},
			stdin:  `{"name": "Ada"}`,
			stdout: "{\n  \"message\": \"Hello, Ada!\",\n  \"shouted\": null\n}\n",
		},
		{
			name:   "stdin not JSON",
			args:   []string{"run", hello, "--inputs", "-"},
			stdin:  `{"name": "Ada"`,
			code:   1,
			stderr: "weir: read inputs -: not a JSON object: unexpected end of JSON input\n",
		},
		{
			name:   "inputs file not an object",
			args:   []string{"run", hello, "--inputs", "testdata/array.json"},
			code:   1,
			stderr: "weir: read inputs testdata/array.json: not a JSON object: got an array\n",
		},
		{
			name:   "null inputs",
			args:   []string{"run", hello, "--inputs", "-", "--input", "name=Ada"},
			stdin:  "null",
			code:   1,
			stderr: "weir: read inputs -: not a JSON object: got null\n",
		},
		{
			name:   "a string for inputs",
			args:   []string{"run", hello, "--inputs", "-"},
			stdin:  ` "name=Ada"`,
			code:   1,
			stderr: "weir: read inputs -: not a JSON object: got a string\n",
		},
		{
			name:   "no inputs file",
			args:   []string{"run", hello, "--inputs", "testdata/missing.json"},
			code:   1,
			stderr: "weir: read inputs: open testdata/missing.json: no such file or directory\n",
		},
		{
			name:   "unknown field in the inputs file",
			args:   []string{"run", hello, "--inputs", "-"},
			stdin:  `{"nam": "Ada"}`,
			code:   1,
			stderr: `weir: flow "hello": invalid inputs: nam: unknown field (allowed: loud, name); name: is required` + "\n",
		},
		{
			name:   "int input stays a number, string input stays text",
			args:   []string{"run", "testdata/typed.cue", "--input", "n=3", "--input", "s=3", "-o", "json"},
			stdout: "{\n  \"n\": 3,\n  \"s\": \"3\"\n}\n",
		},
		{
			name:   "text is taken as it is",
			args:   []string{"run", "testdata/typed.cue", "--input", "n=3", "--input", `s="a=b"`, "-o", "json"},
			stdout: "{\n  \"n\": 3,\n  \"s\": \"\\\"a=b\\\"\"\n}\n",
		},
		{
			name:   "JSON words for a string input are text",
			args:   []string{"run", hello, "--input", "name=null", "--input", "loud=false", "-o", "json"},
			stdout: "{\n  \"message\": \"Hello, null!\",\n  \"shouted\": null\n}\n",
		},
		{
			name: "enum input",
			args: []string{"run", pipeline, "--input", "title=hi", "--input", "text= there ", "--input", "mode=full", "-o", "json"},
			stdout: `{
  "page": "# HI\n\nthere\n\ndetails: {\"mode\":\"full\",\"text\":\"there\"}",
  "details": {
    "mode": "full",
    "text": "there"
  }
}
`,
		},
		{
			name:   "text for an int input",
			args:   []string{"run", "testdata/typed.cue", "--input", "n=x", "--input", "s=x"},
			code:   1,
			stderr: `weir: flow "typed": invalid inputs: n: must be an integer, got string` + "\n",
		},
		{
			name:   "fraction for an int input",
			args:   []string{"run", "testdata/typed.cue", "--input", "n=3.5", "--input", "s=x"},
			code:   1,
			stderr: `weir: flow "typed": invalid inputs: n: must be an integer, got 3.5` + "\n",
		},
		{
			name:   "text for a bool input",
			args:   []string{"run", hello, "--input", "name=Ada", "--input", "loud=yes"},
			code:   1,
			stderr: `weir: flow "hello": invalid inputs: loud: must be a boolean, got string` + "\n",
		},
		{
			name:   "missing input",
			args:   []string{"run", hello},
			code:   1,
			stderr: `weir: flow "hello": invalid inputs: name: is required` + "\n",
		},
		{
			name:   "empty input the flow forbids",
			args:   []string{"run", hello, "--input", "name="},
			code:   1,
			stderr: `weir: flow "hello": invalid inputs: name: must not be ""` + "\n",
		},
		{
			name:   "unknown input",
			args:   []string{"run", hello, "--input", "nam=Ada"},
			code:   2,
			stderr: `weir: --input "nam=Ada": the flow has no input "nam" (inputs: loud, name)` + "\n" + usage("run"),
		},
		{
			name:   "input for a flow without inputs",
			args:   []string{"run", "testdata/slow.cue", "--input", "x=1"},
			code:   2,
			stderr: `weir: --input "x=1": the flow takes no inputs` + "\n" + usage("run"),
		},
		{
			name:   "input without a value",
			args:   []string{"run", hello, "--input", "name"},
			code:   2,
			stderr: `weir: --input "name": write name=value` + "\n" + usage("run"),
		},
		{
			name:   "input without a name",
			args:   []string{"run", hello, "--input", "=Ada"},
			code:   2,
			stderr: `weir: --input "=Ada": write name=value` + "\n" + usage("run"),
		},
		{
			name:   "bad output format",
			args:   []string{"run", hello, "--input", "name=Ada", "-o", "yaml"},
			code:   2,
			stderr: `weir: -o must be table or json, not "yaml"` + "\n" + usage("run"),
		},
		{
			name:   "bad output format is found before the flow is read",
			args:   []string{"run", "-o", "yaml", "testdata/missing.cue"},
			code:   2,
			stderr: `weir: -o must be table or json, not "yaml"` + "\n" + usage("run"),
		},
		{
			name:   "failed run, json",
			args:   []string{"run", "testdata/slow.cue", "-o", "json"},
			code:   1,
			stderr: timedOut,
		},
	})
}

func TestRunTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // with durations replaced, see normalizeTable
		stderr string
	}{
		{
			name: "default",
			args: []string{"run", hello, "--input", "name=Ada"},
			stdout: `OUTPUT   VALUE
message  Hello, Ada!
shouted  null

NODE   TOOL        STATUS     ATTEMPTS  DURATION  ERROR
greet  text.greet  succeeded  1         <dur>
shout  text.upper  bypassed   0         0s
`,
		},
		{
			name: "loud",
			args: []string{"run", hello, "--input", "name=Ada", "--input", "loud=true", "-o", "table"},
			stdout: `OUTPUT   VALUE
message  Hello, Ada!
shouted  HELLO, ADA!

NODE   TOOL        STATUS     ATTEMPTS  DURATION  ERROR
greet  text.greet  succeeded  1         <dur>
shout  text.upper  succeeded  1         <dur>
`,
		},
		{
			name: "numbers as JSON",
			args: []string{"run", "testdata/typed.cue", "--input", "n=3", "--input", "s=3"},
			stdout: `OUTPUT  VALUE
n       3
s       3

NODE  TOOL          STATUS     ATTEMPTS  DURATION  ERROR
echo  builtin.json  succeeded  1         <dur>
`,
		},
		{
			name: "failed run",
			args: []string{"run", "testdata/slow.cue"},
			code: 1,
			stdout: `NODE  TOOL           STATUS  ATTEMPTS  DURATION  ERROR
nap   builtin.sleep  failed  1         <dur>     timed out after 20ms
`,
			stderr: `weir: node "nap" (tool builtin.sleep, plugin builtin): timed out after 20ms` + "\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := weir(t, "", tc.args...)
			stdout, durations := normalizeTable(t, got.stdout)
			assert.Equal(t, tc.stdout, stdout, "stdout")
			assert.Equal(t, tc.stderr, got.stderr, "stderr")
			assert.Equal(t, tc.code, got.code, "exit code")
			if tc.name == "failed run" {
				// The node timeout, not the 10s sleep, ended the node.
				require.Len(t, durations, 1)
				assert.GreaterOrEqual(t, durations[0], 20*time.Millisecond)
				assert.Less(t, durations[0], 5*time.Second)
			}
		})
	}
}

// A text output with line breaks must not break the table apart.
func TestRunTableMultilineOutput(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "run", pipeline, "--input", "title=hi", "--input", "text=there", "--input", "mode=full")
	require.Equal(t, 0, got.code, got.stderr)
	outputs, _, ok := strings.Cut(got.stdout, "\n\nNODE ")
	require.True(t, ok, "no node table in:\n%s", got.stdout)
	// The page is shown as a JSON string, escapes and all, on its row.
	assert.Equal(t, `OUTPUT   VALUE
page     "# HI\n\nthere\n\ndetails: {\"mode\":\"full\",\"text\":\"there\"}"
details  {"mode":"full","text":"there"}`, outputs)
}

func TestDisplay(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{`"text"`, "text"},
		{`"two\nlines"`, `"two\nlines"`},
		{`"a\tb"`, `"a\tb"`},
		{`"<b>&</b>"`, "<b>&</b>"},
		{`"<b>\n"`, `"<b>\n"`},
		{`""`, ""},
		{`null`, "null"},
		{`3`, "3"},
		{"{\n  \"a\": [1, 2]\n}", `{"a":[1,2]}`},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, display([]byte(tc.raw)), "display(%s)", tc.raw)
	}
}

// normalizeTable replaces the DURATION column of the node table in out,
// which differs from run to run, by "<dur>" ("0s" for nodes that did not
// run), lays the column out at its header's width and trims the spaces that
// end lines. It fails t when a cell of the column is not a duration, which
// also catches a column out of line with its header. It returns the
// durations it replaced, "0s" ones excepted.
func normalizeTable(t *testing.T, out string) (string, []time.Duration) {
	t.Helper()
	lines := strings.Split(out, "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "NODE ") {
			header = i
			break
		}
	}
	require.NotEqual(t, -1, header, "no node table in:\n%s", out)
	h := lines[header]
	// The header is ASCII: its byte offsets are rune offsets.
	start, end := strings.Index(h, "DURATION"), strings.Index(h, "ERROR")
	require.True(t, start > 0 && end > start, "header %q", h)
	const width = len("DURATION  ")
	lines[header] = h[:start] + "DURATION  " + h[end:]
	var durations []time.Duration
	for i := header + 1; i < len(lines) && lines[i] != ""; i++ {
		row := []rune(lines[i])
		for len(row) < end {
			row = append(row, ' ')
		}
		cell := string(row[start:end])
		require.NotEqual(t, ' ', row[start], "row %q: the DURATION cell is not under its header", lines[i])
		d, err := time.ParseDuration(strings.TrimRight(cell, " "))
		require.NoError(t, err, "row %q: the DURATION cell", lines[i])
		shown := "0s"
		if d != 0 {
			shown = "<dur>"
			durations = append(durations, d)
		}
		lines[i] = string(row[:start]) + fmt.Sprintf("%-*s", width, shown) + string(row[end:])
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n"), durations
}

func TestNormalizeTable(t *testing.T) {
	t.Parallel()
	// Durations wider than the header widen the column; µ is two bytes.
	in := "NODE  DURATION   ERROR\n" +
		"a     123.456ms  boom\n" +
		"b     92µs       \n" +
		"c     0s         \n"
	got, durations := normalizeTable(t, in)
	assert.Equal(t, "NODE  DURATION  ERROR\na     <dur>     boom\nb     <dur>\nc     0s\n", got)
	assert.Equal(t, []time.Duration{123456 * time.Microsecond, 92 * time.Microsecond}, durations)
}

func TestSchema(t *testing.T) {
	t.Parallel()
	file, err := os.ReadFile("../../internal/schemas/flow.cue")
	require.NoError(t, err)
	got := weir(t, "", "schema")
	assert.Equal(t, result{0, string(file), ""}, got)
	assert.True(t, strings.HasPrefix(got.stdout, "// #Flow is the shape of a weir flow file."), "starts with %q", strings.SplitN(got.stdout, "\n", 2)[0])
	assert.Contains(t, got.stdout, "\n#Flow: {\n")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "version")
	want := fmt.Sprintf("weir %s %s/%s %s\n", engine.Version(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	assert.Equal(t, result{0, want, ""}, got)
	assert.Regexp(t, `^weir \S+ \w+/\w+ go1\.\S+\n$`, got.stdout)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	runCases(t, []commandCase{
		{
			name:   "unknown command",
			args:   []string{"bogus"},
			code:   2,
			stderr: `weir: unknown command "bogus" for "weir"` + "\n" + hint,
		},
		{
			name:   "unknown command close to one",
			args:   []string{"runz", hello},
			code:   2,
			stderr: "weir: unknown command \"runz\" for \"weir\"\n\nDid you mean this?\n\trun\n\truns\n\n" + hint,
		},
		{
			name:   "unknown flag",
			args:   []string{"--bogus"},
			code:   2,
			stderr: "weir: unknown flag: --bogus\n" + hint,
		},
		{
			name:   "unknown flag of a command",
			args:   []string{"validate", "--bogus", hello},
			code:   2,
			stderr: "weir: unknown flag: --bogus\n" + usage("validate"),
		},
		{
			name:   "unknown shorthand flag",
			args:   []string{"run", "-x", hello},
			code:   2,
			stderr: "weir: unknown shorthand flag: 'x' in -x\n" + usage("run"),
		},
		{
			name:   "flag without its value",
			args:   []string{"run", hello, "-o"},
			code:   2,
			stderr: "weir: flag needs an argument: 'o' in -o\n" + usage("run"),
		},
		{
			name:   "flag of another command",
			args:   []string{"validate", "--format", "dot", hello},
			code:   2,
			stderr: "weir: unknown flag: --format\n" + usage("validate"),
		},
		{
			name:   "wrong number of arguments",
			args:   []string{"validate", hello, pipeline},
			code:   2,
			stderr: "weir: validate takes 1 argument, got 2\n" + usage("validate"),
		},
		{
			name:   "no flow",
			args:   []string{"run", "--input", "name=Ada"},
			code:   2,
			stderr: "weir: run takes 1 argument, got 0\n" + usage("run"),
		},
		{
			name:   "argument to a command that takes none",
			args:   []string{"schema", "extra"},
			code:   2,
			stderr: "weir: schema takes no arguments, got 1\n" + usage("schema"),
		},
		{
			name:   "no flow to graph",
			args:   []string{"graph"},
			code:   2,
			stderr: "weir: graph takes 1 argument, got 0\n" + usage("graph"),
		},
		{
			name:   "argument to version",
			args:   []string{"version", "now"},
			code:   2,
			stderr: "weir: version takes no arguments, got 1\n" + usage("version"),
		},
		{
			name:   "arguments to a subcommand",
			args:   []string{"plugin", "describe", "a.wasm", "b.wasm"},
			code:   2,
			stderr: "weir: plugin describe takes 1 argument, got 2\n" + usage("plugin describe"),
		},
		{
			name:   "unknown subcommand",
			args:   []string{"plugin", "bogus"},
			code:   2,
			stderr: `weir: unknown command "bogus" for "weir plugin"` + "\n" + usage("plugin"),
		},
		{
			name:   "unknown subcommand close to one",
			args:   []string{"plugin", "describ", "x.wasm"},
			code:   2,
			stderr: "weir: unknown command \"describ\" for \"weir plugin\"\n\nDid you mean this?\n\tdescribe\n\n" + usage("plugin"),
		},
		{
			name:   "persistent flag without its value",
			args:   []string{"validate", hello, "--cache-dir"},
			code:   2,
			stderr: "weir: flag needs an argument: --cache-dir\n" + usage("validate"),
		},
		{
			name:   "help on an unknown topic",
			args:   []string{"help", "bogus"},
			code:   2,
			stderr: `weir: unknown help topic "bogus"` + "\n" + hint,
		},
		{
			name:   "help on an unknown subcommand",
			args:   []string{"help", "plugin", "bogus"},
			code:   2,
			stderr: `weir: unknown help topic "plugin bogus"` + "\n" + hint,
		},
	})
}
