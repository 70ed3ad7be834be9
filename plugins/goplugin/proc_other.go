//go:build !unix

package goplugin

import (
	"os"
	"os/exec"
)

// group is a plugin process. These systems have no process groups that
// weir uses: stopping a plugin stops that process only.
type group struct{}

func spawn(cmd *exec.Cmd) (*group, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &group{}, nil
}

func (g *group) awaitExit() bool    { return false }
func (g *group) kill()              {}
func (g *group) stop(p *os.Process) { _ = p.Kill() }
func (g *group) reaped()            {}
