package vm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/internal/hoststest"
)

// newKey writes a new ed25519 private key, which the test server does not
// know, to a file of t; with a passphrase when one is given.
func newKey(t *testing.T, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "weir-test")
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "weir-test", []byte(passphrase))
	}
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "id_ed25519")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return path, sshPub
}

// writeFile writes content to a new file of t and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// foreignELF writes the header of a static Linux executable for another
// architecture than this machine's, and returns its path and that GOARCH.
func foreignELF(t *testing.T) (string, string) {
	t.Helper()
	arch, machine := "arm64", uint16(183) // EM_AARCH64
	if runtime.GOARCH == "arm64" {
		arch, machine = "amd64", 62 // EM_X86_64
	}
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")           // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)  // EV_CURRENT
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	return writeFile(t, "weir", string(h)), arch
}

// TestDeployFaults checks the errors of deploys that cannot start, and
// that they leave nothing on the VM.
func TestDeployFaults(t *testing.T) {
	s := sshServer(t)
	hello := hoststest.HelloRequest(t, "")
	hostKey := "[" + s.host + "]:" + s.port
	scan := "ssh-keyscan -p " + s.port + " " + s.host
	tests := []struct {
		name string
		// setup changes the host or the request and returns the error
		// that follows the prefix `deploy "NAME" on vm TARGET: `.
		setup func(t *testing.T, h *Host, req *hosts.DeployRequest) string
	}{
		{"unknown-host", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.KnownHosts = writeFile(t, "known_hosts", "# nobody\n")
			return "host key of " + hostKey + " is unknown: it is not in " + h.KnownHosts + "; add it with " + scan + " >> " + h.KnownHosts + " (after checking it is the VM's), or pass --insecure-ignore-host-key"
		}},
		{"no-known-hosts", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
			return "host key of " + hostKey + " is unknown: " + h.KnownHosts + " does not exist; add it with " + scan + " >> " + h.KnownHosts + " (after checking it is the VM's), or pass --insecure-ignore-host-key"
		}},
		{"host-key-mismatch", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			_, other := newKey(t, "")
			h.KnownHosts = writeFile(t, "known_hosts", "# another VM had this address\n"+knownhosts.Line([]string{s.host + ":" + s.port}, other)+"\n")
			return "host key of " + hostKey + " does not match " + h.KnownHosts + ":2: the VM was reinstalled, or someone is in the middle; if the new key is right, remove the old one with ssh-keygen -R '" + hostKey + "' -f " + h.KnownHosts + ", or pass --insecure-ignore-host-key"
		}},
		{"wrong-key", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Identity, _ = newKey(t, "")
			return "the VM refused the key " + h.Identity + " for root: add its public key to root's ~/.ssh/authorized_keys on the VM, or give another identity file (--identity)"
		}},
		{"key-with-passphrase", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Identity, _ = newKey(t, "secret")
			return "identity " + h.Identity + " is protected by a passphrase: add it to ssh-agent (ssh-add " + h.Identity + ") and give no identity file"
		}},
		{"unreachable", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			addr := freeAddr(t)
			h.SSH = "root@" + addr
			return "connect to " + addr + ": connection refused: is the VM up, with sshd on port " + portOf(addr) + "?"
		}},
		{"systemd-forced", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Supervisor = "systemd"
			return `the VM has no systemd (/run/systemd/system is missing): use the supervised process (supervisor "process" or "auto")`
		}},
		{"limits-without-systemd", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Memory = 1 << 30
			return "memory and CPU limits need systemd, and weir serve runs as a supervised process here (no systemd, or not root): deploy without the limits"
		}},
		{"wrong-arch", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			var arch string
			h.Binary, arch = foreignELF(t)
			return "weir binary " + h.Binary + " is for linux/" + arch + ", the target is linux/" + runtime.GOARCH + "; build one with CGO_ENABLED=0 GOOS=linux GOARCH=" + runtime.GOARCH + " go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary"
		}},
		{"not-our-folder", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			require.NoError(t, os.MkdirAll(h.Dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(h.Dir, "precious"), nil, 0o644))
			return h.Dir + " on the VM has files and no .weir-deployment: it is not a weir deployment's folder; choose another install folder, or empty it"
		}},
		{"another-deployment", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			require.NoError(t, os.MkdirAll(h.Dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(h.Dir, ".weir-deployment"), []byte("other\n"), 0o644))
			return h.Dir + " on the VM is the install folder of the deployment other: choose another install folder"
		}},
		{"bad-restart", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Restart = "sometimes"
			return `restart "sometimes": use always, on-failure or no`
		}},
		{"bad-env", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Env = []string{"1X=y"}
			return `environment variable "1X=y": use KEY=VALUE, on one line`
		}},
		{"bad-dir", func(t *testing.T, h *Host, _ *hosts.DeployRequest) string {
			h.Dir = "opt/weir"
			return `install folder "opt/weir": use an absolute path of letters, digits and . _ / + @ -`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, req := newHost(t, s), hello
			req.Name = tt.name
			want := tt.setup(t, h, &req)
			_, err := h.Deploy(context.Background(), req)
			require.EqualError(t, err, `deploy "`+tt.name+`" on vm `+h.SSH+": "+want)
			switch tt.name {
			case "not-our-folder":
				assert.FileExists(t, filepath.Join(h.Dir, "precious"))
			case "another-deployment":
				assert.FileExists(t, filepath.Join(h.Dir, ".weir-deployment"))
			default:
				assert.NoDirExists(t, h.Dir)
			}
		})
	}
}

// A deployment whose weir serve exits at start fails with the end of its
// log, and leaves nothing behind.
func TestDeployExitsAtStart(t *testing.T) {
	s := sshServer(t)
	hello := hoststest.HelloRequest(t, "")
	tests := []struct {
		name string
		// setup returns the lines weir serve logs before it exits.
		setup func(t *testing.T, h *Host, req *hosts.DeployRequest) []string
	}{
		{"bad-bundle", func(t *testing.T, h *Host, req *hosts.DeployRequest) []string {
			req.Bundle = writeFile(t, "junk.weir", "not a bundle")
			return []string{"weir: " + h.Dir + "/bundle.weir: read bundle: not a weir bundle (a tar archive compressed with gzip)"}
		}},
		{"port-taken", func(t *testing.T, h *Host, _ *hosts.DeployRequest) []string {
			// Another web server has the port.
			l, err := net.Listen("tcp", h.Addr)
			require.NoError(t, err)
			other := httptest.NewUnstartedServer(http.NotFoundHandler())
			other.Listener.Close()
			other.Listener = l
			other.Start()
			t.Cleanup(other.Close)
			return []string{"weir: serve: listen tcp " + h.Addr + ": bind: address already in use: another program listens there (a weir serve still running?); pick another port with --addr, or --addr 127.0.0.1:0 for a free one"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, req := newHost(t, s), hello
			req.Name = tt.name
			lines := tt.setup(t, h, &req)
			lines = append(lines, "weir supervisor: weir serve exited with status 1")
			_, err := h.Deploy(context.Background(), req)
			require.Error(t, err)
			// The supervisor restarts weir serve after 1s: on a slow
			// machine, the log may have more of the same lines.
			want := `deploy "` + tt.name + `" on vm ` + s.target + ": weir serve exited with status 1 before it was ready; its log ends with:\n  " + strings.Join(lines, "\n  ")
			assert.True(t, strings.HasPrefix(err.Error(), want), "error:\n%s\nwant:\n%s", err, want)
			assert.NoDirExists(t, h.Dir)
			assert.Empty(t, processesIn(t, h.Dir))
		})
	}
}

// processesIn returns the pids of the processes whose command line names
// something in dir.
func processesIn(t *testing.T, dir string) []int {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var pids []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), dir+"/") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cancelAfter is a context canceled by the nth call of its Err method:
// Deploy's upload asks it before each chunk, so a small n cancels the
// deploy in the middle of uploading the binary.
type cancelAfter struct {
	context.Context
	cancel context.CancelFunc
	n      atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return c.Context.Err()
}

// A deploy canceled in the middle of the upload leaves no partial file;
// the next deploy works.
func TestDeployCanceledMidUpload(t *testing.T) {
	s := sshServer(t)
	h, req := newHost(t, s), hoststest.HelloRequest(t, "canceled")
	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &cancelAfter{Context: inner, cancel: cancel}
	ctx.n.Store(50)

	_, err := h.Deploy(ctx, req)
	require.EqualError(t, err, `deploy "canceled" on vm `+s.target+": context canceled")
	entries, err := os.ReadDir(h.Dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{".weir-deployment", "cache", "home"}, names, "no binary, not even a part of it")

	d := mustDeploy(t, h, req)
	code, _ := hoststest.Score(t, d.URL, `{"name":"Ada"}`)
	assert.Equal(t, 200, code)
}

// A deploy over the leftovers of a crash (a supervisor killed, its weir
// serve orphaned and holding the port, a half-uploaded file) replaces them.
func TestDeployAfterCrash(t *testing.T) {
	s := sshServer(t)
	h, req := newHost(t, s), hoststest.HelloRequest(t, "crashed")
	mustDeploy(t, h, req)
	orphan := pidOf(t, h.Dir, "serve.pid")
	supervisor := pidOf(t, h.Dir, "supervisor.pid")
	require.NoError(t, syscall.Kill(supervisor, syscall.SIGKILL))
	waitGone(t, supervisor)
	require.NoError(t, os.WriteFile(filepath.Join(h.Dir, ".upload-weir-crashed"), []byte("half"), 0o644))

	d := mustDeploy(t, h, req)
	waitGone(t, orphan)
	assert.NoFileExists(t, filepath.Join(h.Dir, ".upload-weir-crashed"))
	assert.NotEqual(t, orphan, pidOf(t, h.Dir, "serve.pid"))
	code, reply := hoststest.Score(t, d.URL, `{"name":"Ada"}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, "Hello, Ada!", reply["message"])
}

// With InsecureIgnoreHostKey, a host key that known_hosts does not know
// is accepted, and the deployment's state keeps the choice.
func TestInsecureIgnoreHostKey(t *testing.T) {
	s := sshServer(t)
	h, req := newHost(t, s), hoststest.HelloRequest(t, "insecure")
	h.KnownHosts = writeFile(t, "known_hosts", "")
	h.InsecureIgnoreHostKey = true
	d := mustDeploy(t, h, req)
	assert.Equal(t, "true", d.State["insecure_ignore_host_key"])
	st, err := (&Host{}).Status(context.Background(), d)
	require.NoError(t, err)
	assert.True(t, st.Ready, st.Detail)
}
