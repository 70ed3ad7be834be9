package python

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir/internal/procgroup"
)

// pipeGrace bounds how long weir reads a process's stdout and stderr once
// its group was killed: only a descendant that left the group (setsid)
// can still hold the pipes then.
const pipeGrace = 2 * time.Second

// process is one interpreter running _weir_runner.py. One call at a time
// uses it: the pool hands it to a caller and takes it back.
type process struct {
	cmd    *exec.Cmd
	grp    *procgroup.Group
	req    *os.File // the write end of the requests pipe, fd 3 in the process
	resp   *os.File // the read end of the answers pipe, fd 4 in the process
	rd     *bufio.Reader
	buf    []byte // the request being written
	stderr *procgroup.Tail
	// logged takes a line the tool printed, from a log frame.
	logged func(stream, line string)
	// stderrDone closes once stderr is read to its end.
	stderrDone chan struct{}
	// tool is the tool of the call under way, for its log lines.
	tool atomic.Pointer[call]

	exited  chan struct{} // closed once the process is reaped
	exitErr error         // how it exited, set before exited closes
	killed  atomic.Bool   // weir stopped it
}

// call is the call a process serves, which its output lines belong to.
type call struct {
	ctx  context.Context
	tool string
}

// frame is an answer of the runner: an output, or an error; or a line a
// tool printed, which comes before its call's answer.
type frame struct {
	Log   string `json:"log"` // "stdout" or "stderr"
	Text  string `json:"text"`
	Ready bool   `json:"ready"`
	Error *struct {
		Kind    string   `json:"kind"`
		Message string   `json:"message"`
		Frames  []string `json:"frames"`
		Discard bool     `json:"discard"`
		Size    int64    `json:"size"`
	} `json:"error"`
}

// aLongTimeAgo is a deadline in the past: it stops a blocked read or write.
var aLongTimeAgo = time.Unix(1, 0)

// startProcess starts the runner, hands it init and waits for it to have
// imported the tools' files, within deadline.
func (pl *Plugin) startProcess(ctx context.Context, interpreter string, deadline time.Time) (_ *process, err error) {
	var closers []*os.File
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		closers = append(closers, r, w)
		return r, w
	}
	reqR, reqW := pipe()
	respR, respW := pipe()
	outR, outW := pipe()
	errR, errW := pipe()
	if err != nil {
		for _, f := range closers {
			f.Close()
		}
		return nil, fmt.Errorf("start Python: %w", err)
	}
	// -s: no user site-packages; -B: no __pycache__ written into the
	// tools' folder, which may be read-only or pinned.
	cmd := exec.Command(interpreter, "-s", "-B", pl.runner)
	cmd.Env = pl.env
	cmd.Dir = pl.tree.root
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{reqR, respW}
	pr := &process{cmd: cmd, req: reqW, resp: respR, rd: bufio.NewReaderSize(respR, 64<<10), exited: make(chan struct{}), stderrDone: make(chan struct{})}
	pr.stderr = procgroup.NewTail(pl.p.opts.StderrLines, pl.logLine(pr, "stderr"))
	stdout := procgroup.NewTail(0, pl.logLine(pr, "stdout"))
	pr.logged = func(stream, line string) {
		if stream == "stderr" {
			// Kept for the message of a crash, as well as logged.
			_, _ = pr.stderr.Write([]byte(line + "\n"))
			return
		}
		_, _ = stdout.Write([]byte(line + "\n"))
	}
	// Under mu, so that Close either sees the process's goroutines in wg
	// or this start sees it closed.
	pl.mu.Lock()
	err = ErrClosed
	if !pl.closed {
		pr.grp, err = procgroup.Spawn(cmd)
		if err == nil {
			pl.wg.Add(3)
		}
	}
	pl.mu.Unlock()
	for _, f := range []*os.File{reqR, respW, outW, errW} {
		f.Close()
	}
	if err != nil {
		for _, f := range []*os.File{reqW, respR, outR, errR} {
			f.Close()
		}
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("start %s: %w", interpreter, err)
	}
	go pl.copyLines(outR, stdout, nil)
	go pl.copyLines(errR, pr.stderr, pr.stderrDone)
	go pl.reap(pr, outR, errR)

	fail := func(err error) (*process, error) {
		pr.kill()
		<-pr.exited
		return nil, err
	}
	init, _ := json.Marshal(pl.init)
	a, err := pr.roundTrip(ctx, deadline, pr.request(init), pl.limits.Output)
	switch {
	case err != nil:
		return fail(pl.processFailed(ctx, pr, err, "during its start", fmt.Sprintf("the start timeout (%s, the tools' imports included)", pl.p.opts.StartTimeout)))
	case a.Error != nil:
		return fail(errors.New(wireMessage(a.Error.Message, a.Error.Frames)))
	case !a.Ready:
		return fail(fmt.Errorf("start Python: the runner answered %s", a.raw))
	}
	return pr, nil
}

// copyLines copies a pipe of the process into t, line by line, and
// closes done, when not nil, at its end.
func (pl *Plugin) copyLines(r *os.File, t *procgroup.Tail, done chan struct{}) {
	defer pl.wg.Done()
	// To its end, or to the deadline reap sets once the process exited:
	// closing r sooner would lose what the process wrote last, a crash's
	// report on stderr.
	_, _ = io.Copy(t, r)
	_ = r.Close()
	if done != nil {
		close(done)
	}
}

// reap waits for the process to exit and kills what is left of its group.
// Its exit also stops a call waiting for its answer: a child the tool
// forked may still hold the answers pipe open.
func (pl *Plugin) reap(pr *process, out, errs *os.File) {
	defer pl.wg.Done()
	if pr.grp.AwaitExit() {
		pr.grp.Kill()
	}
	pr.exitErr = pr.cmd.Wait()
	pr.grp.Reaped()
	_ = pr.resp.SetReadDeadline(aLongTimeAgo)
	// copyLines reads what is left in stdout and stderr, then closes them.
	_ = out.SetReadDeadline(time.Now().Add(pipeGrace))
	_ = errs.SetReadDeadline(time.Now().Add(pipeGrace))
	close(pr.exited)
	// The reader of answers and the writer of requests are this
	// goroutine's to close once the process is gone: no call uses them
	// then, and closing them earlier could let a call read a closed file.
	pr.req.Close()
	pr.resp.Close()
}

// kill stops the process and its group.
func (pr *process) kill() {
	pr.killed.Store(true)
	pr.grp.Stop(pr.cmd.Process)
}

// answer is a frame and its raw bytes.
type answer struct {
	frame
	raw []byte
}

// request frames parts as one request in pr's buffer.
func (pr *process) request(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	pr.buf = binary.BigEndian.AppendUint32(pr.buf[:0], uint32(n))
	for _, p := range parts {
		pr.buf = append(pr.buf, p...)
	}
	return pr.buf
}

// roundTrip writes a request and reads its answer, all before deadline or
// the end of ctx, and with an answer of at most limit bytes and a little
// more for its frame.
func (pr *process) roundTrip(ctx context.Context, deadline time.Time, req []byte, limit int) (answer, error) {
	_ = pr.req.SetWriteDeadline(deadline)
	_ = pr.resp.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() {
		_ = pr.req.SetWriteDeadline(aLongTimeAgo)
		_ = pr.resp.SetReadDeadline(aLongTimeAgo)
	})
	defer stop()
	if _, err := pr.req.Write(req); err != nil {
		return answer{}, err
	}
	for {
		var n [4]byte
		if _, err := io.ReadFull(pr.rd, n[:]); err != nil {
			return answer{}, err
		}
		size := int(binary.BigEndian.Uint32(n[:]))
		if size > limit+maxFrameExtra {
			return answer{}, errFrameTooLarge
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(pr.rd, raw); err != nil {
			return answer{}, err
		}
		if isOutput(raw) {
			return answer{raw: raw}, nil
		}
		a := answer{raw: raw}
		if err := json.Unmarshal(raw, &a.frame); err != nil {
			return answer{}, fmt.Errorf("%w: %v", errProtocol, err)
		}
		if a.Log == "" {
			return a, nil
		}
		pr.logged(a.Log, a.Text)
	}
}

// maxFrameExtra is what an answer may hold beside an output of
// limits.output bytes: the runner checks the limit itself, but weir does
// not trust it to.
const maxFrameExtra = 64 << 10

var (
	errFrameTooLarge = errors.New("the runner sent an answer over limits.output")
	errProtocol      = errors.New("the runner broke weir's protocol")
)

// outputPrefix starts an answer that holds an output: {"output":{...}}.
const outputPrefix = `{"output":`

func isOutput(raw []byte) bool {
	return len(raw) > len(outputPrefix) && string(raw[:len(outputPrefix)]) == outputPrefix
}

// exitText is how the process exited: "exit status 3", "signal: killed".
func (pr *process) exitText() string {
	var ee *exec.ExitError
	if errors.As(pr.exitErr, &ee) {
		return ee.String()
	}
	if pr.exitErr != nil {
		return pr.exitErr.Error()
	}
	return "exit status 0"
}
