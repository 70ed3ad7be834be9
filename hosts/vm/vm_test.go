package vm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/hoststest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	hoststest.Cleanup()
	os.Exit(code)
}

// testSSH is the SSH server the tests deploy to: .ci/sshd starts one on
// loopback and prints these variables.
type testSSH struct {
	target, key, knownHosts string
	host, port              string
}

func sshServer(t testing.TB) testSSH {
	t.Helper()
	s := testSSH{
		target:     os.Getenv("WEIR_TEST_SSH"),
		key:        os.Getenv("WEIR_TEST_SSH_KEY"),
		knownHosts: os.Getenv("WEIR_TEST_SSH_KNOWN_HOSTS"),
	}
	if s.target == "" || s.key == "" || s.knownHosts == "" {
		hoststest.Need(t, "SSH server", errors.New(`WEIR_TEST_SSH, WEIR_TEST_SSH_KEY and WEIR_TEST_SSH_KNOWN_HOSTS are not set: eval "$(.ci/sshd)"`))
	}
	var err error
	s.host, s.port, err = net.SplitHostPort(s.target[strings.Index(s.target, "@")+1:])
	require.NoError(t, err)
	return s
}

// newHost returns a Host for the test server that installs into a folder
// of t and listens on a free loopback port.
func newHost(t testing.TB, s testSSH) *Host {
	t.Helper()
	return &Host{
		SSH:        s.target,
		Identity:   s.key,
		KnownHosts: s.knownHosts,
		Binary:     hoststest.Weir(t),
		Dir:        filepath.Join(t.TempDir(), "install"),
		Addr:       freeAddr(t),
	}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// mustDeploy deploys and deletes the deployment when t ends.
func mustDeploy(t *testing.T, h *Host, req hosts.DeployRequest) hosts.Deployment {
	t.Helper()
	d, err := h.Deploy(context.Background(), req)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, (&Host{}).Delete(context.Background(), d)) })
	return d
}

// pidOf returns the pid in a pid file of an install folder.
func pidOf(t *testing.T, dir, file string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}

// alive reports whether pid runs: a zombie waiting for its parent does not.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// waitGone waits until pid no longer runs, for at most 10s.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond, "pid %d still runs", pid)
}

func TestDeploy(t *testing.T) {
	s := sshServer(t)
	h, req := newHost(t, s), hoststest.HelloRequest(t, "hello")
	ctx := context.Background()

	d, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "vm", d.Host)
	assert.Equal(t, "http://"+net.JoinHostPort(s.host, portOf(h.Addr)), d.URL)
	assert.Equal(t, map[string]string{
		"ssh":         s.target,
		"identity":    s.key,
		"known_hosts": s.knownHosts,
		"dir":         h.Dir,
		"supervisor":  "process",
		"addr":        h.Addr,
	}, d.State)

	code, reply := hoststest.Score(t, d.URL, `{"name":"Ada"}`)
	require.Equal(t, 200, code, "reply: %v", reply)
	assert.Equal(t, "Hello, Ada!", reply["message"])

	// A zero Host finds everything in the deployment's state.
	zero := &Host{}
	serve, supervisor := pidOf(t, h.Dir, "serve.pid"), pidOf(t, h.Dir, "supervisor.pid")
	st, err := zero.Status(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Ready: true, Detail: "supervised process, pid " + strconv.Itoa(serve)}, st)

	var logs bytes.Buffer
	require.NoError(t, zero.Logs(ctx, d, &logs))
	assert.Contains(t, logs.String(), `serving flow "hello"`)

	require.NoError(t, zero.Delete(ctx, d))
	waitGone(t, serve)
	waitGone(t, supervisor)
	assert.NoDirExists(t, h.Dir)

	// What is gone stays gone, without errors.
	require.NoError(t, zero.Delete(ctx, d))
	st, err = zero.Status(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Detail: "not running"}, st)
	err = zero.Logs(ctx, d, &logs)
	assert.EqualError(t, err, `logs of "hello" on vm `+s.target+`: no log at `+h.Dir+`/serve.log on the VM: the deployment is gone`)
}

// The supervisor starts weir serve again when it dies, and Status says
// when it answers no more.
func TestRestart(t *testing.T) {
	s := sshServer(t)
	h, req := newHost(t, s), hoststest.HelloRequest(t, "restart")
	d := mustDeploy(t, h, req)

	first := pidOf(t, h.Dir, "serve.pid")
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	waitGone(t, first)
	require.Eventually(t, func() bool {
		st, err := (&Host{}).Status(context.Background(), d)
		require.NoError(t, err)
		return st.Ready && st.Detail != "supervised process, pid "+strconv.Itoa(first)
	}, 30*time.Second, 50*time.Millisecond)
	code, _ := hoststest.Score(t, d.URL, `{"name":"Ada"}`)
	assert.Equal(t, 200, code)
}

// TestDeploySecrets deploys a flow with secrets: they reach weir serve
// from a file of mode 0600 uploaded beside the supervisor, and nothing
// else on the VM (script, log, command lines) nor the state holds them.
func TestDeploySecrets(t *testing.T) {
	s := sshServer(t)
	h := newHost(t, s)
	key, token := "sk-vm-"+rand.Text()[:12], "tok-vm-\"$`\\"+rand.Text()[:12]
	d := mustDeploy(t, h, hoststest.SecretRequest(t, "secret", key, token))

	code, reply := hoststest.Score(t, d.URL, `{}`)
	require.Equal(t, 200, code, "reply: %v", reply)
	assert.Equal(t, map[string]any{"text": strings.ToUpper(key) + " " + strings.ToUpper(token), "raw": "***"}, reply)

	info, err := os.Stat(filepath.Join(h.Dir, "secrets.env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	err = filepath.WalkDir(h.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == "secrets.env" || e.Name() == "weir" {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			assert.NotContains(t, string(b), key, p)
			assert.NotContains(t, string(b), token, p)
		}
		return err
	})
	require.NoError(t, err)
	for _, pid := range []int{pidOf(t, h.Dir, "serve.pid"), pidOf(t, h.Dir, "supervisor.pid")} {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		require.NoError(t, err)
		assert.NotContains(t, string(cmdline), key)
	}
	state, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(state), key)
}

// A flow with Python tools runs on a VM with the VM's python3: the bundle
// carries the tools' folder, not an interpreter.
func TestDeployPython(t *testing.T) {
	s := sshServer(t)
	_, err := exec.LookPath("python3")
	hoststest.Need(t, "python3 on the VM (the test's SSH server runs on this machine)", err)
	h := newHost(t, s)
	d := mustDeploy(t, h, hoststest.PythonRequest(t, "py"))
	code, reply := hoststest.Score(t, d.URL, `{"text":"hi"}`)
	require.Equal(t, 200, code, "reply: %v", reply)
	assert.Equal(t, map[string]any{"out": "HI"}, reply)
}

// TestDeployWorker deploys a worker of a pool whose NATS server asks for
// a password: weir worker runs under the supervisor with the credentials
// in its secrets file, is ready once connected, runs the pool's flows, and
// drains when deleted.
func TestDeployWorker(t *testing.T) {
	s := sshServer(t)
	ns, p := hoststest.Pool(t, "vm", "weir", "pw-vm-planted")
	h := newHost(t, s)
	req := hosts.DeployRequest{
		Name:    "worker-test",
		Worker:  &hosts.WorkerSpec{Pool: "vm", NATS: ns.URL(), Labels: []string{"where=vm"}},
		Secrets: map[string]string{"NATS_USER": "weir", "NATS_PASSWORD": "pw-vm-planted"},
	}
	ctx := context.Background()
	d, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "http://"+h.Addr, d.URL)
	assert.Equal(t, "vm", d.State["pool"])
	assert.NoFileExists(t, filepath.Join(h.Dir, "bundle.weir"))
	secrets, err := os.ReadFile(filepath.Join(h.Dir, "secrets.env"))
	require.NoError(t, err)
	assert.Equal(t, "NATS_PASSWORD=\"pw-vm-planted\"\nNATS_USER=\"weir\"\n", string(secrets))
	script, err := os.ReadFile(filepath.Join(h.Dir, "supervise.sh"))
	require.NoError(t, err)
	assert.NotContains(t, string(script), "pw-vm-planted")

	workers := hoststest.Workers(t, p, "where", "vm", nil)
	require.Len(t, workers, 1)
	assert.Equal(t, pidOf(t, h.Dir, "serve.pid"), workers[0].PID)
	// It takes lines of a batch: all of them, as the pool's only worker.
	hoststest.BatchHello(t, p, 20)
	assert.Equal(t, int64(20), hoststest.Workers(t, p, "where", "vm", func(w pool.WorkerInfo) bool { return w.Lines == 20 })[0].Lines)
	st, err := h.Status(ctx, d)
	require.NoError(t, err)
	assert.True(t, st.Ready, st.Detail)

	pid := pidOf(t, h.Dir, "serve.pid")
	require.NoError(t, (&Host{}).Delete(ctx, d))
	waitGone(t, pid)
	assert.NoDirExists(t, h.Dir)
	st2, err := p.Status(ctx)
	require.NoError(t, err)
	for _, w := range st2.Workers {
		assert.NotEqual(t, workers[0].ID, w.ID, "the worker did not leave the pool: killed, not drained?")
	}
}
