//go:build unix

package goplugin

import (
	"fmt"
	"os"
	"syscall"
)

// leaveWithGroup ends the plugin process and every process of its group,
// when weir made it the group's leader; otherwise the plugin only.
func leaveWithGroup(why string) {
	fmt.Fprintf(os.Stderr, "weir plugin: %s; exiting\n", why)
	if syscall.Getpgrp() == os.Getpid() {
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
	os.Exit(3)
}
