package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts"
)

func TestUnit(t *testing.T) {
	s := service{
		name:    "hello",
		dir:     "/opt/weir/hello",
		addr:    ":8080",
		env:     []string{`GREETING=Hi "you", 100%`},
		restart: "on-failure",
		memory:  512 << 20,
		cpus:    1.5,
	}
	assert.Equal(t, `[Unit]
Description=weir deployment hello
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/opt/weir/hello/weir serve --addr :8080 /opt/weir/hello/bundle.weir
WorkingDirectory=/opt/weir/hello
Environment="WEIR_CACHE_DIR=/opt/weir/hello/cache"
Environment="WEIR_HOME=/opt/weir/hello/home"
Environment="GREETING=Hi \"you\", 100%%"
Restart=on-failure
RestartSec=1
TimeoutStopSec=40
MemoryMax=536870912
CPUQuota=150%

[Install]
WantedBy=multi-user.target
`, s.unit())

	s.memory, s.cpus, s.env, s.restart = 0, 0, nil, "always"
	assert.Equal(t, `[Unit]
Description=weir deployment hello
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/opt/weir/hello/weir serve --addr :8080 /opt/weir/hello/bundle.weir
WorkingDirectory=/opt/weir/hello
Environment="WEIR_CACHE_DIR=/opt/weir/hello/cache"
Environment="WEIR_HOME=/opt/weir/hello/home"
Restart=always
RestartSec=1
TimeoutStopSec=40

[Install]
WantedBy=multi-user.target
`, s.unit())
}

func TestSuperviseScript(t *testing.T) {
	s := service{name: "hello", dir: "/home/ada/.weir/hello", addr: "127.0.0.1:8080", env: []string{"GREETING=it's me"}, restart: "on-failure"}
	assert.Equal(t, `#!/bin/sh
# Supervises weir serve for the deployment hello (weir deploy --host vm):
# starts it again when it exits (restart: on-failure); SIGTERM stops both.
cd '/home/ada/.weir/hello' || exit 1
export 'WEIR_CACHE_DIR=/home/ada/.weir/hello/cache'
export 'WEIR_HOME=/home/ada/.weir/hello/home'
export 'GREETING=it'\''s me'
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
	'/home/ada/.weir/hello/weir' serve --addr '127.0.0.1:8080' '/home/ada/.weir/hello/bundle.weir' >>serve.log 2>&1 &
	child=$!
	echo "$child" >serve.pid
	wait "$child"
	status=$?
	child=
	echo "$status" >serve.exit
	echo "weir supervisor: weir serve exited with status $status" >>serve.log
	[ "$status" -eq 0 ] && break
	sleep 1
done
rm -f supervisor.pid serve.pid
`, s.supervise())
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		sup     supervisor
		state   string
		running bool
		detail  string
	}{
		{systemdUnit{service{name: "hello"}}, "active\n", true, "systemd unit weir-hello active"},
		{systemdUnit{service{name: "hello"}}, "inactive\n", false, "systemd unit weir-hello inactive"},
		{systemdUnit{service{name: "hello"}}, "activating\n", false, "systemd unit weir-hello activating"},
		{process{service{name: "hello"}}, "running 4242\n", true, "supervised process, pid 4242"},
		{process{service{name: "hello"}}, "running\n", false, "supervised process, weir serve restarting"},
		{process{service{name: "hello"}}, "stopped\n", false, "not running"},
	}
	for _, tt := range tests {
		running, detail := tt.sup.describe(tt.state)
		assert.Equal(t, tt.running, running, "%s %q", tt.sup.kind(), tt.state)
		assert.Equal(t, tt.detail, detail, "%s %q", tt.sup.kind(), tt.state)
	}
}

func TestParseProbe(t *testing.T) {
	tests := []struct {
		out  string
		want probe
		err  string
	}{
		{"x86_64\n0\n/root\nsystemd\n", probe{machine: "x86_64", root: true, home: "/root", systemd: true}, ""},
		{"aarch64\n1000\n/home/ada\nnone\n", probe{machine: "aarch64", home: "/home/ada"}, ""},
		{"x86_64\n0\n", probe{}, `probe the VM: unexpected answer "x86_64\n0\n"`},
	}
	for _, tt := range tests {
		got, err := parseProbe(tt.out)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

func TestChooseSupervisor(t *testing.T) {
	systemdRoot := probe{root: true, systemd: true}
	systemdUser := probe{systemd: true}
	bare := probe{root: true}
	tests := []struct {
		want  string
		probe probe
		kind  string
		err   string
	}{
		{"", systemdRoot, "systemd", ""},
		{"auto", systemdRoot, "systemd", ""},
		{"auto", systemdUser, "process", ""},
		{"auto", bare, "process", ""},
		{"process", systemdRoot, "process", ""},
		{"systemd", systemdRoot, "systemd", ""},
		{"systemd", bare, "", `the VM has no systemd (/run/systemd/system is missing): use the supervised process (supervisor "process" or "auto")`},
		{"systemd", systemdUser, "", `a systemd unit needs root on the VM: log in as root, or use the supervised process (supervisor "process" or "auto")`},
		{"docker", bare, "", `supervisor "docker": use "auto", "systemd" or "process"`},
	}
	for _, tt := range tests {
		kind, err := chooseSupervisor(tt.want, tt.probe)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err, "%q on %+v", tt.want, tt.probe)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.kind, kind, "%q on %+v", tt.want, tt.probe)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "root@10.0.0.5", want: "root@10.0.0.5:22"},
		{in: "ada@vm.example.com:2222", want: "ada@vm.example.com:2222"},
		{in: "root@[::1]:2222", want: "root@[::1]:2222"},
		{in: "root@::1", want: "root@[::1]:22"},
		{in: "", err: "no VM to connect to: give USER@HOST[:PORT] (--ssh)"},
		{in: "root@", err: `ssh target "": give USER@HOST[:PORT]`},
		{in: "@host", err: `ssh target "host": give USER@HOST[:PORT]`},
		{in: "root@host:", err: `ssh target "host:": give USER@HOST[:PORT]`},
		{in: "root@0:]:0", err: `ssh target "0:]:0": give USER@HOST[:PORT]`},
		{in: "root@host:ssh", err: `ssh target "host:ssh": give USER@HOST[:PORT]`},
		{in: "root@host:70000", err: `ssh target "host:70000": give USER@HOST[:PORT]`},
		{in: "root@[::1", err: `ssh target "[::1": address [::1: missing ']' in address; give USER@HOST[:PORT]`},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got.String())
	}
}

func TestDialAddr(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:8080":   "127.0.0.1:8080",
		"[::]:8080":      "127.0.0.1:8080",
		"127.0.0.1:9000": "127.0.0.1:9000",
		"10.0.0.5:8080":  "10.0.0.5:8080",
	} {
		assert.Equal(t, want, dialAddr(addr), addr)
	}
}

// The systemd unit's exit check, run by sh against a stand-in systemctl.
func TestSystemdExited(t *testing.T) {
	bin := t.TempDir()
	fake := `#!/bin/sh
case "$*" in
"is-active weir-hello.service") echo "$ACTIVE" ;;
"show -p NRestarts --value weir-hello.service") echo "$RESTARTS" ;;
"show -p ExecMainStatus --value weir-hello.service") echo "$STATUS" ;;
*) echo "unexpected systemctl $*" >&2; exit 2 ;;
esac
`
	require.NoError(t, os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fake), 0o755))
	script := systemdUnit{service{name: "hello"}}.exited()
	tests := []struct{ active, restarts, status, want string }{
		{"active", "0", "0", ""},
		{"activating", "0", "0", ""},
		{"activating", "2", "1", "1\n"},
		{"active", "1", "1", "1\n"},
		{"failed", "0", "1", "1\n"},
		{"inactive", "0", "0", "0\n"},
	}
	for _, tt := range tests {
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ACTIVE="+tt.active, "RESTARTS="+tt.restarts, "STATUS="+tt.status)
		out, err := cmd.Output()
		require.NoError(t, err, "%+v", tt)
		assert.Equal(t, tt.want, string(out), "%+v", tt)
	}
}

// TestSecretsFile checks that the unit and the supervisor load the secrets
// file, and that sh reads back every value as written.
func TestSecretsFile(t *testing.T) {
	s := service{name: "hello", dir: "/opt/weir/hello", addr: ":8080", restart: "always", secrets: true}
	assert.Contains(t, s.unit(), "Environment=\"WEIR_HOME=/opt/weir/hello/home\"\nEnvironmentFile=/opt/weir/hello/secrets.env\nRestart=always\n")
	assert.Contains(t, s.supervise(), "export 'WEIR_HOME=/opt/weir/hello/home'\nset -a\n. '/opt/weir/hello/secrets.env'\nset +a\necho $$ >supervisor.pid\n")

	values := map[string]string{"A": `quo"te back\slash dollar$HOME tick` + "`x`", "B": "it's\nmultiline", "C": "plain-value"}
	env := []string{"A=" + values["A"], "B=" + values["B"], "C=" + values["C"]}
	file := filepath.Join(t.TempDir(), "secrets.env")
	require.NoError(t, os.WriteFile(file, secretsEnv(env), 0o600))
	for k, want := range values {
		out, err := exec.Command("sh", "-c", `set -a; . "$1"; set +a; printf %s "$(printenv `+k+`)"`, "sh", file).Output()
		require.NoError(t, err)
		assert.Equal(t, want, string(out), k)
	}
}

// TestWorkerService: a worker's unit and supervisor run weir worker with
// its health checks on the address weir serve would listen on, and no
// bundle.
func TestWorkerService(t *testing.T) {
	h := &Host{Dir: "/opt/weir/worker-batch", Addr: "127.0.0.1:9000"}
	s, err := h.service("worker-batch", &hosts.WorkerSpec{Pool: "batch", NATS: "nats://10.0.0.5:4222,nats://10.0.0.6:4222", Concurrency: 2, Labels: []string{"zone=a"}})
	require.NoError(t, err)
	assert.Contains(t, s.unit(), "\nExecStart=/opt/weir/worker-batch/weir worker --pool batch --nats nats://10.0.0.5:4222,nats://10.0.0.6:4222 --concurrency 2 --labels zone=a --health-addr 127.0.0.1:9000\n")
	script := s.supervise()
	assert.Contains(t, script, "# Supervises weir worker for the deployment worker-batch")
	assert.Contains(t, script, "\n\t'/opt/weir/worker-batch/weir' worker --pool batch --nats 'nats://10.0.0.5:4222,nats://10.0.0.6:4222' --concurrency 2 --labels 'zone=a' --health-addr '127.0.0.1:9000' >>serve.log 2>&1 &\n")
	assert.Contains(t, script, `echo "weir supervisor: weir worker exited with status $status" >>serve.log`)
	_, serve := process{s}.patterns()
	assert.Equal(t, "/opt/weir/worker-batch/weir worker", serve)

	_, err = h.service("worker-batch", &hosts.WorkerSpec{Pool: "batch"})
	require.EqualError(t, err, "a worker needs --nats URL, the pool's NATS server as the worker reaches it")
}
