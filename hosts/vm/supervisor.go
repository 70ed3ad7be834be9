package vm

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// Supervisor kinds, as Host.Supervisor and the deployment's state name them.
const (
	supervisorAuto    = "auto"
	supervisorSystemd = "systemd"
	supervisorProcess = "process"
)

// probe is what Deploy learns of the VM first.
type probe struct {
	machine string // uname -m
	root    bool
	home    string
	systemd bool // booted with systemd, with systemctl
}

// probeScript prints the lines parseProbe reads.
const probeScript = `uname -m
id -u
printf '%s\n' "$HOME"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd; else echo none; fi
`

// parseProbe reads the output of probeScript.
func parseProbe(out string) (probe, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		return probe{}, fmt.Errorf("probe the VM: unexpected answer %q", out)
	}
	return probe{machine: lines[0], root: lines[1] == "0", home: lines[2], systemd: lines[3] == "systemd"}, nil
}

// chooseSupervisor returns the supervisor kind to use on the VM: systemd
// when it runs systemd and the user is root (a system unit needs root),
// else the supervised process.
func chooseSupervisor(want string, p probe) (string, error) {
	switch want {
	case supervisorProcess:
		return supervisorProcess, nil
	case supervisorSystemd:
		if !p.systemd {
			return "", fmt.Errorf("the VM has no systemd (/run/systemd/system is missing): use the supervised process (supervisor %q or %q)", supervisorProcess, supervisorAuto)
		}
		if !p.root {
			return "", fmt.Errorf("a systemd unit needs root on the VM: log in as root, or use the supervised process (supervisor %q or %q)", supervisorProcess, supervisorAuto)
		}
		return supervisorSystemd, nil
	case supervisorAuto, "":
		if p.systemd && p.root {
			return supervisorSystemd, nil
		}
		return supervisorProcess, nil
	}
	return "", fmt.Errorf("supervisor %q: use %q, %q or %q", want, supervisorAuto, supervisorSystemd, supervisorProcess)
}

// service is weir serve as installed on the VM: what both supervisors run.
type service struct {
	name    string // the deployment's name
	dir     string // the install folder
	addr    string // weir serve --addr
	env     []string
	restart string // always, on-failure or no
	memory  int64  // bytes; 0: no limit
	cpus    float64
	// secrets is set when the flow has secrets: weir serve loads them
	// from secretsFile.
	secrets bool
	// worker, when set, makes the service a work pool's worker: weir
	// worker with these arguments (hosts.WorkerSpec.Args), its health
	// checks on addr, and no bundle.
	worker []string
}

func (s service) binary() string { return path.Join(s.dir, "weir") }

// command is the weir command the service runs: "serve" or "worker".
func (s service) command() string {
	if s.worker != nil {
		return "worker"
	}
	return "serve"
}

// program names what the service runs, for messages: "weir serve".
func (s service) program() string { return "weir " + s.command() }

// args are the arguments of the command after the binary.
func (s service) args() []string {
	if s.worker != nil {
		return s.worker
	}
	return []string{"serve", "--addr", s.addr, s.bundle()}
}
func (s service) bundle() string { return path.Join(s.dir, "bundle.weir") }

// secretsFile is the file of the flow's secrets beside the unit: owned by
// the user who deployed (root for a systemd unit), mode 0600.
func (s service) secretsFile() string { return path.Join(s.dir, "secrets.env") }

// secretsEnv is the content of secretsFile: KEY="VALUE" lines, quoted so
// that both systemd's EnvironmentFile= and sh's . read them as written.
func secretsEnv(secrets []string) []byte {
	var b strings.Builder
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	for _, kv := range secrets {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString(k + `="` + esc.Replace(v) + "\"\n")
	}
	return []byte(b.String())
}

// environment is weir serve's environment: its caches in the install
// folder (a system service may have no home), then the user's variables,
// which win.
func (s service) environment() []string {
	return append([]string{"WEIR_CACHE_DIR=" + path.Join(s.dir, "cache"), "WEIR_HOME=" + path.Join(s.dir, "home")}, s.env...)
}

// unitName is the systemd unit of the deployment called name.
func unitName(name string) string { return "weir-" + name + ".service" }

// unitPath is where the unit file goes.
func unitPath(name string) string { return "/etc/systemd/system/" + unitName(name) }

var unitTemplate = template.Must(template.New("unit").Parse(`[Unit]
Description=weir deployment {{.Name}}
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={{.Exec}}
WorkingDirectory={{.Dir}}
{{- range .Env}}
Environment={{.}}
{{- end}}
{{- if .Secrets}}
EnvironmentFile={{.Secrets}}
{{- end}}
Restart={{.Restart}}
RestartSec=1
TimeoutStopSec=40
{{- if .Memory}}
MemoryMax={{.Memory}}
{{- end}}
{{- if .CPUQuota}}
CPUQuota={{.CPUQuota}}
{{- end}}

[Install]
WantedBy=multi-user.target
`))

// unit returns the text of the service's systemd unit file.
func (s service) unit() string {
	data := struct {
		Name, Exec, Dir, Restart, CPUQuota, Secrets string
		Env                                         []string
		Memory                                      int64
	}{
		Name:    s.name,
		Exec:    strings.Join(append([]string{s.binary()}, s.args()...), " "),
		Dir:     s.dir,
		Restart: s.restart,
		Memory:  s.memory,
	}
	for _, kv := range s.environment() {
		data.Env = append(data.Env, systemdQuote(kv))
	}
	if s.secrets {
		data.Secrets = s.secretsFile()
	}
	if s.cpus > 0 {
		data.CPUQuota = strconv.FormatFloat(s.cpus*100, 'f', -1, 64) + "%"
	}
	var b strings.Builder
	_ = unitTemplate.Execute(&b, data) // the data always fits
	return b.String()
}

// systemdQuote quotes a unit file value with double quotes; % starts a
// specifier there, so it is doubled.
func systemdQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(s)
	return `"` + s + `"`
}

var superviseTemplate = template.Must(template.New("supervise").Parse(`#!/bin/sh
# Supervises {{.Program}} for the deployment {{.Name}} (weir deploy --host vm):
# starts it again when it exits (restart: {{.Restart}}); SIGTERM stops both.
cd {{.Dir}} || exit 1
{{- range .Env}}
export {{.}}
{{- end}}
{{- if .Secrets}}
set -a
. {{.Secrets}}
set +a
{{- end}}
echo $$ >supervisor.pid
child=
stop() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child"
	fi
	rm -f supervisor.pid serve.pid
	exit 0
}
trap stop TERM INT HUP
while :; do
	{{.Exec}} >>serve.log 2>&1 &
	child=$!
	echo "$child" >serve.pid
	wait "$child"
	status=$?
	child=
	echo "$status" >serve.exit
	echo "weir supervisor: {{.Program}} exited with status $status" >>serve.log
{{- if eq .Restart "no"}}
	break
{{- else if eq .Restart "on-failure"}}
	[ "$status" -eq 0 ] && break
{{- end}}
	sleep 1
done
rm -f supervisor.pid serve.pid
`))

// plainArg matches an argument that sh reads as it is: a flag, a command.
var plainArg = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// supervise returns the text of supervise.sh, the supervisor of the
// process kind: a sh loop that restarts weir serve as Restart= would.
func (s service) supervise() string {
	data := struct {
		Name, Program, Restart, Dir, Exec, Secrets string
		Env                                        []string
	}{Name: s.name, Program: s.program(), Restart: s.restart, Dir: quote(s.dir)}
	if s.secrets {
		data.Secrets = quote(s.secretsFile())
	}
	exec := []string{quote(s.binary())}
	for _, a := range s.args() {
		if !plainArg.MatchString(a) {
			a = quote(a)
		}
		exec = append(exec, a)
	}
	data.Exec = strings.Join(exec, " ")
	for _, kv := range s.environment() {
		data.Env = append(data.Env, quote(kv))
	}
	var b strings.Builder
	_ = superviseTemplate.Execute(&b, data) // the data always fits
	return b.String()
}

// supervisor is what runs weir serve on the VM and restarts it, as shell
// scripts that run there.
type supervisor interface {
	// kind is supervisorSystemd or supervisorProcess.
	kind() string
	// start writes the supervisor's files and starts it; the binary and
	// the bundle are in place.
	start() string
	// remove stops weir serve and removes what start wrote. Nothing to
	// remove is not an error.
	remove() string
	// state prints "running" and weir serve's pid if any, or "stopped".
	state() string
	// describe turns the output of state into a Status detail.
	describe(state string) (running bool, detail string)
	// exited prints weir serve's exit status if it exited since start.
	exited() string
	// logs prints the log; tail > 0 keeps its last tail lines.
	logs(tail int) string
}

// newSupervisor returns the supervisor of kind for the service.
func newSupervisor(kind string, s service) supervisor {
	if kind == supervisorSystemd {
		return systemdUnit{s}
	}
	return process{s}
}

// systemdUnit runs weir serve as a systemd unit.
type systemdUnit struct{ service }

func (u systemdUnit) kind() string { return supervisorSystemd }

func (u systemdUnit) start() string {
	unit := unitPath(u.name)
	return fmt.Sprintf(`cat >%[1]s <<'WEIR_UNIT_EOF'
%[2]sWEIR_UNIT_EOF
mv -f %[1]s %[3]s
systemctl daemon-reload
systemctl reset-failed %[4]s 2>/dev/null || true
systemctl enable --now --quiet %[4]s
`, quote(unit+".tmp"), u.unit(), quote(unit), quote(unitName(u.name)))
}

func (u systemdUnit) remove() string {
	return fmt.Sprintf(`if [ -e %[1]s ]; then
	systemctl disable --now --quiet %[2]s
	rm -f %[1]s
	systemctl daemon-reload
	systemctl reset-failed %[2]s 2>/dev/null || true
fi
`, quote(unitPath(u.name)), quote(unitName(u.name)))
}

func (u systemdUnit) state() string {
	return fmt.Sprintf("systemctl is-active %s || true\n", quote(unitName(u.name)))
}

func (u systemdUnit) describe(state string) (bool, string) {
	state = strings.TrimSpace(state)
	return state == "active", fmt.Sprintf("systemd unit %s %s", strings.TrimSuffix(unitName(u.name), ".service"), state)
}

func (u systemdUnit) exited() string {
	// Restarted, or stopped for good (failed, or inactive after an exit
	// that Restart= does not restart).
	return fmt.Sprintf(`unit=%s
case $(systemctl is-active $unit) in
failed | inactive) systemctl show -p ExecMainStatus --value $unit ;;
*) [ "$(systemctl show -p NRestarts --value $unit)" -gt 0 ] 2>/dev/null && systemctl show -p ExecMainStatus --value $unit ;;
esac
true
`, quote(unitName(u.name)))
}

func (u systemdUnit) logs(tail int) string {
	if tail > 0 {
		return fmt.Sprintf("journalctl -u %s --no-pager -o cat -n %d\n", quote(unitName(u.name)), tail)
	}
	return fmt.Sprintf("journalctl -u %s --no-pager\n", quote(unitName(u.name)))
}

// subshell runs script in a subshell: its exit and cd do not end or move
// the scripts it is joined with.
func subshell(script string) string { return "(\n" + script + ")\n" }

// process runs weir serve under supervise.sh, started in a session of its
// own so that it outlives the SSH connection.
type process struct{ service }

func (p process) kind() string { return supervisorProcess }

// pidFunctions defines ours PIDFILE TEXT, which prints the pid in PIDFILE
// when that process runs and its command line has TEXT: a stale pid file,
// or a pid reused by another program, gives nothing.
const pidFunctions = `ours() {
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" && echo "$pid"
}
`

// patterns are what the command lines of the supervisor and of weir serve
// contain: their paths in the install folder.
func (p process) patterns() (supervisor, serve string) {
	return path.Join(p.dir, "supervise.sh"), p.binary() + " " + p.command()
}

func (p process) start() string {
	script := path.Join(p.dir, "supervise.sh")
	return subshell(fmt.Sprintf(`cd %[1]s || exit 1
cat >supervise.sh.tmp <<'WEIR_SUPERVISE_EOF'
%[2]sWEIR_SUPERVISE_EOF
mv -f supervise.sh.tmp supervise.sh
rm -f serve.exit
[ -e serve.log ] && mv -f serve.log serve.log.1
setsid nohup sh %[3]s </dev/null >/dev/null 2>&1 &
`, quote(p.dir), p.supervise(), quote(script)))
}

// remove stops the supervisor, which stops weir serve, and weir serve
// itself should the supervisor be gone; SIGKILL after 40s, as systemd's
// TimeoutStopSec. SIGTERM goes to one of them only: weir serve and weir
// worker take a second SIGTERM as an order to stop at once, without
// draining.
func (p process) remove() string {
	sup, serve := p.patterns()
	return subshell(pidFunctions + fmt.Sprintf(`cd %[1]s 2>/dev/null || exit 0
sup=%[2]s serve=%[3]s
alive() { ours supervisor.pid "$sup" >/dev/null || ours serve.pid "$serve" >/dev/null; }
signal() { for pid in $(ours supervisor.pid "$sup") $(ours serve.pid "$serve"); do kill -"$1" "$pid" 2>/dev/null || true; done; }
pid=$(ours supervisor.pid "$sup") || pid=$(ours serve.pid "$serve") || pid=
[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
i=0
while alive; do
	i=$((i + 1))
	[ $i -eq 400 ] && signal KILL
	if [ $i -gt 500 ]; then echo "%[4]s in %[1]s does not stop, even with SIGKILL" >&2; exit 1; fi
	sleep 0.1
done
rm -f supervisor.pid serve.pid serve.exit
`, quote(p.dir), quote(sup), quote(serve), p.program()))
}

func (p process) state() string {
	sup, serve := p.patterns()
	return subshell(pidFunctions + fmt.Sprintf(`cd %s 2>/dev/null || { echo stopped; exit 0; }
if ours supervisor.pid %s >/dev/null; then echo running $(ours serve.pid %s); else echo stopped; fi
`, quote(p.dir), quote(sup), quote(serve)))
}

func (p process) describe(state string) (bool, string) {
	fields := strings.Fields(state)
	switch {
	case len(fields) == 2 && fields[0] == "running":
		return true, "supervised process, pid " + fields[1]
	case len(fields) == 1 && fields[0] == "running":
		// The supervisor runs, weir serve not: not ready, whatever an
		// earlier /readyz said.
		return false, "supervised process, " + p.program() + " restarting"
	}
	return false, "not running"
}

func (p process) exited() string {
	return fmt.Sprintf("cat %s 2>/dev/null || true\n", quote(path.Join(p.dir, "serve.exit")))
}

func (p process) logs(tail int) string {
	file := path.Join(p.dir, "serve.log")
	log := quote(file)
	missing := fmt.Sprintf("[ -e %s ] || { echo %s >&2; exit 1; }\n", log, quote("no log at "+file+" on the VM: the deployment is gone"))
	if tail > 0 {
		return missing + fmt.Sprintf("tail -n %d %s\n", tail, log)
	}
	return missing + fmt.Sprintf("cat %s\n", log)
}
