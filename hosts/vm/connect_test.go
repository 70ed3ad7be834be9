package vm

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/weirflow/weir/hosts"
)

// serveAgent serves an ssh-agent holding the private keys in files at
// $SSH_AUTH_SOCK, for the rest of t.
func serveAgent(t *testing.T, files ...string) {
	t.Helper()
	keyring := agent.NewKeyring()
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		key, err := ssh.ParseRawPrivateKey(b)
		require.NoError(t, err)
		require.NoError(t, keyring.Add(agent.AddedKey{PrivateKey: key}))
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

// With no identity file, the keys come from ssh-agent, then from ~/.ssh.
func TestDefaultKeys(t *testing.T) {
	s := sshServer(t)
	wrong, _ := newKey(t, "")
	tests := []struct {
		name  string
		setup func(t *testing.T, home string)
		err   string // "" when the login works
	}{
		{"agent", func(t *testing.T, _ string) { serveAgent(t, s.key) }, ""},
		{"home", func(t *testing.T, home string) { copyKey(t, s.key, filepath.Join(home, ".ssh", "id_ed25519")) }, ""},
		{"agent-then-home", func(t *testing.T, home string) {
			serveAgent(t, wrong)
			copyKey(t, s.key, filepath.Join(home, ".ssh", "id_rsa"))
		}, ""},
		{"no-key", func(*testing.T, string) {}, "no SSH key to log in with: give an identity file (--identity), or add your key to ssh-agent (ssh-add)"},
		{"wrong-keys", func(t *testing.T, home string) {
			serveAgent(t, wrong)
			copyKey(t, wrong, filepath.Join(home, ".ssh", "id_ecdsa"))
		}, "the VM refused the keys of ssh-agent and HOME/.ssh/id_ecdsa for root: add its public key to root's ~/.ssh/authorized_keys on the VM, or give another identity file (--identity)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("SSH_AUTH_SOCK", "")
			tt.setup(t, home)
			target, err := parseTarget(s.target)
			require.NoError(t, err)

			client, err := dial(context.Background(), login{target: target, knownHosts: s.knownHosts})
			if tt.err != "" {
				require.EqualError(t, err, strings.ReplaceAll(tt.err, "HOME/", home+"/"))
				return
			}
			require.NoError(t, err)
			defer client.Close()
			out, err := remote{client}.output(context.Background(), "echo logged in")
			require.NoError(t, err)
			assert.Equal(t, "logged in\n", out)
		})
	}
}

func copyKey(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o700))
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// Delete leaves alone a folder weir did not make.
func TestDeleteNotOurFolder(t *testing.T) {
	s := sshServer(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "precious"), nil, 0o644))
	d := hosts.Deployment{Name: "mine", State: map[string]string{
		"ssh": s.target, "identity": s.key, "known_hosts": s.knownHosts, "dir": dir, "supervisor": "process",
	}}
	err := (&Host{}).Delete(context.Background(), d)
	require.EqualError(t, err, `delete "mine" on vm `+s.target+": "+dir+" on the VM has no .weir-deployment: not removing a folder weir did not make")
	assert.FileExists(t, filepath.Join(dir, "precious"))
}

// Without a VM to connect to, Deploy says what to give.
func TestDeployNoTarget(t *testing.T) {
	_, err := (&Host{}).Deploy(context.Background(), hosts.DeployRequest{Name: "hello"})
	require.EqualError(t, err, `deploy "hello" on vm: no VM to connect to: give USER@HOST[:PORT] (--ssh)`)
}
