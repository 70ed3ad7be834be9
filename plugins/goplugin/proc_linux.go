//go:build linux

package goplugin

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// group is a plugin process, which leads a process group of its own: the
// processes it starts are in it unless they leave, and weir kills the
// whole group.
type group struct {
	pid   int
	pidfd int // -1 where the kernel has no pidfds, or once the process exited
}

// spawn starts cmd as the leader of a new process group, which the kernel
// kills (Pdeathsig) when the thread that started it ends. That thread is
// spawnThread's, which lives as long as weir: any other thread may end
// earlier (the Go runtime ends a thread whose goroutine exits while locked
// to it) and take the plugin with it.
func spawn(cmd *exec.Cmd) (*group, error) {
	pidfd := -1
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, PidFD: &pidfd}
	done := make(chan error, 1)
	spawnThread() <- func() { done <- cmd.Start() }
	if err := <-done; err != nil {
		return nil, err
	}
	return &group{pid: cmd.Process.Pid, pidfd: pidfd}, nil
}

// spawnThread runs the functions it is sent on one OS thread, which never
// ends: its goroutine locks it and never returns.
var spawnThread = sync.OnceValue(func() chan<- func() {
	fns := make(chan func())
	go func() {
		runtime.LockOSThread()
		for fn := range fns {
			fn()
		}
	}()
	return fns
})

// awaitExit returns once the process exited. It leaves the process to be
// reaped by os/exec, so its pid, which is also the group's id, cannot name
// another process yet when kill follows.
func (g *group) awaitExit() bool {
	const pPID, pPIDFD = 1, 3
	idType, id := uintptr(pPID), uintptr(g.pid)
	if g.pidfd >= 0 {
		idType, id = pPIDFD, uintptr(g.pidfd)
	}
	var info [128]byte // a siginfo_t, unread
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, idType, id, uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		// ECHILD: os/exec reaped it first; the group, if anything is
		// left in it, still holds its id.
		if errno != syscall.EINTR {
			break
		}
	}
	if g.pidfd >= 0 {
		syscall.Close(g.pidfd)
		g.pidfd = -1
	}
	return true
}

// kill kills every process of the group.
func (g *group) kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

// stop kills the plugin; watch then kills the rest of its group.
func (g *group) stop(p *os.Process) { _ = p.Kill() }

// reaped follows the reaping of the plugin: watch already killed its group.
func (g *group) reaped() {}
