//go:build unix && !linux

package procgroup

import (
	"os"
	"os/exec"
	"syscall"
)

// Group is a child process, which leads a process group of its own: the
// processes it starts are in it unless they leave, and weir kills the
// whole group. Unlike Linux, these systems give no death signal: a plugin
// outlives a weir that was killed unless it watches for that itself, as
// Serve does.
type Group struct{ pid int }

func Spawn(cmd *exec.Cmd) (*Group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Group{pid: cmd.Process.Pid}, nil
}

// AwaitExit reports false: these systems cannot wait for a process without
// reaping it, so Stop and Reaped kill the group instead.
func (g *Group) AwaitExit() bool { return false }

func (g *Group) Kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

func (g *Group) Stop(p *os.Process) {
	g.Kill()
	_ = p.Kill()
}

// Reaped kills what the process left in its group: while anything is left,
// the group's id cannot name another group.
func (g *Group) Reaped() { g.Kill() }
