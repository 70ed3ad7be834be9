package pool_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// natsServer starts an embedded NATS server with a file store, and
// connects to it.
func natsServer(t *testing.T) (*pool.Server, *pool.Conn) {
	t.Helper()
	s, err := pool.StartServer(pool.ServerOptions{Addr: "127.0.0.1:0", StoreDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s, connect(t, s.URL())
}

func connect(t *testing.T, url string) *pool.Conn {
	t.Helper()
	c, err := pool.Connect(context.Background(), pool.Options{URL: url})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// scoresFlow greets each line, passes its score through after its wait,
// and averages the scores; a line whose wait is not a duration fails.
const scoresFlow = `
name: "scores"
inputs: {
	name:  string
	score: number
	wait:  string | *"0s"
}
nodes: {
	nap: {tool: "builtin.sleep", inputs: {duration: "${inputs.wait}", value: "${inputs.score}"}}
	greet: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}"}}
	mean: {tool: "builtin.stats", aggregate: true, inputs: values: "${nap.output.value}"}
}
outputs: {
	greeting: "${greet.output.text}"
	score:    "${nap.output.value}"
}
`

func newEngine(t *testing.T, register ...func(*engine.Engine)) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	for _, r := range register {
		r(e)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// loadFlow writes a flow file and loads it on e.
func loadFlow(t *testing.T, e *engine.Engine, src string) *engine.Flow {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flow.cue")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	f, err := e.Load(context.Background(), path)
	require.NoError(t, err)
	return f
}

// scoresPool makes pool name on a new server, with scoresFlow's bundle in
// it.
func scoresPool(t *testing.T, name string) (*pool.Conn, *pool.Pool, *engine.Flow, string) {
	t.Helper()
	_, c := natsServer(t)
	p, err := pool.Create(context.Background(), c, name, pool.Settings{})
	require.NoError(t, err)
	f := loadFlow(t, newEngine(t), scoresFlow)
	return c, p, f, putBundle(t, p, f)
}

// putBundle puts the bundle of f in p.
func putBundle(t *testing.T, p *pool.Pool, f *engine.Flow) string {
	t.Helper()
	b, err := hosts.BuildBundle(f)
	require.NoError(t, err)
	defer b.Close()
	digest, err := p.PutBundle(context.Background(), b.Path)
	require.NoError(t, err)
	return digest
}

// startWorker runs a worker of p until the test ends (or stop is called),
// on engine e.
func startWorker(t *testing.T, p *pool.Pool, e *engine.Engine, concurrency int) (w *pool.Worker, stop func()) {
	t.Helper()
	w, err := pool.NewWorker(p, pool.WorkerOptions{Engine: e, CacheDir: t.TempDir(), Concurrency: concurrency})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	require.Eventually(t, w.Ready, 10*time.Second, 5*time.Millisecond)
	return w, stop
}

func TestCreateOpenListDelete(t *testing.T) {
	_, c := natsServer(t)
	ctx := context.Background()

	_, err := pool.Open(ctx, c, "batch")
	require.ErrorIs(t, err, pool.ErrNoPool)
	assert.EqualError(t, err, `open pool "batch": no such pool`)

	p, err := pool.Create(ctx, c, "batch", pool.Settings{MaxDeliver: 3, AckWait: 2 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, pool.Settings{Replicas: 1, MaxDeliver: 3, AckWait: 2 * time.Second}, p.Settings())
	_, err = pool.Create(ctx, c, "batch", pool.Settings{MaxDeliver: 3, AckWait: 2 * time.Second})
	require.NoError(t, err, "creating it again with the same settings opens it")
	_, err = pool.Create(ctx, c, "batch", pool.Settings{MaxDeliver: 4})
	assert.EqualError(t, err, `create pool "batch": it exists with other settings (replicas 1, max-deliver 3, ack-wait 2s); delete it first to change them`)
	_, err = pool.Create(ctx, c, "no.dots", pool.Settings{})
	assert.EqualError(t, err, `pool name "no.dots": use up to 64 letters, digits, '-' and '_', starting with a letter or digit`)

	_, err = pool.Create(ctx, c, "other", pool.Settings{})
	require.NoError(t, err)
	names, err := pool.List(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"batch", "other"}, names)

	st, err := p.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "batch", st.Name)
	assert.Empty(t, st.Workers)
	assert.Zero(t, st.Queued)

	require.NoError(t, pool.Delete(ctx, c, "batch"))
	err = pool.Delete(ctx, c, "batch")
	assert.EqualError(t, err, `delete pool "batch": no such pool`)
	names, err = pool.List(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, names)
}

func TestBundlesAreStoredOnceAndChecked(t *testing.T) {
	c, p, f, digest := scoresPool(t, "b")
	ctx := context.Background()
	assert.Equal(t, digest, putBundle(t, p, f), "the same flow is the same bundle")
	st, err := p.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Bundles)

	path, err := p.FetchBundle(ctx, t.TempDir(), digest)
	require.NoError(t, err)
	assert.Equal(t, "flow.cue", filepath.Base(path))

	// Someone with write access to the store puts other bytes under the
	// digest's name: a worker refuses them.
	other := loadFlow(t, newEngine(t), strings.Replace(scoresFlow, `"Hello, `, `"Hi, `, 1))
	b, err := hosts.BuildBundle(other)
	require.NoError(t, err)
	defer b.Close()
	data, err := os.ReadFile(b.Path)
	require.NoError(t, err)
	store, err := c.JetStream().ObjectStore(ctx, "WEIR_POOL_b_BUNDLES")
	require.NoError(t, err)
	_, err = store.PutBytes(ctx, digest, data)
	require.NoError(t, err)
	_, err = p.FetchBundle(ctx, t.TempDir(), digest)
	require.ErrorIs(t, err, pool.ErrBundleMismatch)
	assert.Regexp(t, `^fetch bundle sha256:[0-9a-f]{12}… from pool "b": bundle does not match its digest: it is sha256:[0-9a-f]{12}…; refused$`, err.Error())

	_, err = p.FetchBundle(ctx, t.TempDir(), "sha256:"+strings.Repeat("0", 64))
	assert.EqualError(t, err, `fetch bundle sha256:000000000000…: pool "b" does not have it (deleted, or the pool was made again)`)
}

// lines is a dataset of n lines for scoresFlow; line 5 fails.
func lines(n int) engine.Source {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		wait := "1ms"
		if i == 5 {
			wait = "soon"
		}
		fmt.Fprintf(&b, `{"name": "n%d", "score": %d, "wait": %q}`+"\n", i, i, wait)
	}
	return engine.JSONL(strings.NewReader(b.String()))
}

// collected is what a test compares of a batch: its summary's counts and
// metrics, and each line's status, outputs and error.
type collected struct {
	Succeeded, Failed int
	Aggregates        string
	Lines             map[int]string
}

func collect(t *testing.T, b *engine.Batch) collected {
	t.Helper()
	got := collected{Lines: map[int]string{}}
	for lr := range b.Lines() {
		_, dup := got.Lines[lr.Line]
		require.False(t, dup, "line %d reported twice", lr.Line)
		s := string(lr.Status) + " " + string(lr.Outputs)
		if lr.Err != nil {
			s += " " + lr.Err.Error()
		}
		got.Lines[lr.Line] = s
	}
	sum, err := b.Wait()
	require.NoError(t, err)
	got.Succeeded, got.Failed, got.Aggregates = sum.Succeeded, sum.Failed, string(sum.Aggregates)
	return got
}

func TestBatchOnWorkersIsTheLocalBatch(t *testing.T) {
	_, p, f, digest := scoresPool(t, "b")
	ctx := context.Background()
	w1, stop1 := startWorker(t, p, newEngine(t), 4)
	w2, stop2 := startWorker(t, p, newEngine(t), 4)

	local, err := f.Batch(ctx, lines(40), engine.BatchOptions{})
	require.NoError(t, err)
	want := collect(t, local)

	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "job1", Bundle: digest})
	require.NoError(t, err)
	defer pb.Close()
	remote, err := f.Batch(ctx, lines(40), engine.BatchOptions{Concurrency: 64, Remote: pb.Remote})
	require.NoError(t, err)
	got := collect(t, remote)
	assert.Equal(t, want, got)
	assert.Equal(t, 39, got.Succeeded)
	assert.Contains(t, got.Lines[5], `failed  line 5: node "nap" (tool builtin.sleep, plugin builtin)`)

	st, err := p.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Workers, 2)
	assert.Equal(t, 40, int(st.Results))
	done := map[string]int64{}
	for _, w := range st.Workers {
		done[w.ID] = w.Lines
		assert.Equal(t, 4, w.Concurrency)
	}
	assert.Contains(t, done, w1.ID())
	assert.Contains(t, done, w2.ID())
	// A worker acks a line after its result: once drained, none is left.
	stop1()
	stop2()
	st, err = p.Status(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Queued)
	assert.Zero(t, st.InFlight)
}

// TestNodeValuesCrossThePool: the workers send back the nodes' values of
// the lines the batch keeps them for, as a local batch keeps them.
func TestNodeValuesCrossThePool(t *testing.T) {
	_, p, f, digest := scoresPool(t, "values")
	ctx := context.Background()
	_, stop := startWorker(t, p, newEngine(t), 2)
	defer stop()
	values := func(lr engine.LineResult) []string {
		var out []string
		for _, n := range lr.Nodes {
			out = append(out, n.Node+" "+string(n.Inputs)+" "+string(n.Outputs))
		}
		return out
	}
	for i, nv := range []engine.NodeValues{engine.FailedNodeValues, engine.AllNodeValues} {
		pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: fmt.Sprintf("values%d", i), Bundle: digest, NodeValues: nv})
		require.NoError(t, err)
		remote, err := f.Batch(ctx, lines(5), engine.BatchOptions{Remote: pb.Remote})
		require.NoError(t, err)
		got := map[int][]string{}
		for lr := range remote.Lines() {
			got[lr.Line] = values(lr)
		}
		_, err = remote.Wait()
		require.NoError(t, err)
		pb.Close()
		assert.Equal(t, []string{
			`nap {"duration":"soon","value":5} `,
			`greet {"template":"Hello, {{.name}}!","name":"n5"} {"text":"Hello, n5!"}`,
		}, got[5], "the line that failed")
		if nv == engine.FailedNodeValues {
			assert.Equal(t, []string{"nap  ", "greet  "}, got[1], "a line that succeeded")
		} else {
			assert.Equal(t, []string{
				`nap {"duration":"1ms","value":1} {"value":1}`,
				`greet {"template":"Hello, {{.name}}!","name":"n1"} {"text":"Hello, n1!"}`,
			}, got[1])
		}
	}
}

func TestResumedBatchTakesTheResultsThere(t *testing.T) {
	_, p, f, digest := scoresPool(t, "b")
	ctx := context.Background()
	w, stop := startWorker(t, p, newEngine(t), 4)

	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "job1", Bundle: digest})
	require.NoError(t, err)
	first := collect(t, must(f.Batch(ctx, lines(10), engine.BatchOptions{Remote: pb.Remote})))
	pb.Close()
	stop()
	st, err := p.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Workers, "a drained worker leaves the status")
	_ = w

	// No worker now: a resumed batch finds every line's result in the pool
	// and queues nothing.
	pb, err = p.NewBatch(ctx, pool.BatchOptions{Job: "job1", Bundle: digest, Resumed: true})
	require.NoError(t, err)
	defer pb.Close()
	again := collect(t, must(f.Batch(ctx, lines(10), engine.BatchOptions{Remote: pb.Remote})))
	assert.Equal(t, first, again)
	st, err = p.Status(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Queued, "nothing was queued again")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRunOnPool(t *testing.T) {
	_, p, _, digest := scoresPool(t, "r")
	ctx := context.Background()

	_, err := p.Run(ctx, digest, []byte(`{"name": "Ada", "score": 1}`), pool.RunOptions{})
	require.ErrorIs(t, err, pool.ErrNoWorkers)
	assert.EqualError(t, err, `pool "r" has no worker: start one with weir worker --pool r`)

	startWorker(t, p, newEngine(t), 2)
	res, err := p.Run(ctx, digest, []byte(`{"name": "Ada", "score": 1}`), pool.RunOptions{RunID: "one"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"greeting": "Hello, Ada!", "score": 1}`, string(res.Outputs))
	assert.Equal(t, "one", res.RunID)
	assert.Nil(t, res.Inputs, "values only when asked")

	res, err = p.Run(ctx, digest, []byte(`{"name": "Ada", "score": 1}`), pool.RunOptions{NodeValues: engine.AllNodeValues})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name": "Ada", "score": 1, "wait": "0s"}`, string(res.Inputs), "the run's inputs, defaults applied")
	assert.JSONEq(t, `{"duration": "0s", "value": 1}`, string(res.Nodes[0].Inputs))
	assert.JSONEq(t, `{"text": "Hello, Ada!"}`, string(res.Nodes[1].Outputs))

	_, err = p.Run(ctx, digest, []byte(`{"name": "Ada"}`), pool.RunOptions{})
	var in *engine.InputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, `flow "scores": invalid inputs: score: is required`, err.Error())

	res, err = p.Run(ctx, digest, []byte(`{"name": "Ada", "score": 1, "wait": "soon"}`), pool.RunOptions{})
	var ne *engine.NodeError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "nap", ne.Node)
	assert.Equal(t, engine.Failed, res.Status)

	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	res, err = p.Run(tctx, digest, []byte(`{"name": "Ada", "score": 1, "wait": "10s"}`), pool.RunOptions{})
	require.ErrorIs(t, err, engine.ErrRunTimeout)
	require.NotNil(t, res)
	assert.Equal(t, engine.Canceled, res.Nodes[0].Status)
}

// TestDeadLetter: a line whose worker dies every time it runs it goes to
// the dead letters after max-deliver deliveries, and the batch records it
// failed with the reason; the other lines succeed, on the worker left.
func TestDeadLetter(t *testing.T) {
	s, c := natsServer(t)
	ctx := context.Background()
	p, err := pool.Create(ctx, c, "d", pool.Settings{MaxDeliver: 2, AckWait: 500 * time.Millisecond})
	require.NoError(t, err)
	const src = `
name: "poison"
inputs: kill: bool
nodes: n: {tool: "t.maybe", inputs: kill: "${inputs.kill}"}
outputs: ok: "${n.output.ok}"
`
	type in struct {
		Kill bool `json:"kill"`
	}
	type out struct {
		OK bool `json:"ok"`
	}
	// A worker "dies" on a poison line: its connection closes, so that it
	// never acks, as a killed process would not.
	dying := func(conn **pool.Conn) func(*engine.Engine) {
		return func(e *engine.Engine) {
			require.NoError(t, e.Register("t", plugins.Func("maybe", "Dies on kill.", func(ctx context.Context, i in) (out, error) {
				if i.Kill {
					(*conn).Close()
					<-ctx.Done()
					return out{}, ctx.Err()
				}
				return out{OK: true}, nil
			})))
		}
	}
	f := loadFlow(t, newEngine(t, dying(new(*pool.Conn))), src)
	digest := putBundle(t, p, f)
	// Two workers die on it; the server notices the line reached
	// max-deliver when it would deliver it a third time, to the third.
	for range 3 {
		wc := connect(t, s.URL())
		wp, err := pool.Open(ctx, wc, "d")
		require.NoError(t, err)
		w, err := pool.NewWorker(wp, pool.WorkerOptions{Engine: newEngine(t, dying(&wc)), CacheDir: t.TempDir(), Concurrency: 1})
		require.NoError(t, err)
		wctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		go func() { _ = w.Run(wctx) }()
	}
	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "j", Bundle: digest})
	require.NoError(t, err)
	defer pb.Close()
	data := `{"kill": false}` + "\n" + `{"kill": true}` + "\n"
	b, err := f.Batch(ctx, engine.JSONL(strings.NewReader(data)), engine.BatchOptions{Remote: pb.Remote})
	require.NoError(t, err)
	got := collect(t, b)
	assert.Equal(t, 1, got.Succeeded)
	assert.Equal(t, "failed  line 2: no worker finished the line: it was delivered 2 times (the pool's max-deliver) and each worker it reached stopped before its result (a crash, a kill, or a lost machine)", got.Lines[2])
	// The dead letter is acked, and the line deleted, after its result.
	require.Eventually(t, func() bool {
		st, err := p.Status(ctx)
		require.NoError(t, err)
		return st.Dead == 1 && st.DeadWaiting == 0 && st.Queued == 0 && st.InFlight == 0
	}, 10*time.Second, 20*time.Millisecond)
}

// TestTraceCrossesThePool: a worker's run span is a child of the span of
// the batch that queued its line, and of the span that asked a run.
func TestTraceCrossesThePool(t *testing.T) {
	_, c := natsServer(t)
	ctx := context.Background()
	p, err := pool.Create(ctx, c, "t", pool.Settings{})
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	traced := func() *engine.Engine {
		e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}, TracerProvider: tp})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		return e
	}
	f := loadFlow(t, traced(), scoresFlow)
	digest := putBundle(t, p, f)
	startWorker(t, p, traced(), 2)

	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "j", Bundle: digest})
	require.NoError(t, err)
	defer pb.Close()
	b, err := f.Batch(ctx, lines(3), engine.BatchOptions{Remote: pb.Remote})
	require.NoError(t, err)
	collect(t, b)

	parent, span := tp.Tracer("test").Start(ctx, "submit")
	_, err = p.Run(parent, digest, []byte(`{"name": "Ada", "score": 1}`), pool.RunOptions{})
	require.NoError(t, err)
	span.End()

	spans := exp.GetSpans()
	byName := func(name string) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range spans {
			if s.Name == name {
				out = append(out, s)
			}
		}
		return out
	}
	batches := byName("batch scores")
	require.Len(t, batches, 1)
	runs := byName("run scores")
	require.Len(t, runs, 4, "three lines and a run, on the worker")
	lineRuns := 0
	for _, r := range runs {
		switch r.Parent.SpanID() {
		case batches[0].SpanContext.SpanID():
			lineRuns++
			assert.Equal(t, batches[0].SpanContext.TraceID(), r.SpanContext.TraceID())
		case span.SpanContext().SpanID():
			assert.Equal(t, span.SpanContext().TraceID(), r.SpanContext.TraceID())
		default:
			t.Errorf("run span %s has parent %s, neither the batch's nor the submitter's", r.SpanContext.SpanID(), r.Parent.SpanID())
		}
	}
	assert.Equal(t, 3, lineRuns)
}

// TestServerRestart: the NATS server (file store) stops and starts again
// in the middle of a batch; workers and the batch reconnect, and every line
// is reported once.
func TestServerRestart(t *testing.T) {
	store := t.TempDir()
	s, err := pool.StartServer(pool.ServerOptions{Addr: "127.0.0.1:0", StoreDir: store})
	require.NoError(t, err)
	addr := strings.TrimPrefix(s.URL(), "nats://")
	c := connect(t, s.URL())
	ctx := context.Background()
	p, err := pool.Create(ctx, c, "r", pool.Settings{AckWait: 2 * time.Second})
	require.NoError(t, err)
	f := loadFlow(t, newEngine(t), scoresFlow)
	digest := putBundle(t, p, f)
	var stops []func()
	for range 2 {
		wp, err := pool.Open(ctx, connect(t, s.URL()), "r")
		require.NoError(t, err)
		_, stop := startWorker(t, wp, newEngine(t), 4)
		stops = append(stops, stop)
	}
	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "j", Bundle: digest})
	require.NoError(t, err)
	defer pb.Close()
	var data strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&data, `{"name": "n%d", "score": %d, "wait": "20ms"}`+"\n", i, i)
	}
	b, err := f.Batch(ctx, engine.JSONL(strings.NewReader(data.String())), engine.BatchOptions{Concurrency: 32, Remote: pb.Remote})
	require.NoError(t, err)
	seen := map[int]bool{}
	restarted := false
	for lr := range b.Lines() {
		require.False(t, seen[lr.Line], "line %d reported twice", lr.Line)
		seen[lr.Line] = true
		assert.Equal(t, engine.Succeeded, lr.Status, "line %d: %v", lr.Line, lr.Err)
		if len(seen) == 30 && !restarted {
			restarted = true
			s.Shutdown()
			s, err = pool.StartServer(pool.ServerOptions{Addr: addr, StoreDir: store})
			require.NoError(t, err)
		}
	}
	t.Cleanup(s.Shutdown)
	sum, err := b.Wait()
	require.NoError(t, err)
	assert.Equal(t, 150, sum.Succeeded)
	assert.Len(t, seen, 150)
	for _, stop := range stops {
		stop() // before the server goes
	}
}

// TestWorkerDropsLinesOfNoJob: a message on the work stream whose job
// would name another job's results (a '.' in it) or whose line is not a
// line number is dropped, with no result anywhere; lines after it run.
func TestWorkerDropsLinesOfNoJob(t *testing.T) {
	c, p, f, digest := scoresPool(t, "h")
	ctx := context.Background()
	startWorker(t, p, newEngine(t), 2)
	for _, body := range []string{
		`{"job": "victim.7", "line": 1, "bundle": "` + digest + `", "inputs": {"name": "x", "score": 1}}`,
		`{"job": "j>", "line": 1, "bundle": "` + digest + `", "inputs": {"name": "x", "score": 1}}`,
		`{"job": "j", "line": -3, "bundle": "` + digest + `", "inputs": {"name": "x", "score": 1}}`,
	} {
		_, err := c.JetStream().Publish(ctx, "weir.pool.h.work.forged", []byte(body))
		require.NoError(t, err)
	}
	pb, err := p.NewBatch(ctx, pool.BatchOptions{Job: "victim", Bundle: digest})
	require.NoError(t, err)
	defer pb.Close()
	got := collect(t, must(f.Batch(ctx, lines(2), engine.BatchOptions{Remote: pb.Remote})))
	assert.Equal(t, 2, got.Succeeded)
	assert.Contains(t, got.Lines[1], `"greeting":"Hello, n1!"`, "line 1 is the batch's own, not the forged one")
	require.Eventually(t, func() bool {
		st, err := p.Status(ctx)
		require.NoError(t, err)
		return st.Queued == 0 && st.InFlight == 0
	}, 10*time.Second, 20*time.Millisecond)
	st, err := p.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Results, "only the batch's two lines have results")
}
