package goplugin

import (
	"os"
	"os/signal"
	"syscall"
)

// init runs in every program that links this package; it acts only in a
// plugin process that weir started (the handshake's cookie is set) as the
// leader of a process group.
//
// weir starts a plugin with a parent-death signal of SIGKILL, which kills
// the plugin but not what its tools started. init replaces it with
// SIGTERM, on which the plugin kills its whole group. It must run here:
// the kernel keeps the parent-death signal per thread and sends the one of
// the thread that exec started, the main thread, which only package
// initialization is sure to run on. From exec until this call SIGKILL stays
// armed, and no tool has started anything yet.
func init() {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue || syscall.Getpgrp() != os.Getpid() {
		return
	}
	ppid := os.Getppid()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		signal.Stop(term)
		return
	}
	go func() {
		<-term
		why := "terminated"
		if os.Getppid() != ppid {
			why = "the host process is gone"
		}
		leaveWithGroup(why)
	}()
}
