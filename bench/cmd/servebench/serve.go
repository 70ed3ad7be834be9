package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weirflow/weir/bench"
)

// validate runs weir validate on the flow: a flow that the template made
// wrong fails here with weir's own words, not as 500 errors under load.
func validate(ctx context.Context, exe, flow string) error {
	out, err := exec.CommandContext(ctx, exe, "validate", flow).CombinedOutput()
	if err != nil {
		return fmt.Errorf("weir validate %s: %v\n%s", flow, err, out)
	}
	return nil
}

// server is a weir serve child process.
type server struct {
	cmd    *exec.Cmd
	url    string
	waited chan struct{}
	err    error // of Wait, once waited is closed

	mu  sync.Mutex
	out bytes.Buffer // its stderr (and stdout)
}

// startServe starts weir serve on the flow, on a free loopback port, and
// returns once /readyz answers 200.
func startServe(ctx context.Context, exe, flow string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, waited: make(chan struct{})}
	s.cmd = exec.Command(exe, "serve", "--addr", addr, "--max-concurrent", "2000", flow)
	s.cmd.Stdout = (*lockedWriter)(s)
	s.cmd.Stderr = (*lockedWriter)(s)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start weir serve: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.waited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.waited:
			return nil, fmt.Errorf("weir serve exited before it was ready: %v\n%s", s.err, s.stderr())
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("weir serve not ready after 30s:\n%s", s.stderr())
		}
	}
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type lockedWriter server

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

func (s *server) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and returns weir's exit code, killing it if it has not
// drained within grace.
func (s *server) stop(grace time.Duration) (int, error) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("stop weir serve: %w", err)
	}
	select {
	case <-s.waited:
	case <-time.After(grace):
		s.kill()
		return 0, fmt.Errorf("weir serve still running %s after SIGTERM; killed:\n%s", grace, s.stderr())
	}
	var exit *exec.ExitError
	if s.err != nil && !errors.As(s.err, &exit) {
		return 0, s.err
	}
	return s.cmd.ProcessState.ExitCode(), nil
}

// kill ends the process if it still runs; it is safe after stop.
func (s *server) kill() {
	select {
	case <-s.waited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.waited
	}
}

// peakRSS is the process's peak resident set in bytes (VmHWM), 0 where
// /proc does not say.
func (s *server) peakRSS() int64 {
	_, peak := bench.ProcMemory(s.pid())
	return peak
}

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times:
// 100 on every architecture Go supports.
const clockTick = 100

// cpuTime is the user and system CPU time the process pid has used, from
// /proc; ok is false where /proc does not say.
func cpuTime(pid int) (d time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing one. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTick, true
}
