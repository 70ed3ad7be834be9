package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

func TestRunOutputsAndInterpolation(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "x"
inputs: {
	name:  string & !=""
	times: int & >=1 & <=5 | *2
	tags: [...string] | *["a", "b"]
}
nodes: {
	a: {tool: "t.echo", inputs: value: {
		who:   "${inputs.name}"
		greet: "Hi ${inputs.name} x${inputs.times}, $${not.a.ref}"
		list:  ["${inputs.times}", 3, "${inputs.tags[1]}"]
		obj:   {nested: "${inputs.tags}"}
	}}
	b: {tool: "t.echo", inputs: value: "${a.output.value.list[2]}"}
}
outputs: {
	all:    "${a.output}"
	second: "${b.output.value}"
	text:   "${a.output.value.greet}!"
}
`)
	res, err := f.Run(context.Background(), map[string]any{"name": "Ada"})
	require.NoError(t, err)
	assert.Equal(t, engine.Succeeded, res.Status)
	assert.Equal(t, map[string]any{
		"all": map[string]any{"value": map[string]any{
			"who":   "Ada",
			"greet": "Hi Ada x2, ${not.a.ref}",
			"list":  []any{2.0, 3.0, "b"},
			"obj":   map[string]any{"nested": []any{"a", "b"}},
		}},
		"second": "b",
		"text":   "Hi Ada x2, ${not.a.ref}!",
	}, outputs(t, res))
	assert.Len(t, res.RunID, 16)
	for _, n := range res.Nodes {
		assert.Equal(t, engine.Succeeded, n.Status, n.Node)
		assert.Equal(t, 1, n.Attempts)
		assert.Equal(t, "t", n.Plugin)
		assert.Equal(t, "native", n.Kind)
	}
}

func TestRunInputErrors(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "greet"
inputs: {
	name:  string & !=""
	times: int & >=1 & <=5 | *1
	mode:  "fast" | "slow" | *"fast"
}
nodes: a: {tool: "t.echo", inputs: value: "${inputs.name}"}
outputs: v: "${a.output.value}"
`)
	cases := map[string]string{
		`{"name": "", "times": 7}`:        `flow "greet": invalid inputs: name: must not be ""; times: must be <= 5, got 7`,
		`{}`:                              `flow "greet": invalid inputs: name: is required`,
		`{"name": "a", "mode": "medium"}`: `flow "greet": invalid inputs: mode: must be one of "fast", "slow"`,
		`{"name": "a", "nmae": "b"}`:      `flow "greet": invalid inputs: nmae: unknown field (allowed: mode, name, times)`,
		`{"name": 3}`:                     `flow "greet": invalid inputs: name: must be a string, got number`,
		`[1]`:                             `flow "greet": invalid inputs: inputs must be a JSON object`,
		`{"name": "a", "times": 1.5}`:     `flow "greet": invalid inputs: times: must be an integer, got 1.5`,
		`{"name": "a"`:                    `flow "greet": invalid inputs: decode json: unexpected EOF`,
	}
	for in, want := range cases {
		res, err := f.Run(context.Background(), []byte(in))
		var ie *engine.InputError
		require.ErrorAs(t, err, &ie, in)
		assert.EqualError(t, err, want, in)
		assert.Equal(t, engine.Failed, res.Status)
	}
	// Defaults are applied before the run.
	res, err := f.Run(context.Background(), []byte(`{"name": "a"}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"v": "a"}, outputs(t, res))
}

// TestParallel shows that independent nodes run at the same time: each meet
// call returns only once all three are inside. With concurrency 2 they can
// never all be inside, so the run hits its deadline.
func TestParallel(t *testing.T) {
	src := `name: "par"
concurrency: %d
timeout: "%s"
nodes: {
	a: {tool: "t.meet", inputs: name: "a"}
	b: {tool: "t.meet", inputs: name: "b"}
	c: {tool: "t.meet", inputs: name: "c"}
	join: {tool: "t.echo", inputs: value: ["${a.output.value}", "${b.output.value}", "${c.output.value}"]}
}
outputs: v: "${join.output.value}"
`
	e, tt := newEngine(t, engine.Options{})
	tt.barrier = newBarrier(3)
	f := load(t, e, fmt.Sprintf(src, 3, "1m"))
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"v": []any{"a", "b", "c"}}, outputs(t, res))

	tt.barrier = newBarrier(3)
	f = load(t, e, fmt.Sprintf(src, 2, "200ms"))
	res, err = f.Run(context.Background(), nil)
	require.ErrorIs(t, err, engine.ErrRunTimeout)
	assert.Equal(t, engine.Canceled, statuses(res)["join"])
}

func TestBypassCascade(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, `name: "bypass"
inputs: mode: string
nodes: {
	cond:  {tool: "t.echo", inputs: value: 1, when: {ref: "${inputs.mode}", is: "on"}}
	after: {tool: "t.echo", inputs: value: "${cond.output.value}"}
	other: {tool: "t.echo", inputs: value: 2}
	mixed: {tool: "t.echo", inputs: value: ["${cond.output.value}", "${other.output.value}"]}
	deep:  {tool: "t.echo", inputs: value: "${after.output}"}
}
outputs: {
	cond:  "${cond.output.value}"
	mixed: "${mixed.output.value}"
	deep:  "${deep.output}"
}
`)
	res, err := f.Run(context.Background(), map[string]any{"mode": "off"})
	require.NoError(t, err)
	assert.Equal(t, map[string]engine.Status{
		"cond": engine.Bypassed, "after": engine.Bypassed, "deep": engine.Bypassed,
		"other": engine.Succeeded, "mixed": engine.Succeeded,
	}, statuses(res))
	assert.Equal(t, map[string]any{"cond": nil, "mixed": []any{nil, 2.0}, "deep": nil}, outputs(t, res))
	assert.Equal(t, 2, tt.count("echo"), "bypassed nodes do not call their tool")

	res, err = f.Run(context.Background(), map[string]any{"mode": "on"})
	require.NoError(t, err)
	assert.Equal(t, engine.Succeeded, statuses(res)["deep"])
	assert.Equal(t, map[string]any{"cond": 1.0, "mixed": []any{1.0, 2.0}, "deep": map[string]any{"value": map[string]any{"value": 1.0}}}, outputs(t, res))
}

func TestRetry(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, `name: "retry"
inputs: {key: string, failures: int, kind: string | *"retryable"}
nodes: a: {
	tool: "t.flaky"
	inputs: {key: "${inputs.key}", failures: "${inputs.failures}", kind: "${inputs.kind}"}
	retry: {attempts: 3, backoff: "1ms"}
}
outputs: n: "${a.output.n}"
`)
	// Two failures, then success on the third and last attempt.
	res, err := f.Run(context.Background(), map[string]any{"key": "k1", "failures": 2})
	require.NoError(t, err)
	assert.Equal(t, 3, node(res, "a").Attempts)
	assert.Equal(t, map[string]any{"n": 3.0}, outputs(t, res))

	// Three failures exhaust the attempts.
	res, err = f.Run(context.Background(), map[string]any{"key": "k2", "failures": 3})
	assert.EqualError(t, err, `node "a" (tool t.flaky, plugin t): flaky failure 3 after 3 attempts`)
	var ne *engine.NodeError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "a", ne.Node)
	assert.Equal(t, 3, node(res, "a").Attempts)
	assert.Equal(t, engine.Failed, node(res, "a").Status)
	assert.Equal(t, 3, tt.count("k2"))

	// An error the tool does not mark retryable is not retried.
	_, err = f.Run(context.Background(), map[string]any{"key": "k3", "failures": 1, "kind": "internal"})
	assert.EqualError(t, err, `node "a" (tool t.flaky, plugin t): flaky failure 1`)
	assert.Equal(t, 1, tt.count("k3"))
}

func TestNodeTimeout(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, `name: "slow"
nodes: {
	w: {tool: "t.wait", inputs: name: "w", timeout: "20ms", retry: {attempts: 2, backoff: "1ms"}}
	h: {tool: "t.hang", inputs: name: "h", timeout: "20ms"}
}
outputs: {w: "${w.output}", h: "${h.output}"}
`)
	res, err := f.Run(context.Background(), nil)
	require.Error(t, err)
	// Whichever fails first fails the run; both are timeouts.
	assert.Contains(t, err.Error(), "timed out after 20ms")
	w := node(res, "w")
	h := node(res, "h")
	assert.Contains(t, []engine.Status{engine.Failed, engine.Canceled}, w.Status)
	assert.Contains(t, []engine.Status{engine.Failed, engine.Canceled}, h.Status)
	assert.True(t, w.Status == engine.Failed || h.Status == engine.Failed)

	// A tool that ignores its context cannot hold the run: the node fails
	// on its timeout while the tool is still blocked.
	f = load(t, e, `name: "hang"
nodes: h: {tool: "t.hang", inputs: name: "h", timeout: "20ms"}
outputs: h: "${h.output}"
`)
	_, err = f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "h" (tool t.hang, plugin t): timed out after 20ms`)
	assert.GreaterOrEqual(t, tt.count("hang"), 1)

	// Timeouts are retried like retryable errors.
	f = load(t, e, `name: "wait"
nodes: w: {tool: "t.wait", inputs: name: "w", timeout: "10ms", retry: {attempts: 3, backoff: "1ms"}}
outputs: w: "${w.output}"
`)
	res, err = f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "w" (tool t.wait, plugin t): timed out after 10ms after 3 attempts`)
	assert.Equal(t, 3, node(res, "w").Attempts)
}

func TestRunDeadlineNamesTheRunningNode(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "deadline"
timeout: "50ms"
nodes: {
	w: {tool: "t.wait", inputs: name: "w"}
	after: {tool: "t.echo", inputs: value: "${w.output}"}
}
outputs: v: "${after.output}"
`)
	res, err := f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "w" (tool t.wait, plugin t): run timed out after 50ms`)
	require.ErrorIs(t, err, engine.ErrRunTimeout)
	assert.Equal(t, engine.Canceled, node(res, "w").Status)
	assert.Equal(t, engine.Canceled, node(res, "after").Status)
	assert.Equal(t, 0, node(res, "after").Attempts)
	assert.Equal(t, engine.Failed, res.Status)

	// RunOptions.Timeout overrides the flow's deadline.
	_, err = f.RunWith(context.Background(), nil, engine.RunOptions{Timeout: 10 * time.Millisecond})
	assert.EqualError(t, err, `node "w" (tool t.wait, plugin t): run timed out after 10ms`)
}

func TestCancel(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, `name: "cancel"
nodes: {
	w: {tool: "t.wait", inputs: name: "w"}
	after: {tool: "t.echo", inputs: value: "${w.output}"}
}
outputs: v: "${after.output}"
`)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		for tt.count("wait") == 0 {
			time.Sleep(time.Millisecond)
		}
		close(started)
		cancel()
	}()
	res, err := f.Run(ctx, nil)
	<-started
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, engine.Canceled, res.Status)
	assert.Equal(t, engine.Canceled, node(res, "w").Status)
	assert.Equal(t, engine.Canceled, node(res, "after").Status)
}

func TestFailureCancelsSiblings(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "fail"
nodes: {
	w:   {tool: "t.wait", inputs: name: "w"}
	bad: {tool: "t.fail", inputs: message: "the disk is full"}
	after: {tool: "t.echo", inputs: value: ["${w.output}", "${bad.output}"]}
}
outputs: v: "${after.output}"
`)
	res, err := f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "bad" (tool t.fail, plugin t): the disk is full`)
	assert.Equal(t, map[string]engine.Status{"w": engine.Canceled, "bad": engine.Failed, "after": engine.Canceled}, statuses(res))
	assert.Equal(t, "the disk is full", node(res, "bad").Error)
}

func TestPanicIsAnErrorAndOtherRunsCarryOn(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	bad := load(t, e, `name: "bad"
nodes: p: {tool: "t.panic", inputs: message: "boom"}
outputs: v: "${p.output}"
`)
	good := load(t, e, `name: "good"
nodes: a: {tool: "t.echo", inputs: value: 1}
outputs: v: "${a.output.value}"
`)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, err := bad.Run(context.Background(), nil)
				if assert.Error(t, err) {
					assert.True(t, strings.HasPrefix(err.Error(), `node "p" (tool t.panic, plugin t): tool panicked: boom (at `), err.Error())
				}
				return
			}
			res, err := good.Run(context.Background(), nil)
			assert.NoError(t, err)
			assert.Equal(t, `{"v":1}`, string(res.Outputs))
		}()
	}
	wg.Wait()
}

func TestRuntimeSelectionError(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "sel"
nodes: {
	a: {tool: "t.echo", inputs: value: "text"}
	b: {tool: "t.echo", inputs: value: "${a.output.value.field}"}
}
outputs: v: "${b.output}"
`)
	res, err := f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "b" (tool t.echo, plugin t): input: ${a.output.value.field}: cannot select field "field" from a string`)
	assert.Equal(t, 0, node(res, "b").Attempts)
}

func TestSubflow(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	dir := writeFlow(t, map[string]string{
		"parent.cue": `name: "parent"
inputs: who: string
nodes: {
	child: {flow: "sub/child.cue", inputs: name: "${inputs.who}"}
	after: {tool: "t.echo", inputs: value: "${child.output.greeting}"}
}
outputs: v: "${after.output.value}"
`,
		"bad.cue": `name: "bad"
nodes: child: {flow: "sub/child.cue", inputs: {name: 3}}
outputs: v: "${child.output.greting}"
`,
		"failing.cue": `name: "failing"
nodes: child: {flow: "sub/fail.cue"}
outputs: v: "${child.output}"
`,
	})
	writeSub := map[string]string{
		"child.cue": `name: "child"
inputs: name: string & !=""
nodes: g: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}", name: "${inputs.name}"}}
outputs: greeting: "${g.output.text}"
`,
		"fail.cue": `name: "fail"
nodes: x: {tool: "t.fail", inputs: message: "inner trouble"}
outputs: v: "${x.output}"
`,
	}
	sub := filepath.Join(dir, "sub")
	for name, src := range writeSub {
		require.NoError(t, writeFile(filepath.Join(sub, name), src))
	}
	f, err := e.Load(context.Background(), filepath.Join(dir, "parent.cue"))
	require.NoError(t, err)
	res, err := f.Run(context.Background(), map[string]any{"who": "Ada"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"v": "Hello, Ada"}, outputs(t, res))
	assert.Equal(t, "flow", node(res, "child").Kind)
	assert.Equal(t, []string{filepath.Join(dir, "parent.cue"), filepath.Join(dir, "sub", "child.cue")}, f.Files())
	assert.Equal(t, "child.cue", node(res, "child").Tool)

	_, err = e.Load(context.Background(), filepath.Join(dir, "bad.cue"))
	require.Error(t, err)
	assert.Equal(t, []string{
		`bad.cue:2:54: node "child": input "name": 3 breaks the contract of sub-flow child.cue: must be a string, got number`,
		`bad.cue:3:14: output "v": ${child.output.greting}: no field "greting" in the outputs of sub-flow child.cue (fields: greeting); did you mean "greeting"?`,
	}, strings.Split(strings.ReplaceAll(err.Error(), dir+"/", ""), "\n"))

	f, err = e.Load(context.Background(), filepath.Join(dir, "failing.cue"))
	require.NoError(t, err)
	_, err = f.Run(context.Background(), nil)
	assert.EqualError(t, err, `node "child" (tool fail.cue, plugin fail): sub-flow "fail": node "x" (tool t.fail, plugin t): inner trouble`)
}

func TestConcurrentRunsOfOneFlow(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, `name: "many"
inputs: i: int
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.i}"}
	b: {tool: "t.echo", inputs: value: "${a.output.value}"}
	c: {tool: "t.echo", inputs: value: "${a.output.value}"}
	d: {tool: "t.echo", inputs: value: ["${b.output.value}", "${c.output.value}"]}
}
outputs: v: "${d.output.value}"
`)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.Run(context.Background(), map[string]any{"i": i})
			if assert.NoError(t, err) {
				assert.Equal(t, fmt.Sprintf(`{"v":[%d,%d]}`, i, i), string(res.Outputs))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 64*4, tt.count("echo"))
}

func TestYAMLAndJSONFlows(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	dir := writeFlow(t, map[string]string{
		"flow.yaml": `name: y
inputs:
  name: 'string & !=""'
  times: 'int & >=1 | *2'
nodes:
  a:
    tool: t.echo
    inputs:
      value: "${inputs.name} x${inputs.times}"
outputs:
  v: "${a.output.value}"
`,
		"flow.json": `{"name": "j", "inputs": {"n": "int"}, "nodes": {"a": {"tool": "t.echo", "inputs": {"value": "${inputs.n}"}}}, "outputs": {"v": "${a.output.value}"}}`,
	})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.yaml"))
	require.NoError(t, err)
	res, err := f.Run(context.Background(), map[string]any{"name": "Ada"})
	require.NoError(t, err)
	assert.Equal(t, `{"v":"Ada x2"}`, string(res.Outputs))
	_, err = f.Run(context.Background(), map[string]any{"name": ""})
	assert.EqualError(t, err, `flow "y": invalid inputs: name: must not be ""`)

	f, err = e.Load(context.Background(), filepath.Join(dir, "flow.json"))
	require.NoError(t, err)
	res, err = f.Run(context.Background(), map[string]any{"n": 4})
	require.NoError(t, err)
	assert.Equal(t, `{"v":4}`, string(res.Outputs))
}

func TestRegisterAndClose(t *testing.T) {
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	tt := &testTools{released: make(chan struct{})}
	assert.EqualError(t, e.Register("builtin", tt.tools()...), `register "builtin": the name is taken by weir's builtin tools`)
	assert.EqualError(t, e.Register("bad name", tt.tools()...), `register "bad name": invalid plugin name: use letters, digits, _ and -, starting with a letter or _`)
	require.NoError(t, e.Register("t", tt.tools()...))
	assert.EqualError(t, e.Register("t", tt.tools()...), `register "t": plugin already registered`)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	assert.True(t, errors.Is(e.Register("u", tt.tools()...), engine.ErrClosed))
	_, err = e.Parse(context.Background(), "flow.cue", []byte(`name: "x"
nodes: a: {tool: "builtin.sleep", inputs: duration: "1ms"}
outputs: v: "${a.output}"
`))
	assert.Contains(t, err.Error(), "engine is closed")
}
