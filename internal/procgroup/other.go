//go:build !unix

package procgroup

import (
	"os"
	"os/exec"
)

// Group is a child process. These systems have no process groups that
// weir uses: stopping a child stops that process only.
type Group struct{}

func Spawn(cmd *exec.Cmd) (*Group, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Group{}, nil
}

func (g *Group) AwaitExit() bool    { return false }
func (g *Group) Kill()              {}
func (g *Group) Stop(p *os.Process) { _ = p.Kill() }
func (g *Group) Reaped()            {}
