package goplugin

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/weirflow/weir/internal/procgroup"
)

// pipeGrace bounds how long weir keeps reading a plugin's stdout and stderr
// once its process group was killed. Only a descendant that left the group
// (setsid) can still hold the pipes then; without the bound, go-plugin
// would wait for it forever before it reaps the plugin, and Close with it.
const pipeGrace = 2 * time.Second

// procRunner is go-plugin's runner for a plugin process that weir starts
// itself rather than through go-plugin's own runner, which cannot put the
// process in a group of its own, kill that group, or start it from a
// thread that outlives it (see procgroup.Spawn). It also gives the plugin
// no standard input: go-plugin's runner hands it weir's.
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File         // the read ends of the plugin's pipes
	grp            *procgroup.Group // nil until Start succeeded
	gone           chan struct{}
}

func newRunner(exe string, args, env []string) *procRunner {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	return &procRunner{cmd: cmd, gone: make(chan struct{})}
}

func (r *procRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = outW, errW
	grp, err := procgroup.Spawn(r.cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	r.stdout, r.stderr, r.grp = outR, errR, grp
	go r.watch()
	return nil
}

// watch kills the plugin's group as soon as the plugin itself exits, for
// whatever reason: a crash, its own exit, or a kill by weir. Where the
// platform cannot tell that before the plugin is reaped, Wait and Kill do
// it instead.
func (r *procRunner) watch() {
	defer close(r.gone)
	if !r.grp.AwaitExit() {
		return
	}
	r.grp.Kill()
	deadline := time.Now().Add(pipeGrace)
	_ = r.stdout.SetReadDeadline(deadline)
	_ = r.stderr.SetReadDeadline(deadline)
}

// Wait reaps the plugin. go-plugin calls it once it has read both pipes to
// their end.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	<-r.gone
	r.grp.Reaped()
	r.stdout.Close()
	r.stderr.Close()
	return err
}

func (r *procRunner) Kill(context.Context) error {
	if r.grp == nil {
		return nil
	}
	r.grp.Stop(r.cmd.Process)
	return nil
}

func (r *procRunner) ID() string {
	if r.grp == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *procRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *procRunner) Name() string                    { return r.cmd.Path }
func (r *procRunner) Diagnose(context.Context) string { return "" }

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

var _ runner.Runner = (*procRunner)(nil)
