package python

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/internal/inert"
	"github.com/weirflow/weir/plugins"
)

// Plugin is an opened Python plugin: its tools and a pool of interpreter
// processes that run them, each one call at a time. Processes start on
// the first calls that need them and live until Close; one that fails in
// a way that leaves it in doubt (a timeout, a crash, a memory error) is
// killed with its process group and replaced by the next call that needs
// one. It is safe for concurrent use.
type Plugin struct {
	p      *Provider
	name   string // the entry's name in the flow
	tree   *tree
	limits Limits
	env    []string
	runner string // _weir_runner.py's path
	init   initFrame
	tools  []plugins.Tool
	log    *slog.Logger

	logRate *rate.Limiter
	dropped atomic.Int64 // log lines over logRate, not yet reported

	// interpreter finds the interpreter: the flow's, or that of the venv
	// made for its requirements, made on first use.
	interpreter func(context.Context) (string, error)
	digest      func() (string, error)

	slots chan struct{} // one per process that may run

	mu     sync.Mutex
	idle   []*process
	live   map[*process]struct{}
	closed bool
	wg     sync.WaitGroup // the goroutines of the processes
}

// initFrame is the runner's first request: what to load.
type initFrame struct {
	Root   string                  `json:"root"`
	Files  []string                `json:"files"`
	Tools  map[string]initToolSpec `json:"tools"`
	Memory int64                   `json:"memory,omitempty"`
	Output int                     `json:"output"`
}

type initToolSpec struct {
	File        string            `json:"file"`
	Wrap        bool              `json:"wrap"`
	Connections map[string]string `json:"connections,omitempty"`
}

// Tools returns the plugin's tools, in the order of their files and lines.
func (pl *Plugin) Tools() []plugins.Tool { return append([]plugins.Tool(nil), pl.tools...) }

// SHA256 is the digest of the plugin's files in hex, which a flow's
// sha256 pins: see Digest (the function).
func (pl *Plugin) SHA256() string { return pl.tree.digest }

// Digest names the code the tools run, for the node result cache
// (plugins.Digester): the files' digest, weir's module for Python, the
// interpreter's path and the requirements file's bytes. It is safe for
// concurrent use.
func (pl *Plugin) Digest() (string, error) { return pl.digest() }

// PoolStats counts the plugin's interpreter processes.
func (pl *Plugin) PoolStats() plugins.PoolStats {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return plugins.PoolStats{Live: len(pl.live), Idle: len(pl.idle)}
}

// Close kills every process of the plugin, with its process group, and
// waits until they are gone. Calls after Close fail with ErrClosed. It is
// idempotent.
func (pl *Plugin) Close() error {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil
	}
	pl.closed = true
	for pr := range pl.live {
		pr.kill()
	}
	pl.idle = nil
	pl.mu.Unlock()
	pl.wg.Wait()
	pl.p.forget(pl)
	return nil
}

// get returns an idle process, or starts one. The caller holds a slot.
func (pl *Plugin) get(ctx context.Context) (*process, error) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(pl.idle); n > 0 {
		pr := pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		return pr, nil
	}
	pl.mu.Unlock()
	interpreter, err := pl.interpreter(ctx)
	if err != nil {
		return nil, err
	}
	// limits.timeout bounds the tool's run, not the interpreter's start;
	// ctx bounds both.
	pr, err := pl.startProcess(ctx, interpreter, time.Now().Add(pl.p.opts.StartTimeout))
	if err != nil {
		return nil, err
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		pr.kill()
		return nil, ErrClosed
	}
	pl.live[pr] = struct{}{}
	return pr, nil
}

// put gives a process that served a call back to the pool.
func (pl *Plugin) put(pr *process) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return // Close killed it
	}
	pl.idle = append(pl.idle, pr)
}

// discard kills a process that cannot be trusted with another call.
func (pl *Plugin) discard(pr *process) {
	pr.kill()
	pl.mu.Lock()
	delete(pl.live, pr)
	pl.mu.Unlock()
}

// tool is one tool of a Python plugin.
type tool struct {
	pl       *Plugin
	contract plugins.Contract
	head     []byte // the request's start: {"tool":"name","inputs":
}

func (t *tool) Contract() plugins.Contract { return t.contract }

// Invoke runs the tool in a process of the pool, under limits.timeout and
// ctx. See Plugin for what becomes of a process that fails.
func (t *tool) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	pl := t.pl
	select {
	case pl.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-pl.slots }()
	pr, err := pl.get(ctx)
	if err != nil {
		if ctx.Err() == nil {
			err = plugins.Exited(err) // no process to call
		}
		return nil, err
	}
	deadline := time.Now().Add(pl.limits.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Kept after the call: a line the tool wrote just before it returned
	// may be read a moment after.
	pr.tool.Store(&call{ctx: ctx, tool: t.contract.Name})
	a, err := pr.roundTrip(ctx, deadline, pr.request(t.head, in, closeBrace), pl.limits.Output)
	if err != nil {
		err = pl.processFailed(ctx, pr, err, "during the call", fmt.Sprintf("limits.timeout (%s)", pl.limits.Timeout))
		pl.discard(pr)
		return nil, err
	}
	if a.Error == nil {
		pl.put(pr)
		return a.raw[len(outputPrefix) : len(a.raw)-1], nil
	}
	e := a.Error
	if e.Discard {
		pl.discard(pr)
	} else {
		pl.put(pr)
	}
	switch e.Kind {
	case "output":
		return nil, plugins.Errorf(plugins.Limit, "limits.output (%s) exceeded: the output is %s",
			bytesize.Format(int64(pl.limits.Output)), bytesize.Format(e.Size))
	case "limit":
		msg := wireMessage(e.Message, e.Frames)
		if pl.limits.Memory > 0 {
			msg = fmt.Sprintf("limits.memory (%s) exceeded: %s", bytesize.Format(pl.limits.Memory), msg)
		}
		return nil, plugins.Errorf(plugins.Limit, "%s", msg)
	case "retryable":
		return nil, plugins.Errorf(plugins.Retryable, "%s", wireMessage(e.Message, e.Frames))
	}
	return nil, errors.New(wireMessage(e.Message, e.Frames))
}

var closeBrace = []byte("}")

// wireMessage is an error the runner sent, made safe to show: the
// exception, then each frame on a line of its own.
func wireMessage(msg string, frames []string) string {
	var b strings.Builder
	b.WriteString(inert.Text(msg, maxMessage))
	for _, f := range frames {
		b.WriteString("\n\t")
		b.WriteString(inert.Text(f, maxMessage))
	}
	return b.String()
}

// processFailed says why a round trip with pr failed: pr exited (a crash,
// retryable), ctx ended, the round trip's deadline (limit, which names it)
// passed, or pr broke the protocol. pr is killed, if it still runs.
func (pl *Plugin) processFailed(ctx context.Context, pr *process, err error, when, limit string) error {
	exited := false
	select {
	case <-pr.exited:
		exited = true
	default:
		if !errors.Is(err, errFrameTooLarge) && !errors.Is(err, errProtocol) && ctx.Err() == nil && !isTimeout(err) {
			// A broken pipe or EOF comes a moment before the exit.
			select {
			case <-pr.exited:
				exited = true
			case <-time.After(2 * time.Second):
			}
		}
	}
	killed := pr.killed.Load()
	pr.kill()
	// The read's deadline may pass a moment before ctx's own, which is
	// the same time when ctx's came first.
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
		ctxErr = context.DeadlineExceeded
	}
	if exited {
		// Its last lines of stderr, before they are quoted.
		select {
		case <-pr.stderrDone:
		case <-time.After(pipeGrace):
		}
	}
	switch {
	case exited && !killed:
		return plugins.Exited(plugins.Errorf(plugins.Retryable, "the Python process exited (%s) %s%s", pr.exitText(), when, pr.stderr))
	case ctxErr != nil:
		return fmt.Errorf("the Python process was stopped %s: %w", when, ctxErr)
	case isTimeout(err):
		return plugins.Errorf(plugins.Timeout, "%s exceeded: the Python process was stopped", limit)
	case errors.Is(err, errFrameTooLarge):
		return plugins.Errorf(plugins.Limit, "limits.output (%s) exceeded: %v, and was stopped", bytesize.Format(int64(pl.limits.Output)), err)
	}
	return fmt.Errorf("the Python process failed %s: %w; it was stopped%s", when, err, pr.stderr)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Bounds on what a process can make weir log: a line is cut at maxMessage
// bytes, and a plugin logs at most logsPerSecond lines a second (with a
// burst of as many); the lines over it are counted and reported.
const (
	maxMessage    = 4 << 10
	logsPerSecond = 100
)

// logLine returns what logs a line pr wrote to stream: a record of the
// plugin's logger at level Info, under the context of the call under way.
func (pl *Plugin) logLine(pr *process, stream string) func(string) {
	return func(line string) {
		ctx, attrs := context.Background(), []any{"stream", stream}
		if c := pr.tool.Load(); c != nil {
			ctx, attrs = c.ctx, append(attrs, "tool", c.tool)
		}
		if !pl.logRate.Allow() {
			pl.dropped.Add(1)
			return
		}
		if n := pl.dropped.Swap(0); n > 0 {
			pl.log.Warn("dropped " + strconv.FormatInt(n, 10) + " lines of output: a Python plugin logs at most " + strconv.Itoa(logsPerSecond) + " lines a second")
		}
		pl.log.Log(ctx, slog.LevelInfo, inert.Text(line, maxMessage), attrs...)
	}
}

var (
	_ plugins.Plugin   = (*Plugin)(nil)
	_ plugins.Pooled   = (*Plugin)(nil)
	_ plugins.Digester = (*Plugin)(nil)
	_ plugins.Tool     = (*tool)(nil)
)
