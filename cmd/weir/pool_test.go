package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/testcerts"
)

// noNATSEnv clears the NATS variables the test's own environment may set.
var noNATSEnv = []string{"OTEL_TRACES_EXPORTER=none", "NATS_URL=", "NATS_CREDS=", "NATS_NKEY=", "NATS_USER=",
	"NATS_PASSWORD=", "NATS_TOKEN=", "NATS_CA=", "NATS_CERT=", "NATS_KEY="}

var poolListening = regexp.MustCompile(`listening at ((?:nats|tls)://127\.0\.0\.1:\d+)`)

// startPoolServe runs weir pool serve on a free port with its store in
// store, until the test ends.
func startPoolServe(t *testing.T, store string, args ...string) *served {
	t.Helper()
	return startListening(t, t.TempDir(), noNATSEnv, 1, poolListening,
		append([]string{"pool", "serve", "--addr", "127.0.0.1:0", "--store", store}, args...)...)
}

// weirNATS runs the built weir with env added to noNATSEnv.
func weirNATS(t *testing.T, env []string, args ...string) result {
	t.Helper()
	bin, _ := weirBinary(t)
	return runBinaryEnv(t, bin, t.TempDir(), "", append(append([]string{}, noNATSEnv...), env...), args...)
}

// poolCase is a command line of the built weir, with env added to
// noNATSEnv, and all it must print.
type poolCase struct {
	name   string
	env    []string
	args   []string
	code   int
	stdout string
	stderr string
}

func (tc poolCase) run(t *testing.T) {
	t.Helper()
	got := weirNATS(t, tc.env, tc.args...)
	assert.Equal(t, result{tc.code, tc.stdout, tc.stderr}, got)
}

// TestPoolCommands creates, lists, shows and deletes a pool on a weir pool
// serve process.
func TestPoolCommands(t *testing.T) {
	t.Parallel()
	s := startPoolServe(t, t.TempDir())
	url := s.url
	down := "nats://" + freePort(t)
	tests := []poolCase{
		{name: "no pools yet", args: []string{"pool", "list", "--nats", url},
			stdout: "no pools on " + url + ": create one with weir pool create NAME\n"},
		{name: "create", args: []string{"pool", "create", "--nats", url, "demo"},
			stdout: `created pool "demo" on ` + url + ": replicas 1, max-deliver 5, ack-wait 30s\n"},
		{name: "create again", args: []string{"pool", "create", "--nats", url, "demo"},
			stdout: `pool "demo" exists already on ` + url + ": replicas 1, max-deliver 5, ack-wait 30s\n"},
		{name: "create with other settings", args: []string{"pool", "create", "--nats", url, "--max-deliver", "3", "demo"}, code: 1,
			stderr: `weir: create pool "demo": it exists with other settings (replicas 1, max-deliver 5, ack-wait 30s); delete it first to change them` + "\n"},
		{name: "create with settings, NATS_URL", env: []string{"NATS_URL=" + url}, args: []string{"pool", "create", "--max-deliver", "3", "--ack-wait", "2m", "gpu-1"},
			stdout: `created pool "gpu-1" on ` + url + ": replicas 1, max-deliver 3, ack-wait 2m0s\n"},
		{name: "list", args: []string{"pool", "list", "--nats", url},
			stdout: "NAME   WORKERS  QUEUED  IN FLIGHT  DEAD  SETTINGS\n" +
				"demo   0        0       0          0     replicas 1, max-deliver 5, ack-wait 30s\n" +
				"gpu-1  0        0       0          0     replicas 1, max-deliver 3, ack-wait 2m0s\n"},
		{name: "status", args: []string{"pool", "status", "--nats", url, "demo"},
			stdout: `pool "demo" on ` + url + ": replicas 1, max-deliver 5, ack-wait 30s\n\n" +
				"no workers: start one with weir worker --pool demo\n\n" +
				"queued        0\nin flight     0\nredelivered   0\ndead letters  0\nresults kept  0\nbundles       0\n"},
		{name: "status of no pool", args: []string{"pool", "status", "--nats", url, "nope"}, code: 1,
			stderr: `weir: pool "nope" does not exist on ` + url + "; create it with weir pool create nope\n"},
		{name: "bad name", args: []string{"pool", "create", "--nats", url, "a.b"}, code: 2,
			stderr: `weir: pool name "a.b": use up to 64 letters, digits, '-' and '_', starting with a letter or digit` + "\n" + usage("pool create")},
		{name: "unreachable server", args: []string{"pool", "list", "--nats", down}, code: 1,
			stderr: "weir: connect to " + down + ": no server is listening there (start one with weir pool serve, or pass --nats URL)\n"},
		{name: "unreachable server from NATS_URL", env: []string{"NATS_URL=" + down}, args: []string{"pool", "status", "demo"}, code: 1,
			stderr: "weir: connect to " + down + ": no server is listening there (start one with weir pool serve, or pass --nats URL)\n"},
	}
	// In order: each case sees what the ones before it made.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t) })
	}

	t.Run("status -o json", func(t *testing.T) {
		got := weirNATS(t, nil, "pool", "status", "--nats", url, "-o", "json", "gpu-1")
		require.Equal(t, 0, got.code, got.stderr)
		var st map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.stdout), &st))
		assert.Equal(t, "gpu-1", st["name"])
		assert.Equal(t, map[string]any{"replicas": 1.0, "max_deliver": 3.0, "ack_wait": "2m0s"}, st["settings"])
		assert.Equal(t, []any{}, st["workers"])
		for _, k := range []string{"queued", "in_flight", "redelivered", "dead"} {
			assert.Equal(t, 0.0, st[k], k)
		}
	})
	t.Run("list -o json", func(t *testing.T) {
		got := weirNATS(t, nil, "pool", "list", "--nats", url, "-o", "json")
		require.Equal(t, 0, got.code, got.stderr)
		var list []pool.Status
		require.NoError(t, json.Unmarshal([]byte(got.stdout), &list))
		require.Len(t, list, 2)
		assert.Equal(t, "demo", list[0].Name)
		assert.Equal(t, pool.Settings{Replicas: 1, MaxDeliver: 3, AckWait: 2 * time.Minute}, list[1].Settings)
	})
	t.Run("delete", func(t *testing.T) {
		got := weirNATS(t, nil, "pool", "delete", "--nats", url, "demo")
		assert.Equal(t, result{0, "deleted pool \"demo\"\n", ""}, got)
		got = weirNATS(t, nil, "pool", "delete", "--nats", url, "demo")
		assert.Equal(t, result{1, "", `weir: pool "demo" does not exist on ` + url + "; create it with weir pool create demo\n"}, got)
		got = weirNATS(t, nil, "pool", "list", "--nats", url)
		assert.Equal(t, result{0, "NAME   WORKERS  QUEUED  IN FLIGHT  DEAD  SETTINGS\n" +
			"gpu-1  0        0       0          0     replicas 1, max-deliver 3, ack-wait 2m0s\n", ""}, got)
	})
}

// TestPoolStatusWorker: a weir worker process is in the status of its pool,
// with its host, labels and concurrency, from its heartbeats.
func TestPoolStatusWorker(t *testing.T) {
	t.Parallel()
	s := startPoolServe(t, t.TempDir())
	got := weirNATS(t, nil, "pool", "create", "--nats", s.url, "demo")
	require.Equal(t, 0, got.code, got.stderr)
	// Its second line, "worker started", comes after its first heartbeat.
	w := startListening(t, t.TempDir(), noNATSEnv, 2, regexp.MustCompile(`^worker (\S+): pulling`),
		"worker", "--home", t.TempDir(), "--nats", s.url, "--pool", "demo", "--concurrency", "2", "--labels", "zone=b", "--labels", "gpu=yes")
	id := w.url
	host, err := os.Hostname()
	require.NoError(t, err)

	got = weirNATS(t, nil, "pool", "status", "--nats", s.url, "demo")
	require.Equal(t, 0, got.code, got.stderr)
	pad := strings.Repeat(" ", max(len(id), len("WORKER"))-len(id))
	hostPad := strings.Repeat(" ", max(len(host), len("HOST"))-len(host))
	assert.Regexp(t, "^"+regexp.QuoteMeta(`pool "demo" on `+s.url+": replicas 1, max-deliver 5, ack-wait 30s\n\n")+
		`WORKER +HOST +STATE +LABELS +CONCURRENCY +RUNNING +LINES +RUNS +HEARTBEAT\n`+
		regexp.QuoteMeta(id+pad+"  "+host+hostPad+"  running  gpu=yes,zone=b  2            0        0      0     ")+`\d+s ago\n\n`+
		regexp.QuoteMeta("queued        0\n"), got.stdout)

	got = weirNATS(t, nil, "pool", "status", "--nats", s.url, "-o", "json", "demo")
	require.Equal(t, 0, got.code, got.stderr)
	var st pool.Status
	require.NoError(t, json.Unmarshal([]byte(got.stdout), &st))
	require.Len(t, st.Workers, 1)
	wk := st.Workers[0]
	assert.Equal(t, id, wk.ID)
	assert.Equal(t, host, wk.Host)
	assert.Equal(t, w.cmd.Process.Pid, wk.PID)
	assert.Equal(t, map[string]string{"gpu": "yes", "zone": "b"}, wk.Labels)
	assert.Equal(t, 2, wk.Concurrency)
	assert.False(t, wk.Heartbeat.IsZero())

	got = weirNATS(t, nil, "pool", "list", "--nats", s.url)
	assert.Equal(t, result{0, "NAME  WORKERS  QUEUED  IN FLIGHT  DEAD  SETTINGS\n" +
		"demo  1        0       0          0     replicas 1, max-deliver 5, ack-wait 30s\n", ""}, got)
	code, _ := w.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code)
}

// TestPoolServeAuth: a server with a password refuses clients without it,
// with an error that says so and never shows the password.
func TestPoolServeAuth(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s := startPoolServe(t, store, "--user", "weir", "--password", "s3cret")
	assert.Equal(t, []string{"NATS server with JetStream listening at " + s.url + ` (user "weir" and its password), store ` + store}, s.start)
	tests := []poolCase{
		{name: "no credentials", args: []string{"pool", "list", "--nats", s.url}, code: 1,
			stderr: "weir: connect to " + s.url + ": authorization failed: the server asks for credentials (--nats-creds, --nats-nkey, --nats-user and --nats-password, or --nats-token)\n"},
		{name: "wrong password", args: []string{"pool", "list", "--nats", s.url, "--nats-user", "weir", "--nats-password", "guess"}, code: 1,
			stderr: "weir: connect to " + s.url + `: authorization failed: the server refused user "weir" with the password given` + "\n"},
		{name: "wrong password from the environment", env: []string{"NATS_USER=weir", "NATS_PASSWORD=guess"}, args: []string{"pool", "list", "--nats", s.url}, code: 1,
			stderr: "weir: connect to " + s.url + `: authorization failed: the server refused user "weir" with the password given` + "\n"},
		{name: "password from the environment", env: []string{"NATS_USER=weir", "NATS_PASSWORD=s3cret"}, args: []string{"pool", "list", "--nats", s.url},
			stdout: "no pools on " + s.url + ": create one with weir pool create NAME\n"},
		{name: "password in the URL", args: []string{"pool", "list", "--nats", strings.Replace(s.url, "://", "://weir:s3cret@", 1)},
			stdout: "no pools on " + s.url + ": create one with weir pool create NAME\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

// TestPoolServeTLS: a server that asks for TLS and a client certificate
// takes the clients that give --nats-ca, --nats-cert and --nats-key, or
// their variables, and tells the others what they lack.
func TestPoolServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	serverCert, serverKey := ca.Leaf(t, dir, "server", "127.0.0.1")
	clientCert, clientKey := ca.Leaf(t, dir, "client", "127.0.0.1")
	store := t.TempDir()
	s := startPoolServe(t, store, "--tls-cert", serverCert, "--tls-key", serverKey, "--tls-ca", ca.File)
	require.True(t, strings.HasPrefix(s.url, "tls://"), s.url)
	assert.Equal(t, []string{"NATS server with JetStream listening at " + s.url + " (a client certificate of the CA in " + ca.File + "), store " + store}, s.start)
	tests := []poolCase{
		{name: "no CA", args: []string{"pool", "list", "--nats", s.url}, code: 1,
			stderr: "weir: connect to " + s.url + ": TLS: the server's certificate is not signed by a CA this machine trusts (pass its CA with --nats-ca FILE)\n"},
		{name: "no client certificate", args: []string{"pool", "list", "--nats", s.url, "--nats-ca", ca.File}, code: 1,
			stderr: "weir: connect to " + s.url + ": TLS: the server hung up after the handshake, as it does when it wants a client certificate (--nats-cert and --nats-key)\n"},
		{name: "flags", args: []string{"pool", "list", "--nats", s.url, "--nats-ca", ca.File, "--nats-cert", clientCert, "--nats-key", clientKey},
			stdout: "no pools on " + s.url + ": create one with weir pool create NAME\n"},
		{name: "variables", env: []string{"NATS_URL=" + s.url, "NATS_CA=" + ca.File, "NATS_CERT=" + clientCert, "NATS_KEY=" + clientKey}, args: []string{"pool", "list"},
			stdout: "no pools on " + s.url + ": create one with weir pool create NAME\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

// TestPoolServeRestart: weir pool serve stops cleanly on SIGTERM, holds its
// store while it runs, and a pool made before a restart is there after it.
func TestPoolServeRestart(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s := startPoolServe(t, store)
	assert.Equal(t, []string{"NATS server with JetStream listening at " + s.url + " (no authentication), store " + store}, s.start)
	got := weirNATS(t, nil, "pool", "create", "--nats", s.url, "kept")
	require.Equal(t, 0, got.code, got.stderr)

	// A second server on the store would corrupt it.
	bin, _ := weirBinary(t)
	got = runBinaryEnv(t, bin, t.TempDir(), "", noNATSEnv, "pool", "serve", "--addr", "127.0.0.1:0", "--store", store)
	assert.Equal(t, result{1, "", "weir: start nats server: the store " + store + " is in use by another NATS server\n"}, got)

	code, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code)
	assert.Equal(t, []string{"stopping the NATS server", "stopped"}, rest)

	s = startPoolServe(t, store)
	got = weirNATS(t, nil, "pool", "list", "--nats", s.url)
	assert.Equal(t, result{0, "NAME  WORKERS  QUEUED  IN FLIGHT  DEAD  SETTINGS\n" +
		"kept  0        0       0          0     replicas 1, max-deliver 5, ack-wait 30s\n", ""}, got)
	code, _ = s.stop(t, syscall.SIGINT)
	assert.Equal(t, 0, code)
}

// TestPoolServeDefaultStore: the store is under --home unless --store says.
func TestPoolServeDefaultStore(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s := startListening(t, t.TempDir(), noNATSEnv, 1, poolListening, "pool", "serve", "--home", home, "--addr", "127.0.0.1:0")
	assert.Equal(t, []string{"NATS server with JetStream listening at " + s.url + " (no authentication), store " + filepath.Join(home, "nats")}, s.start)
	assert.DirExists(t, filepath.Join(home, "nats", "jetstream"))
}

func TestPoolUsage(t *testing.T) {
	runCases(t, []commandCase{
		{name: "serve: user without password", args: []string{"pool", "serve", "--user", "weir"}, code: 2,
			stderr: "weir: --user needs --password\n" + usage("pool serve")},
		{name: "serve: password without user", args: []string{"pool", "serve", "--password", "x"}, code: 2,
			stderr: "weir: --password needs --user\n" + usage("pool serve")},
		{name: "serve: user and token", args: []string{"pool", "serve", "--user", "weir", "--password", "x", "--token", "y"}, code: 2,
			stderr: "weir: give --user and --password, or --token, not both\n" + usage("pool serve")},
		{name: "serve: cert without key", args: []string{"pool", "serve", "--tls-cert", "c.pem"}, code: 2,
			stderr: "weir: --tls-cert and --tls-key go together\n" + usage("pool serve")},
		{name: "serve: client CA without TLS", args: []string{"pool", "serve", "--tls-ca", "ca.pem"}, code: 2,
			stderr: "weir: --tls-ca needs --tls-cert and --tls-key\n" + usage("pool serve")},
		{name: "serve: a bare port", args: []string{"pool", "serve", "--addr", "4222"}, code: 2,
			stderr: "weir: --addr 4222: did you mean :4222 (every interface) or 127.0.0.1:4222 (this machine only)?\n" + usage("pool serve")},
		{name: "create: no name", args: []string{"pool", "create"}, code: 2,
			stderr: "weir: pool create takes 1 argument, got 0\n" + usage("pool create")},
		{name: "create: no replicas", args: []string{"pool", "create", "--replicas", "0", "x"}, code: 2,
			stderr: "weir: --replicas must be 1 to 5, got 0\n" + usage("pool create")},
		{name: "create: no delivery", args: []string{"pool", "create", "--max-deliver", "0", "x"}, code: 2,
			stderr: "weir: --max-deliver must be at least 1, got 0\n" + usage("pool create")},
		{name: "create: short ack wait", args: []string{"pool", "create", "--ack-wait", "10ms", "x"}, code: 2,
			stderr: "weir: --ack-wait must be at least 1s, got 10ms\n" + usage("pool create")},
		{name: "status: bad output", args: []string{"pool", "status", "-o", "yaml", "x"}, code: 2,
			stderr: "weir: -o must be table or json, not \"yaml\"\n" + usage("pool status")},
		{name: "delete: two names", args: []string{"pool", "delete", "x", "y"}, code: 2,
			stderr: "weir: pool delete takes 1 argument, got 2\n" + usage("pool delete")},
	})
}

// TestShowPool prints the workers a pool's heartbeats give.
func TestShowPool(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	st := &pool.Status{
		Name:     "demo",
		Settings: pool.Settings{Replicas: 1, MaxDeliver: 5, AckWait: 30 * time.Second},
		Workers: []pool.WorkerInfo{
			{ID: "w1", Host: "box-a", Labels: map[string]string{"zone": "b", "gpu": "yes"}, Concurrency: 4, Running: 2, Lines: 120, Heartbeat: now.Add(-1500 * time.Millisecond)},
			{ID: "w2", Host: "box-b", Concurrency: 8, Lines: 7, Runs: 3, Draining: true, Heartbeat: now.Add(time.Second)},
			{ID: "w3", Host: "box-c", Concurrency: 1, Lines: 1, Heartbeat: now.Add(-2*time.Minute - 5*time.Second)},
		},
		Queued: 12, InFlight: 2, Redelivered: 1, Dead: 1, Results: 128, Bundles: 1,
	}
	var b strings.Builder
	require.NoError(t, showPool(&b, "nats://127.0.0.1:4222", st, now))
	assert.Equal(t, `pool "demo" on nats://127.0.0.1:4222: replicas 1, max-deliver 5, ack-wait 30s

WORKER  HOST   STATE     LABELS          CONCURRENCY  RUNNING  LINES  RUNS  HEARTBEAT
w1      box-a  running   gpu=yes,zone=b  4            2        120    0     2s ago
w2      box-b  draining  -               8            0        7      3     0s ago
w3      box-c  lost      -               1            0        1      0     2m5s ago

queued        12
in flight     2
redelivered   1
dead letters  1
results kept  128
bundles       1
`, b.String())
}

// freePort is a loopback host:port where nothing listens.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
