package vm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/internal/hostutil"
)

// Host deploys to a Linux VM over SSH. The zero value needs SSH for
// Deploy; Status, Logs and Delete find everything in the deployment's
// state, and the fields that are set override it.
//
// A Host is safe for concurrent use: each call opens its own SSH
// connection. Two deploys of the same name at once are not.
type Host struct {
	// SSH is the VM to log in to: USER@HOST[:PORT], port 22 by default.
	SSH string
	// Identity is the private key file to log in with. When empty, the
	// keys of ssh-agent ($SSH_AUTH_SOCK), then ~/.ssh/id_ed25519,
	// ~/.ssh/id_ecdsa and ~/.ssh/id_rsa.
	Identity string
	// KnownHosts is the known_hosts file the VM's host key is checked
	// against: ~/.ssh/known_hosts by default.
	KnownHosts string
	// InsecureIgnoreHostKey skips the host key check: anyone in the middle
	// can then read the connection.
	InsecureIgnoreHostKey bool
	// Binary is the weir binary to ship: a static Linux executable for the
	// VM's architecture; the running one when empty.
	Binary string
	// Dir is the install folder on the VM, an absolute path: /opt/weir/NAME
	// for root, ~/.weir/NAME for other users by default.
	Dir string
	// Addr is where weir serve listens on the VM: ":8080" by default. The
	// deployment's URL is the SSH host with its port.
	Addr string
	// Env holds KEY=VALUE variables for weir serve.
	Env []string
	// Memory (bytes) and CPUs limit weir serve with systemd's MemoryMax=
	// and CPUQuota=; without systemd they are an error. 0 is no limit.
	Memory int64
	CPUs   float64
	// Restart says when weir serve is started again after it exits:
	// "always" (the default), "on-failure" or "no".
	Restart string
	// Arch is a new VM's GOARCH, for Export: the running machine's by
	// default.
	// Deploy asks the VM its own.
	Arch string
	// Supervisor is what runs weir serve: "systemd" (a unit; needs root),
	// "process" (a sh loop with a pid file, started detached), or "auto"
	// (the default): systemd when the VM runs it and the user is root.
	Supervisor string
	// ReadyTimeout bounds the wait for /readyz (60s).
	ReadyTimeout time.Duration
}

// Keys of Deployment.State.
const (
	stateSSH        = "ssh"
	stateIdentity   = "identity"
	stateKnownHosts = "known_hosts"
	stateInsecure   = "insecure_ignore_host_key"
	stateDir        = "dir"
	stateSupervisor = "supervisor"
	stateUnit       = "unit"
	stateAddr       = "addr" // weir serve's address, dialled on the VM
	// statePool names the pool of a worker's deployment.
	statePool = "pool"
)

// Name returns "vm".
func (h *Host) Name() string { return "vm" }

// Deploy uploads the binary and the bundle, installs them in the install
// folder, starts weir serve under a supervisor, and waits until it
// answers /readyz, asked through the SSH connection.
//
// Deploy converges: files are uploaded under temporary names and renamed
// into place, leftovers of an interrupted deploy are removed, and a
// running deployment of the same name is stopped first. When weir serve
// does not get ready, Deploy removes what it installed and the error ends
// with weir serve's log.
func (h *Host) Deploy(ctx context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	l, err := h.login(hosts.Deployment{})
	if err != nil {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on vm: %w", req.Name, err)
	}
	fail := func(err error) (hosts.Deployment, error) {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on vm %s: %w", req.Name, l.target, err)
	}
	if err := hosts.CheckName(req.Name); err != nil {
		return fail(err)
	}
	svc, err := h.service(req.Name, req.Worker)
	if err != nil {
		return fail(err)
	}
	bundleSum := ""
	if req.Worker == nil {
		if bundleSum, err = sha256Sum(req.Bundle); err != nil {
			return fail(fmt.Errorf("bundle: %w", err))
		}
	}
	client, err := dial(ctx, l)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	r := remote{client}
	out, err := r.output(ctx, probeScript)
	if err != nil {
		return fail(fmt.Errorf("probe the VM: %w", err))
	}
	p, err := parseProbe(out)
	if err != nil {
		return fail(err)
	}
	svc.secrets = len(req.Secrets) > 0
	d := deploy{req: req, r: r, probe: p, svc: svc}
	if err := d.prepare(h); err != nil {
		return fail(err)
	}
	if err := d.install(ctx, bundleSum); err != nil {
		return fail(err)
	}
	if err := d.wait(ctx, client, cmp.Or(h.ReadyTimeout, 60*time.Second)); err != nil {
		return fail(err)
	}
	state := map[string]string{
		stateSSH:        l.target.String(),
		stateIdentity:   l.identity,
		stateKnownHosts: l.knownHosts,
		stateDir:        d.svc.dir,
		stateSupervisor: d.sup.kind(),
		stateAddr:       dialAddr(svc.addr),
	}
	if l.insecure {
		state[stateInsecure] = "true"
	}
	if d.sup.kind() == supervisorSystemd {
		state[stateUnit] = unitName(req.Name)
	}
	if req.Worker != nil {
		state[statePool] = req.Worker.Pool
	}
	return hosts.Deployment{
		Name:    req.Name,
		Host:    h.Name(),
		URL:     "http://" + net.JoinHostPort(l.target.host, portOf(svc.addr)),
		Flow:    req.Flow,
		Version: req.Version,
		Digest:  req.Digest,
		Created: time.Now().UTC(),
		State:   state,
	}, nil
}

// deploy is one run of Deploy, once connected.
type deploy struct {
	req    hosts.DeployRequest
	r      remote
	probe  probe
	svc    service
	binary string // the local binary to ship
	sup    supervisor
}

// prepare picks the binary, the supervisor and the install folder for
// the VM the probe saw.
func (d *deploy) prepare(h *Host) error {
	arch := hostutil.GOARCH(d.probe.machine)
	if arch == "" {
		return fmt.Errorf("the VM is a %s machine, which weir is not built for", d.probe.machine)
	}
	binary, err := hostutil.ShippableBinary(h.Binary, arch)
	if err != nil {
		return err
	}
	d.binary = binary
	kind, err := chooseSupervisor(h.Supervisor, d.probe)
	if err != nil {
		return err
	}
	if kind == supervisorProcess && (d.svc.memory > 0 || d.svc.cpus > 0) {
		return fmt.Errorf("memory and CPU limits need systemd, and %s runs as a supervised process here (no systemd, or not root): deploy without the limits", d.svc.program())
	}
	if d.svc.dir == "" {
		d.svc.dir = path.Join(d.probe.home, ".weir", d.req.Name)
		if d.probe.root {
			d.svc.dir = path.Join("/opt/weir", d.req.Name)
		}
	}
	d.sup = newSupervisor(kind, d.svc)
	return nil
}

// marker is the file that marks an install folder as a deployment's; it
// holds its name. Only such a folder is ever removed.
const marker = ".weir-deployment"

// install makes the install folder, uploads, stops the previous
// deployment of the name, moves the files into place and starts the
// supervisor. Once the previous deployment is stopped, a failure removes
// everything: the folder has no working deployment left.
func (d *deploy) install(ctx context.Context, bundleSum string) error {
	if err := d.r.run(ctx, d.prepareDir(), nil); err != nil {
		return err
	}
	binarySum, err := sha256Sum(d.binary)
	if err != nil {
		return fmt.Errorf("weir binary: %w", err)
	}
	binaryTmp, err := d.r.stage(ctx, d.binary, binarySum, d.svc.dir, "weir", 0o755)
	if err != nil {
		return err
	}
	bundleTmp := ""
	if d.svc.worker == nil {
		bundleTmp, err = d.r.stage(ctx, d.req.Bundle, bundleSum, d.svc.dir, "bundle.weir", 0o644)
		if err != nil {
			d.removeStaged(binaryTmp)
			return err
		}
	}
	// The secrets go over SFTP into a file that is 0600 before it holds
	// them: never into a command line, the unit or a script.
	secretsTmp := ""
	if d.svc.secrets {
		secretsTmp, err = d.r.stageSecret(ctx, secretsEnv(hosts.SecretEnv(d.req.Secrets)), d.svc.dir, "secrets.env")
		if err != nil {
			d.removeStaged(binaryTmp)
			d.removeStaged(bundleTmp)
			return err
		}
	}
	script := d.stopPrevious() +
		moveScript(binaryTmp, d.svc.binary()) +
		moveScript(bundleTmp, d.svc.bundle()) +
		"rm -f " + quote(d.svc.secretsFile()) + "\n" +
		moveScript(secretsTmp, d.svc.secretsFile()) +
		d.sup.start()
	if err := d.r.run(ctx, "set -e\n"+script, nil); err != nil {
		return d.undo(fmt.Errorf("start %s: %w", d.svc.program(), err))
	}
	return nil
}

// prepareDir makes the install folder, or checks that the existing one is
// this deployment's, and removes what an interrupted deploy left in it.
func (d *deploy) prepareDir() string {
	dir := quote(d.svc.dir)
	name := quote(d.req.Name)
	notOurs := quote(d.svc.dir + " on the VM has files and no " + marker + ": it is not a weir deployment's folder; choose another install folder, or empty it")
	return fmt.Sprintf(`if [ -f %[1]s/%[2]s ]; then
	owner=$(cat %[1]s/%[2]s)
	if [ "$owner" != %[3]s ]; then echo "%[4]s on the VM is the install folder of the deployment $owner: choose another install folder" >&2; exit 1; fi
elif [ -n "$(ls -A %[1]s 2>/dev/null)" ]; then
	echo %[5]s >&2; exit 1
fi
mkdir -p %[1]s/cache %[1]s/home || exit 1
echo %[3]s >%[1]s/%[2]s
rm -f %[1]s/%[6]s*
`, dir, marker, name, d.svc.dir, notOurs, uploadPrefix)
}

// stopPrevious stops a deployment of the same name, whichever supervisor
// ran it.
func (d *deploy) stopPrevious() string {
	script := process{d.svc}.remove()
	if d.probe.systemd && d.probe.root {
		script += systemdUnit{d.svc}.remove()
	}
	return script
}

// moveScript renames an uploaded file into place; tmp is "" when the file
// was there already.
func moveScript(tmp, final string) string {
	if tmp == "" {
		return ""
	}
	return fmt.Sprintf("mv -f %s %s\n", quote(tmp), quote(final))
}

// removeStaged removes an uploaded file that will not be used.
func (d *deploy) removeStaged(tmp string) {
	if tmp == "" {
		return
	}
	ctx, cancel := cleanupContext()
	defer cancel()
	_ = d.r.run(ctx, "rm -f "+quote(tmp), nil)
}

// wait waits until weir serve answers /readyz through the SSH connection,
// and fails as soon as it exits.
func (d *deploy) wait(ctx context.Context, client *ssh.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpc := tunnel(client, dialAddr(d.svc.addr))
	defer httpc.CloseIdleConnections()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return d.undo(fmt.Errorf("%s is not ready after %s: %v", d.svc.program(), timeout, last))
			}
			return d.undo(ctx.Err())
		case <-tick.C:
		}
		// Whether it exited first: another server on the port could
		// answer in its stead.
		status, err := d.r.output(ctx, d.sup.exited())
		if status = strings.TrimSpace(status); err == nil && status != "" {
			return d.undo(fmt.Errorf("%s exited with status %s before it was ready", d.svc.program(), status))
		}
		if last = hostutil.Ready(ctx, httpc, "http://weir"); last == nil {
			return nil
		}
	}
}

// undo removes a deployment that did not start, and adds the end of its
// log to err.
func (d *deploy) undo(err error) error {
	ctx, cancel := cleanupContext()
	defer cancel()
	if log, logErr := d.r.output(ctx, d.sup.logs(10)); logErr == nil && strings.TrimSpace(log) != "" {
		err = fmt.Errorf("%w; its log ends with:\n%s", err, hostutil.LogTail(log, 10))
	}
	if rmErr := d.r.run(ctx, d.sup.remove()+removeDir(d.svc.dir), nil); rmErr != nil {
		err = fmt.Errorf("%w (and removing it failed: %v)", err, rmErr)
	}
	return err
}

// cleanupContext bounds the cleanup after a failed deploy, which runs
// even when the deploy's context is done.
func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

// removeDir removes an install folder, if it is one.
func removeDir(dir string) string {
	return fmt.Sprintf(`if [ -e %[1]s ]; then
	if [ ! -f %[1]s/%[2]s ]; then echo %[3]s >&2; exit 1; fi
	rm -rf %[1]s
fi
`, quote(dir), marker, quote(dir+" on the VM has no "+marker+": not removing a folder weir did not make"))
}

// tunnel returns an HTTP client whose every connection goes to addr on
// the VM, through the SSH connection: weir serve need not be reachable
// from here for the deploy to check it.
func tunnel(client *ssh.Client, addr string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return client.DialContext(ctx, "tcp", addr)
		},
	}}
}

// Status reports whether the supervisor runs weir serve and whether it
// answers /readyz. An unreachable VM is an error.
func (h *Host) Status(ctx context.Context, d hosts.Deployment) (hosts.Status, error) {
	var st hosts.Status
	err := h.connect(ctx, d, func(vm onVM) error {
		out, err := vm.r.output(ctx, vm.sup.state())
		if err != nil {
			return err
		}
		running, detail := vm.sup.describe(out)
		st.Detail = detail
		if !running {
			return nil
		}
		addr := d.State[stateAddr]
		if h.Addr != "" {
			addr = dialAddr(h.Addr)
		}
		httpc := tunnel(vm.r.client, addr)
		defer httpc.CloseIdleConnections()
		if err := hostutil.Ready(ctx, httpc, "http://weir"); err != nil {
			st.Detail += ", not ready: " + err.Error()
			return nil
		}
		st.Ready = true
		return nil
	})
	if err != nil {
		return hosts.Status{}, fmt.Errorf("status of %q on vm %s: %w", d.Name, cmp.Or(h.SSH, d.State[stateSSH]), err)
	}
	return st, nil
}

// Logs writes weir serve's log: the unit's journal under systemd, the log
// file of the supervised process otherwise.
func (h *Host) Logs(ctx context.Context, d hosts.Deployment, w io.Writer) error {
	err := h.connect(ctx, d, func(vm onVM) error {
		return vm.r.run(ctx, vm.sup.logs(0), w)
	})
	if err != nil {
		return fmt.Errorf("logs of %q on vm %s: %w", d.Name, cmp.Or(h.SSH, d.State[stateSSH]), err)
	}
	return nil
}

// Delete stops weir serve, removes its unit or supervisor, and removes the
// install folder. Deleting what is gone is not an error; the VM must be
// reachable.
func (h *Host) Delete(ctx context.Context, d hosts.Deployment) error {
	err := h.connect(ctx, d, func(vm onVM) error {
		return vm.r.run(ctx, vm.sup.remove()+removeDir(vm.dir), nil)
	})
	if err != nil {
		return fmt.Errorf("delete %q on vm %s: %w", d.Name, cmp.Or(h.SSH, d.State[stateSSH]), err)
	}
	return nil
}

// onVM is a deployment found again on its VM.
type onVM struct {
	r   remote
	dir string
	sup supervisor
}

// connect logs in to the VM of a deployment and calls f with it.
func (h *Host) connect(ctx context.Context, d hosts.Deployment, f func(onVM) error) error {
	l, err := h.login(d)
	if err != nil {
		return err
	}
	dir := cmp.Or(h.Dir, d.State[stateDir])
	if dir == "" {
		return errors.New("the deployment's state has no install folder: give it (--dir)")
	}
	client, err := dial(ctx, l)
	if err != nil {
		return err
	}
	defer client.Close()
	svc := service{name: d.Name, dir: dir}
	if d.State[statePool] != "" {
		svc.worker = []string{"worker"} // the command is all a supervisor looks for
	}
	return f(onVM{r: remote{client}, dir: dir, sup: newSupervisor(d.State[stateSupervisor], svc)})
}

// login returns how to log in: the Host's fields, else what the
// deployment saved.
func (h *Host) login(d hosts.Deployment) (login, error) {
	t, err := parseTarget(cmp.Or(h.SSH, d.State[stateSSH]))
	if err != nil {
		return login{}, err
	}
	l := login{
		target:     t,
		identity:   cmp.Or(h.Identity, d.State[stateIdentity]),
		knownHosts: cmp.Or(h.KnownHosts, d.State[stateKnownHosts]),
		insecure:   h.InsecureIgnoreHostKey || d.State[stateInsecure] == "true",
	}
	if l.knownHosts == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return login{}, fmt.Errorf("find ~/.ssh/known_hosts: %w; give a known hosts file (--known-hosts)", err)
		}
		l.knownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	// Absolute, so that the deployment's state works from any folder.
	for _, p := range []*string{&l.identity, &l.knownHosts} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return login{}, err
			}
		}
	}
	return l, nil
}

var (
	envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	// dirPattern keeps the install folder plain, as a path in a unit file
	// and in scripts needs it.
	dirPattern = regexp.MustCompile(`^/[A-Za-z0-9._/+@-]*$`)
)

// service checks the Host's options and returns the service they
// describe, weir serve or, when w is set, a worker; the install folder may
// still be empty (the default).
func (h *Host) service(name string, w *hosts.WorkerSpec) (service, error) {
	s := service{
		name:    name,
		dir:     h.Dir,
		addr:    cmp.Or(h.Addr, ":8080"),
		env:     h.Env,
		restart: cmp.Or(h.Restart, "always"),
		memory:  h.Memory,
		cpus:    h.CPUs,
	}
	if w != nil {
		if err := w.Check(); err != nil {
			return s, err
		}
		s.worker = w.Args(s.addr)
	}
	return s, s.check()
}

// check validates the options a service shares with CloudInit.
func (s service) check() error {
	if s.dir != "" && !dirPattern.MatchString(s.dir) {
		return fmt.Errorf("install folder %q: use an absolute path of letters, digits and . _ / + @ -", s.dir)
	}
	if _, port, err := net.SplitHostPort(s.addr); err != nil || port == "" || strings.ContainsAny(s.addr, " '\"\\%$") {
		return fmt.Errorf("address %q: use HOST:PORT or :PORT", s.addr)
	}
	for _, kv := range s.env {
		if !envPattern.MatchString(kv) || strings.ContainsAny(kv, "\r\n") {
			return fmt.Errorf("environment variable %q: use KEY=VALUE, on one line", kv)
		}
	}
	switch s.restart {
	case "always", "on-failure", "no":
	default:
		return fmt.Errorf("restart %q: use always, on-failure or no", s.restart)
	}
	if s.memory < 0 || s.cpus < 0 {
		return errors.New("memory and CPU limits must not be negative")
	}
	return nil
}

// dialAddr is where to reach weir serve on the VM: its address, with
// loopback for every interface.
func dialAddr(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// portOf is the port of a HOST:PORT address.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

var _ hosts.Host = (*Host)(nil)
