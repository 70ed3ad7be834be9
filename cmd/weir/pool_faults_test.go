package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/pool"
)

// The fault tests of work pools: real weir processes (pool serve, workers,
// batch, runs wait) killed, restarted and misled in the middle of batches,
// each checked on the run record: every line once, none lost.

// faultLimit bounds every wait of these tests: generous, for a loaded
// machine; a test that reaches it failed, it does not measure anything.
const faultLimit = 2 * time.Minute

// proc is a weir process running in the background, its stdout and stderr
// kept (and read as it goes, so that it never blocks on a full pipe).
type proc struct {
	cmd    *exec.Cmd
	waited chan struct{}
	code   int // once waited is closed; -1 for a process killed by a signal

	mu  sync.Mutex
	out bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// output is what the process printed so far, stdout and stderr.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startProc starts the built weir with args in dir, with env added to
// noNATSEnv; it is killed when the test ends.
func startProc(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	bin, _ := weirBinary(t)
	p := &proc{cmd: exec.Command(bin, args...), waited: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append(append(os.Environ(), noNATSEnv...), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		}
		close(p.waited)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.waited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL, as a crash or a lost machine would, and waits.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.waited
}

// wait waits for the process to exit by itself and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.waited:
	case <-time.After(faultLimit):
		p.kill()
		t.Fatalf("weir %s still running after %s:\n%s", strings.Join(p.cmd.Args[1:], " "), faultLimit, p.output())
	}
	return p.code
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	return p.wait(t)
}

// waitOutput waits until the process printed something that re matches.
func (p *proc) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	poll(t, "weir "+strings.Join(p.cmd.Args[1:], " ")+" to print "+re.String(), func() bool {
		if m = re.FindStringSubmatch(p.output()); m == nil && p.exited() {
			t.Fatalf("weir %s exited with %d:\n%s", strings.Join(p.cmd.Args[1:], " "), p.code, p.output())
		}
		return m != nil
	})
	return m
}

// poll calls cond every 50 ms until it holds, failing the test after
// faultLimit.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(faultLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", faultLimit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultServer is weir pool serve on a fixed port, so that it can be
// started again where its clients expect it.
type faultServer struct {
	*proc
	url, addr, store string
	args             []string
}

// startFaultServer runs weir pool serve on a free port with a store of its
// own, with args added.
func startFaultServer(t *testing.T, args ...string) *faultServer {
	t.Helper()
	addr := freePort(t)
	s := &faultServer{url: "nats://" + addr, addr: addr, store: t.TempDir(), args: args}
	s.start(t)
	return s
}

func (s *faultServer) start(t *testing.T) {
	t.Helper()
	s.proc = startProc(t, t.TempDir(), nil, append([]string{"pool", "serve", "--addr", s.addr, "--store", s.store}, s.args...)...)
	s.waitOutput(t, poolListening)
}

// createPool makes pool name on url with a short ack wait, so that the
// lines of a killed worker come back quickly, and args added.
func createPool(t *testing.T, env []string, url, name string, args ...string) {
	t.Helper()
	r := weirNATS(t, env, append([]string{"pool", "create", "--nats", url, "--ack-wait", "2s", name}, args...)...)
	require.Equal(t, 0, r.code, r.stderr)
}

// startFaultWorker runs weir worker on pool name with its own cache, and
// returns once it pulls.
func startFaultWorker(t *testing.T, env []string, url, name string, args ...string) *proc {
	t.Helper()
	w := startProc(t, t.TempDir(), env, append([]string{"worker", "--nats", url, "--pool", name, "--cache", t.TempDir()}, args...)...)
	w.waitOutput(t, workerPulling)
	return w
}

// scoresData writes a dataset of n lines for cmd/weir/testdata/scores.cue,
// each waiting wait: {"name":"p1","score":1,"wait":"100ms"}, ...
func scoresData(t *testing.T, n int, wait string) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"name":"p%d","score":%d,"wait":%q}`+"\n", i, i, wait)
	}
	path := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// recordedLine is a line of weir runs outputs -o jsonl.
type recordedLine struct {
	Line      int             `json:"line"`
	Status    string          `json:"status"`
	Outputs   json.RawMessage `json:"outputs"`
	Error     string          `json:"error"`
	ErrorKind string          `json:"error_kind"`
}

// runOutputs is weir runs outputs -o jsonl RUN, by line; a line recorded
// twice fails the test.
func runOutputs(t *testing.T, home, run string) map[int]recordedLine {
	t.Helper()
	r := weirNATS(t, nil, "runs", "outputs", "--home", home, "-o", "jsonl", run)
	require.Equal(t, 0, r.code, r.stderr)
	lines := map[int]recordedLine{}
	for l := range strings.Lines(r.stdout) {
		var o recordedLine
		require.NoError(t, json.Unmarshal([]byte(l), &o), l)
		_, dup := lines[o.Line]
		require.False(t, dup, "run %s: line %d recorded twice", run, o.Line)
		lines[o.Line] = o
	}
	return lines
}

// requireAllScores checks that the runs together recorded each of the n
// lines of scoresData exactly once, succeeded with its own outputs.
func requireAllScores(t *testing.T, home string, n int, runs ...string) {
	t.Helper()
	seen := map[int]string{}
	for _, run := range runs {
		for line, o := range runOutputs(t, home, run) {
			prev, dup := seen[line]
			require.False(t, dup, "line %d recorded by run %s and run %s", line, prev, run)
			seen[line] = run
			require.Equal(t, "succeeded", o.Status, "line %d: %s", line, o.Error)
			assert.JSONEq(t, fmt.Sprintf(`{"greeting":"Hello, p%d!","score":%d}`, line, line), string(o.Outputs), "line %d", line)
		}
	}
	for i := 1; i <= n; i++ {
		_, ok := seen[i]
		assert.True(t, ok, "line %d lost", i)
	}
	assert.Len(t, seen, n)
}

// worker returns the heartbeat of worker id in st, if any.
func worker(st pool.Status, id string) (pool.WorkerInfo, bool) {
	for _, w := range st.Workers {
		if w.ID == id {
			return w, true
		}
	}
	return pool.WorkerInfo{}, false
}

// workStats reads the work stream of pool name: the lines published to
// it (its last sequence; a line published again within the duplicate
// window is dropped) and the deliveries of its consumer, each
// redelivery included.
func workStats(t *testing.T, url, name string, opts ...nats.Option) (published, delivered uint64) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	stream, err := js.Stream(ctx, "WEIR_POOL_"+name+"_WORK")
	require.NoError(t, err)
	cons, err := stream.Consumer(ctx, "workers")
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	return stream.CachedInfo().State.LastSeq, info.Delivered.Consumer
}

// startPoolBatch starts weir batch --pool of scores.cue over data, from the
// root of the repository, with its record under home.
func startPoolBatch(t *testing.T, env []string, home, url, name, data string, args ...string) *proc {
	t.Helper()
	_, root := weirBinary(t)
	return startProc(t, root, env, append([]string{"batch", "--home", home, "--nats", url, "--pool", name,
		"cmd/weir/testdata/scores.cue", "--data", data}, args...)...)
}

// waitMidway waits until the batch recorded some, but not all, of its n
// lines.
func waitMidway(t *testing.T, b *proc, home string, n int) {
	t.Helper()
	poll(t, "the batch to record some of its lines", func() bool {
		done := recordedLines(t, home)
		if done >= n || b.exited() {
			t.Fatalf("%d of %d lines recorded: the batch ended before the fault:\n%s", done, n, b.output())
		}
		return done > 0
	})
}

// batchStarted is the line weir batch starts with, naming its run.
var batchStarted = regexp.MustCompile(`batch (\S+): \d+ lines to run`)

// batchRun is the id of the run weir batch printed.
func batchRun(t *testing.T, b *proc) string {
	t.Helper()
	m := runID.FindStringSubmatch(b.output())
	require.NotNil(t, m, b.output())
	return m[1]
}

// TestPoolFaultKillWorker: one of three workers is SIGKILLed while it
// holds lines; they go to the others after the ack wait, and the record
// has every line once.
func TestPoolFaultKillWorker(t *testing.T) {
	t.Parallel()
	s := startFaultServer(t)
	createPool(t, nil, s.url, "kill")
	const n, concurrency = 300, 2
	var workers []*proc
	for i := range 3 {
		workers = append(workers, startFaultWorker(t, nil, s.url, "kill", "--id", fmt.Sprintf("w%d", i), "--concurrency", strconv.Itoa(concurrency)))
	}
	home := t.TempDir()
	b := startPoolBatch(t, nil, home, s.url, "kill", scoresData(t, n, "200ms"))

	// The victim's heartbeat says it holds lines; the batch is midway.
	poll(t, "worker w1 to hold lines", func() bool {
		st := statusOf(t, s.url, "kill")
		w, ok := worker(st, "w1")
		return ok && w.Running > 0
	})
	waitMidway(t, b, home, n)
	workers[1].kill()

	require.Equal(t, 0, b.wait(t), b.output())
	run := batchRun(t, b)
	assert.Contains(t, b.output(), fmt.Sprintf("lines    %d: %d succeeded, 0 failed\n", n, n))
	requireAllScores(t, home, n, run)
	published, delivered := workStats(t, s.url, "kill")
	assert.Equal(t, uint64(n), published)
	assert.Greater(t, delivered, published, "the killed worker's lines were delivered again")
	for _, i := range []int{0, 2} {
		assert.Equal(t, 0, workers[i].stop(t), workers[i].output())
	}
}

// TestPoolFaultRestartServer: weir pool serve stops (SIGTERM) and starts
// again on the same port and store in the middle of a batch; workers and
// submitter reconnect, and nothing is lost.
func TestPoolFaultRestartServer(t *testing.T) {
	t.Parallel()
	s := startFaultServer(t)
	createPool(t, nil, s.url, "restart")
	const n = 300
	for i := range 2 {
		startFaultWorker(t, nil, s.url, "restart", "--id", fmt.Sprintf("w%d", i), "--concurrency", "4")
	}
	home := t.TempDir()
	b := startPoolBatch(t, nil, home, s.url, "restart", scoresData(t, n, "100ms"))
	waitMidway(t, b, home, n)

	require.Equal(t, 0, s.stop(t), s.output())
	s.start(t)

	require.Equal(t, 0, b.wait(t), b.output())
	run := batchRun(t, b)
	assert.Contains(t, b.output(), fmt.Sprintf("lines    %d: %d succeeded, 0 failed\n", n, n))
	requireAllScores(t, home, n, run)
}

// TestPoolFaultKillSubmitter: weir batch --pool is SIGKILLed midway; weir
// runs wait finishes its batch in a new run, from the results the pool
// kept and the lines it still had, without running a line twice.
func TestPoolFaultKillSubmitter(t *testing.T) {
	t.Parallel()
	s := startFaultServer(t)
	createPool(t, nil, s.url, "submit")
	const n = 300
	var workers []*proc
	for i := range 2 {
		workers = append(workers, startFaultWorker(t, nil, s.url, "submit", "--id", fmt.Sprintf("w%d", i), "--concurrency", "4"))
	}
	home := t.TempDir()
	b := startPoolBatch(t, nil, home, s.url, "submit", scoresData(t, n, "100ms"))
	waitMidway(t, b, home, n)
	b.kill()
	m := batchStarted.FindStringSubmatch(b.output())
	require.NotNil(t, m, b.output())
	killed := m[1]

	bin, root := weirBinary(t)
	r := runBinaryEnv(t, bin, root, "", noNATSEnv, "runs", "wait", "--home", home, killed)
	require.Equal(t, 0, r.code, r.stderr)
	m = runID.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	resumed := m[1]
	assert.NotEqual(t, killed, resumed)
	assert.Contains(t, r.stdout, fmt.Sprintf(`metrics  {"mean":{"count":%d,`, n), "the metrics cover every line")
	carried := runOutputs(t, home, killed)
	assert.NotEmpty(t, carried)
	assert.Len(t, runOutputs(t, home, resumed), n-len(carried))
	requireAllScores(t, home, n, killed, resumed)

	// The workers ran each line once: what weir runs wait queued again was
	// only what they had not done.
	var st pool.Status
	poll(t, "the workers' heartbeats to count every line", func() bool {
		st = statusOf(t, s.url, "submit")
		total := int64(0)
		for _, w := range st.Workers {
			total += w.Lines
		}
		return total >= n
	})
	total := int64(0)
	for _, w := range st.Workers {
		total += w.Lines
	}
	assert.Equal(t, int64(n), total, "lines run by the workers")
	published, delivered := workStats(t, s.url, "submit")
	assert.Equal(t, uint64(n), published, "each line published once")
	assert.Equal(t, uint64(n), delivered, "each line delivered once")
	for _, w := range workers {
		assert.Equal(t, 0, w.stop(t), w.output())
	}
}

// poisonTool kills the weir process that runs it on the line whose name
// is "poison", as a tool that crashes its worker every time would.
const poisonTool = `"""A tool that kills the worker that runs it on a poison line."""
import os
import signal

from promptflow.core import tool


@tool
def check(name: str) -> str:
    """Checks a name; the name poison kills the process that runs the tool."""
    if name == "poison":
        os.kill(os.getppid(), signal.SIGKILL)
    return "checked " + name
`

const poisonFlow = `name: "poison"
plugins: py: python: "tools/"
inputs: name: string
nodes: check: {tool: "py.check", inputs: name: "${inputs.name}"}
outputs: text: "${check.output.value}"
`

// supervise keeps a weir worker running on pool name, started again each
// time it dies, until the test ends.
func supervise(t *testing.T, env []string, url, name string) {
	t.Helper()
	bin, _ := weirBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	cache := t.TempDir()
	wg.Go(func() {
		for ctx.Err() == nil {
			// Concurrency 1: a worker the poison kills holds no other line,
			// which would reach max-deliver with it.
			cmd := exec.CommandContext(ctx, bin, "worker", "--nats", url, "--pool", name, "--cache", cache, "--concurrency", "1")
			cmd.Env = append(append(os.Environ(), noNATSEnv...), env...)
			_ = cmd.Run()
		}
	})
}

// TestPoolFaultErrors: a line that kills every worker it reaches, a
// tampered bundle, wrong credentials and a pool that does not exist, each
// with the error that says what happened.
func TestPoolFaultErrors(t *testing.T) {
	t.Parallel()
	s := startFaultServer(t, "--user", "weir", "--password", "s3cret")
	auth := []string{"NATS_USER=weir", "NATS_PASSWORD=s3cret"}
	env := append(append([]string{}, noNATSEnv...), auth...)
	bin, root := weirBinary(t)

	t.Run("wrong password", func(t *testing.T) {
		r := weirNATS(t, []string{"NATS_USER=weir", "NATS_PASSWORD=guess"}, "worker", "--nats", s.url, "--pool", "any")
		assert.Equal(t, result{1, "", "weir: connect to " + s.url + `: authorization failed: the server refused user "weir" with the password given` + "\n"}, r)
	})

	t.Run("no such pool", func(t *testing.T) {
		r := runBinaryEnv(t, bin, root, "", env, "batch", "--home", t.TempDir(), "--nats", s.url, "--pool", "nosuch",
			"cmd/weir/testdata/scores.cue", "--data", scoresData(t, 5, "0s"))
		assert.Equal(t, result{1, "", `weir: pool "nosuch" does not exist on ` + s.url + "; create it with weir pool create nosuch\n"}, r)
	})

	t.Run("poison line", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skipf("SKIP LOUDLY: no python3 on PATH for the tool that kills its worker: %v", err)
		}
		createPool(t, auth, s.url, "poison", "--max-deliver", "2")
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "tools"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tools", "crash.py"), []byte(poisonTool), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(poisonFlow), 0o644))
		const n, poison = 30, 12
		var data strings.Builder
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("p%d", i)
			if i == poison {
				name = "poison"
			}
			fmt.Fprintf(&data, `{"name":%q}`+"\n", name)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(data.String()), 0o644))
		supervise(t, auth, s.url, "poison")
		supervise(t, auth, s.url, "poison")

		home := t.TempDir()
		r := runBinaryEnv(t, bin, dir, "", env, "batch", "--home", home, "--nats", s.url, "--pool", "poison", "flow.cue", "--data", "data.jsonl")
		assert.Equal(t, 1, r.code, "a failed line fails the batch")
		assert.Contains(t, r.stdout, fmt.Sprintf("lines    %d: %d succeeded, 1 failed\n", n, n-1))
		const reason = "no worker finished the line: it was delivered 2 times (the pool's max-deliver) and each worker it reached stopped before its result (a crash, a kill, or a lost machine)"
		assert.Contains(t, r.stderr, fmt.Sprintf("  line %d: %s\n", poison, reason))
		m := runID.FindStringSubmatch(r.stdout)
		require.NotNil(t, m, r.stdout)
		lines := runOutputs(t, home, m[1])
		// The poison line was delivered twice, then went to the dead letters.
		published, delivered := workStats(t, s.url, "poison", nats.UserInfo("weir", "s3cret"))
		assert.Equal(t, uint64(n), published)
		assert.Equal(t, uint64(n+1), delivered)
		require.Len(t, lines, n)
		for i := 1; i <= n; i++ {
			if i == poison {
				assert.Equal(t, recordedLine{Line: i, Status: "failed", Error: reason, ErrorKind: "tool"}, lines[i])
				continue
			}
			assert.Equal(t, "succeeded", lines[i].Status, "line %d: %s", i, lines[i].Error)
			assert.JSONEq(t, fmt.Sprintf(`{"text":"checked p%d"}`, i), string(lines[i].Outputs), "line %d", i)
		}
	})

	t.Run("tampered bundle", func(t *testing.T) {
		createPool(t, auth, s.url, "tamper")
		const n = 5
		data := scoresData(t, n, "0s")
		home := t.TempDir()
		// No worker yet: the lines wait while the bundle is replaced.
		r := runBinaryEnv(t, bin, root, "", env, "batch", "--home", home, "--nats", s.url, "--pool", "tamper", "--detach",
			"cmd/weir/testdata/scores.cue", "--data", data)
		require.Equal(t, 0, r.code, r.stderr)
		detached := strings.TrimSpace(r.stdout)

		// Another flow's bundle, valid but not the digest it is stored
		// under, replaces the scores flow's in the pool's object store.
		other := filepath.Join(t.TempDir(), "hello.weir")
		r = runBinaryEnv(t, bin, root, "", env, "bundle", "-o", other, "examples/hello")
		require.Equal(t, 0, r.code, r.stderr)
		otherData, err := os.ReadFile(other)
		require.NoError(t, err)
		ob, err := bundle.Read(otherData)
		require.NoError(t, err)
		nc, err := nats.Connect(s.url, nats.UserInfo("weir", "s3cret"))
		require.NoError(t, err)
		defer nc.Close()
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		ctx := context.Background()
		store, err := js.ObjectStore(ctx, "WEIR_POOL_tamper_BUNDLES")
		require.NoError(t, err)
		objs, err := store.List(ctx)
		require.NoError(t, err)
		require.Len(t, objs, 1)
		digest := objs[0].Name
		_, err = store.PutBytes(ctx, digest, otherData)
		require.NoError(t, err)
		refused := fmt.Sprintf(`fetch bundle %.19s… from pool "tamper": bundle does not match its digest: it is %.19s…; refused`, digest, ob.Manifest().Digest)

		// The worker refuses it for each line, which fails saying so; the
		// submitter has the flow, and the pool the bundle's digest, so it
		// is not sent again.
		startFaultWorker(t, auth, s.url, "tamper")
		r = runBinaryEnv(t, bin, root, "", env, "batch", "--home", home, "--nats", s.url, "--pool", "tamper",
			"cmd/weir/testdata/scores.cue", "--data", data)
		assert.Equal(t, 1, r.code, r.stderr)
		assert.Contains(t, r.stdout, fmt.Sprintf("lines    %d: 0 succeeded, %d failed\n", n, n))
		m := runID.FindStringSubmatch(r.stdout)
		require.NotNil(t, m, r.stdout)
		lines := runOutputs(t, home, m[1])
		require.Len(t, lines, n)
		for i := 1; i <= n; i++ {
			assert.Equal(t, recordedLine{Line: i, Status: "failed", Error: refused, ErrorKind: "tool"}, lines[i], "line %d", i)
		}

		// weir runs wait fetches the bundle to load the flow: it refuses
		// it too.
		r = runBinaryEnv(t, bin, root, "", env, "runs", "wait", "--home", home, detached)
		assert.Equal(t, result{1, "", "weir: " + refused + "\n"}, r)
	})
}

// TestPoolFaultJoinAndLeave: a worker that joins in the middle of a batch
// takes lines; one that gets SIGTERM in the middle finishes the lines it
// holds before it exits, so that none is delivered again.
func TestPoolFaultJoinAndLeave(t *testing.T) {
	t.Parallel()
	s := startFaultServer(t)
	createPool(t, nil, s.url, "join")
	const n = 400
	first := startFaultWorker(t, nil, s.url, "join", "--id", "first", "--concurrency", "4")
	home := t.TempDir()
	b := startPoolBatch(t, nil, home, s.url, "join", scoresData(t, n, "150ms"))
	waitMidway(t, b, home, n)

	joined := startFaultWorker(t, nil, s.url, "join", "--id", "joined", "--concurrency", "4")
	poll(t, "the worker that joined to finish lines", func() bool {
		w, ok := worker(statusOf(t, s.url, "join"), "joined")
		if b.exited() {
			t.Fatalf("the batch ended before the worker that joined took a line:\n%s", b.output())
		}
		return ok && w.Lines > 0
	})
	st := statusOf(t, s.url, "join")
	w, _ := worker(st, "first")
	require.Positive(t, w.Running, "the first worker holds lines when it is told to stop")
	require.False(t, b.exited(), "the batch is still running")
	assert.Equal(t, 0, first.stop(t), first.output())
	assert.Regexp(t, `worker first: drained\n$`, first.output())

	require.Equal(t, 0, b.wait(t), b.output())
	requireAllScores(t, home, n, batchRun(t, b))
	published, delivered := workStats(t, s.url, "join")
	assert.Equal(t, uint64(n), published)
	assert.Equal(t, uint64(n), delivered, "no line of the worker that left was delivered again")
	st = statusOf(t, s.url, "join")
	assert.Equal(t, uint64(0), st.Redelivered)
	_, ok := worker(st, "first")
	assert.False(t, ok, "a worker that drained is gone from the pool's status")
	assert.Equal(t, 0, joined.stop(t), joined.output())
}
