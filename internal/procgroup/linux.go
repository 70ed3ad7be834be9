//go:build linux

package procgroup

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// Group is a child process, which leads a process group of its own: the
// processes it starts are in it unless they leave, and weir kills the
// whole group.
type Group struct {
	pid   int
	pidfd int // -1 where the kernel has no pidfds, or once the process exited
}

// Spawn starts cmd as the leader of a new process group, which the kernel
// kills (Pdeathsig) when the thread that started it ends. That thread is
// spawnThread's, which lives as long as weir: any other thread may end
// earlier (the Go runtime ends a thread whose goroutine exits while locked
// to it) and take the plugin with it.
func Spawn(cmd *exec.Cmd) (*Group, error) {
	pidfd := -1
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, PidFD: &pidfd}
	done := make(chan error, 1)
	spawnThread() <- func() { done <- cmd.Start() }
	if err := <-done; err != nil {
		return nil, err
	}
	return &Group{pid: cmd.Process.Pid, pidfd: pidfd}, nil
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

// AwaitExit returns once the process exited, and reports true. It leaves the process to be
// reaped by os/exec, so its pid, which is also the group's id, cannot name
// another process yet when Kill follows.
func (g *Group) AwaitExit() bool {
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

// Kill kills every process of the group.
func (g *Group) Kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

// Stop kills the process itself; the caller, once AwaitExit returns, kills
// the rest of its group with Kill.
func (g *Group) Stop(p *os.Process) { _ = p.Kill() }

// Reaped follows the reaping of the process: its group was killed already,
// once AwaitExit returned.
func (g *Group) Reaped() {}
