//go:build unix

package local

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/internal/hostutil"
)

// Host runs deployments as detached `weir serve --admin` processes
// listening on loopback. The zero value is not ready: set Dir.
type Host struct {
	// Dir holds a folder per deployment: its copy of the bundle and its log.
	Dir string
	// Weir is the weir binary to run; the running executable when empty.
	Weir string
	// Addr is the address to listen on; a free loopback port when empty.
	Addr string
	// ReadyTimeout bounds the wait for /readyz (30s).
	ReadyTimeout time.Duration
}

// Name returns "local".
func (h *Host) Name() string { return "local" }

// Deploy copies the bundle into the deployment's folder, starts `weir serve`
// on it in a session of its own (it outlives the caller), and waits until it
// is ready. A process that exits first fails the deploy with the end of its
// log.
func (h *Host) Deploy(ctx context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	fail := func(err error) (hosts.Deployment, error) {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on local: %w", req.Name, err)
	}
	weir := h.Weir
	if weir == "" {
		var err error
		if weir, err = os.Executable(); err != nil {
			return fail(err)
		}
	}
	addr := h.Addr
	if addr == "" {
		var err error
		if addr, err = freePort(); err != nil {
			return fail(err)
		}
	}
	dir := filepath.Join(h.Dir, req.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	bundle := filepath.Join(dir, "bundle.weir")
	if err := copyFile(req.Bundle, bundle); err != nil {
		return fail(err)
	}
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	// The admin API is on, without a token since the address is loopback:
	// the endpoint host can add versions to the deployment.
	cmd := exec.Command(weir, "serve", "--admin", "--addr", addr, bundle)
	cmd.Dir = dir
	// The flow's secrets are in the child's environment, where weir serve
	// reads them; a later entry of a key wins over this process's own.
	cmd.Env = append(os.Environ(), hosts.SecretEnv(req.Secrets)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := "http://" + addr
	if err := waitReady(ctx, url, cmp.Or(h.ReadyTimeout, 30*time.Second), exited); err != nil {
		_ = cmd.Process.Kill()
		err = fmt.Errorf("%w; its log ends with:\n%s", err, tail(logPath, 10))
		// The log is in the message; leave nothing half made behind.
		_ = os.RemoveAll(dir)
		return fail(err)
	}
	return hosts.Deployment{
		Name:    req.Name,
		Host:    h.Name(),
		URL:     url,
		Flow:    req.Flow,
		Version: req.Version,
		Digest:  req.Digest,
		Created: time.Now().UTC(),
		State:   map[string]string{"pid": strconv.Itoa(cmd.Process.Pid), "bundle": bundle, "log": logPath},
	}, nil
}

// Status reports whether the process runs and answers /readyz.
func (h *Host) Status(ctx context.Context, d hosts.Deployment) (hosts.Status, error) {
	pid, alive := h.process(d)
	if !alive {
		return hosts.Status{Detail: "not running"}, nil
	}
	if err := hostutil.Ready(ctx, nil, d.URL); err != nil {
		return hosts.Status{Detail: fmt.Sprintf("running, pid %d, not ready: %v", pid, err)}, nil
	}
	return hosts.Status{Ready: true, Detail: fmt.Sprintf("running, pid %d", pid)}, nil
}

// Logs copies the process's log.
func (h *Host) Logs(_ context.Context, d hosts.Deployment, w io.Writer) error {
	f, err := os.Open(d.State["log"])
	if err != nil {
		return fmt.Errorf("logs of %q: %w", d.Name, err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Delete stops the process (SIGTERM, so it drains; SIGKILL if it has not
// exited after 40s) and removes the deployment's folder.
func (h *Host) Delete(ctx context.Context, d hosts.Deployment) error {
	if pid, alive := h.process(d); alive {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.NewTimer(40 * time.Second)
		defer deadline.Stop()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case <-tick.C:
				if _, alive := h.process(d); !alive {
					break wait
				}
			case <-deadline.C:
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break wait
			case <-ctx.Done():
				return fmt.Errorf("delete %q: %w", d.Name, ctx.Err())
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(h.Dir, d.Name)); err != nil {
		return fmt.Errorf("delete %q: %w", d.Name, err)
	}
	return nil
}

// process returns the deployment's pid and whether that process still runs
// the deployment: a pid reused by another program does not count.
func (h *Host) process(d hosts.Deployment) (int, bool) {
	pid, err := strconv.Atoi(d.State["pid"])
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil {
		return pid, bytes.Contains(cmdline, []byte(d.State["bundle"]))
	}
	// No /proc (macOS): whether the pid exists at all.
	return pid, syscall.Kill(pid, 0) == nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls url's /readyz until it answers 200, the process exits,
// or the time runs out.
func waitReady(ctx context.Context, url string, timeout time.Duration, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("weir serve exited before it was ready (%v)", err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", timeout, last)
		case <-tick.C:
			if last = hostutil.Ready(ctx, nil, url); last == nil {
				return nil
			}
		}
	}
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	return hostutil.LogTail(string(b), n)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var _ hosts.Host = (*Host)(nil)
