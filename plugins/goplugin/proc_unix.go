//go:build unix && !linux

package goplugin

import (
	"os"
	"os/exec"
	"syscall"
)

// group is a plugin process, which leads a process group of its own: the
// processes it starts are in it unless they leave, and weir kills the
// whole group. Unlike Linux, these systems give no death signal: a plugin
// outlives a weir that was killed unless it watches for that itself, as
// Serve does.
type group struct{ pid int }

func spawn(cmd *exec.Cmd) (*group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &group{pid: cmd.Process.Pid}, nil
}

// awaitExit reports false: these systems cannot wait for a process without
// reaping it, so Wait and stop kill the group instead of watch.
func (g *group) awaitExit() bool { return false }

func (g *group) kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

func (g *group) stop(p *os.Process) {
	g.kill()
	_ = p.Kill()
}

// reaped kills what the plugin left in its group: while anything is left,
// the group's id cannot name another group.
func (g *group) reaped() { g.kill() }
