package vm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dialTimeout bounds the TCP connection and, separately, the SSH handshake.
const dialTimeout = 15 * time.Second

// target is where to log in: USER@HOST[:PORT].
type target struct{ user, host, port string }

// parseTarget reads USER@HOST[:PORT]; the user defaults to the local one,
// as with ssh, and the port to 22. An IPv6 address with a port is written
// in brackets: root@[::1]:2222.
func parseTarget(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("no VM to connect to: give USER@HOST[:PORT] (--ssh)")
	}
	var t target
	at := strings.LastIndex(s, "@")
	if at >= 0 {
		t.user, s = s[:at], s[at+1:]
	} else {
		u, err := user.Current()
		if err != nil {
			return target{}, fmt.Errorf("ssh target %q has no user and the local one is unknown (%v): give USER@HOST", s, err)
		}
		t.user = u.Username
	}
	t.host, t.port = s, "22"
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return target{}, fmt.Errorf("ssh target %q: %v; give USER@HOST[:PORT]", s, err)
		}
		t.host, t.port = host, port
	}
	port, err := strconv.Atoi(t.port)
	badHost := strings.ContainsAny(t.host, "[]/ \t\n") || strings.Contains(t.host, ":") && net.ParseIP(t.host) == nil
	if t.user == "" || t.host == "" || badHost || err != nil || port < 1 || port > 65535 {
		return target{}, fmt.Errorf("ssh target %q: give USER@HOST[:PORT]", s)
	}
	return t, nil
}

// addr is the host and port to dial.
func (t target) addr() string { return net.JoinHostPort(t.host, t.port) }

// String is USER@HOST:PORT, as errors and the deployment's state say it.
func (t target) String() string { return t.user + "@" + t.addr() }

// login is how to reach and trust a VM.
type login struct {
	target     target
	identity   string // a private key file; empty: ssh-agent and the usual keys
	knownHosts string
	insecure   bool // do not check the host key
}

// dial connects and logs in to the VM. Its errors say what went wrong in
// the user's terms: the VM is unreachable, its host key is unknown or has
// changed, it refused the key.
func dial(ctx context.Context, l login) (*ssh.Client, error) {
	keys, err := loadKeys(l.identity)
	if err != nil {
		return nil, err
	}
	defer keys.close()
	hostKeys := &hostKeyCheck{login: l}
	if err := hostKeys.load(); err != nil {
		return nil, err
	}
	config := &ssh.ClientConfig{
		User:              l.target.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback:   hostKeys.check,
		HostKeyAlgorithms: hostKeys.algorithms(),
	}
	addr := l.target.addr()
	conn, err := (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, unreachable(l.target, err)
	}
	// NewClientConn takes no context: the deadline bounds the handshake
	// and closing the connection ends it when ctx is done.
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		conn.Close()
		switch {
		case hostKeys.err != nil:
			return nil, hostKeys.err
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("the VM refused %s for %s: add its public key to %s's ~/.ssh/authorized_keys on the VM, or give another identity file (--identity)", keys.names, l.target.user, l.target.user)
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// unreachable explains a failed TCP connection to the VM.
func unreachable(t target, err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connect to %s: connection refused: is the VM up, with sshd on port %s?", t.addr(), t.port)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("connect to %s: no answer after %s: is the VM up, and port %s open to this machine?", t.addr(), dialTimeout, t.port)
	}
	return fmt.Errorf("connect to %s: %w", t.addr(), err)
}

// keys are the private keys to log in with.
type keys struct {
	signers []ssh.Signer
	names   string   // how an error names them
	agent   net.Conn // the connection to ssh-agent, if any
}

// loadKeys returns the identity file's key, or else the keys of ssh-agent
// and of the usual files in ~/.ssh.
func loadKeys(identity string) (keys, error) {
	if identity != "" {
		signer, err := readKey(identity)
		if err != nil {
			return keys{}, err
		}
		return keys{signers: []ssh.Signer{signer}, names: "the key " + identity}, nil
	}
	var k keys
	var names []string
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			k.agent = conn
			if s, err := agent.NewClient(conn).Signers(); err == nil && len(s) > 0 {
				k.signers = append(k.signers, s...)
				names = append(names, "the keys of ssh-agent")
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			path := filepath.Join(home, ".ssh", name)
			// A missing key, or one behind a passphrase, is not the one.
			if signer, err := readKey(path); err == nil {
				k.signers = append(k.signers, signer)
				names = append(names, path)
			}
		}
	}
	if len(k.signers) == 0 {
		k.close()
		return keys{}, errors.New("no SSH key to log in with: give an identity file (--identity), or add your key to ssh-agent (ssh-add)")
	}
	k.names = strings.Join(names, " and ")
	return k, nil
}

// close closes the connection to ssh-agent, once logged in.
func (k keys) close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

// readKey reads a private key file.
func readKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("identity %s is protected by a passphrase: add it to ssh-agent (ssh-add %s) and give no identity file", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	return signer, nil
}

// hostKeyCheck checks the VM's host key against a known_hosts file, and
// keeps the explanation of a refusal, which the SSH handshake would bury.
type hostKeyCheck struct {
	login
	callback ssh.HostKeyCallback // nil: the file does not exist
	err      error               // why the key was refused
}

// load reads the known_hosts file; a missing file knows no host.
func (h *hostKeyCheck) load() error {
	if h.insecure {
		return nil
	}
	cb, err := knownhosts.New(h.knownHosts)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read known hosts: %w (fix the file, or pass --insecure-ignore-host-key)", err)
	}
	h.callback = cb
	return nil
}

// check is the ssh.HostKeyCallback.
func (h *hostKeyCheck) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if h.insecure {
		return nil
	}
	if h.callback == nil {
		h.err = h.unknown(h.knownHosts + " does not exist")
		return h.err
	}
	err := h.callback(hostname, remote, key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		h.err = h.unknown("it is not in " + h.knownHosts)
	case errors.As(err, &keyErr):
		h.err = h.mismatch(keyErr.Want)
	case errors.As(err, &revoked):
		h.err = fmt.Errorf("host key of %s is revoked at %s:%d: do not connect", knownhosts.Normalize(h.target.addr()), revoked.Revoked.Filename, revoked.Revoked.Line)
	case err != nil:
		h.err = fmt.Errorf("check host key of %s: %w", h.target.addr(), err)
	}
	return h.err
}

// unknown is the error of a host the known_hosts file does not know.
func (h *hostKeyCheck) unknown(why string) error {
	scan := "ssh-keyscan " + h.target.host
	if h.target.port != "22" {
		scan = "ssh-keyscan -p " + h.target.port + " " + h.target.host
	}
	return fmt.Errorf("host key of %s is unknown: %s; add it with %s >> %s (after checking it is the VM's), or pass --insecure-ignore-host-key",
		knownhosts.Normalize(h.target.addr()), why, scan, h.knownHosts)
}

// mismatch is the error of a host whose key is not the one known.
func (h *hostKeyCheck) mismatch(want []knownhosts.KnownKey) error {
	lines := make([]string, len(want))
	for i, k := range want {
		lines[i] = fmt.Sprintf("%s:%d", k.Filename, k.Line)
	}
	host := knownhosts.Normalize(h.target.addr())
	return fmt.Errorf("host key of %s does not match %s: the VM was reinstalled, or someone is in the middle; if the new key is right, remove the old one with ssh-keygen -R '%s' -f %s, or pass --insecure-ignore-host-key",
		host, strings.Join(lines, ", "), host, h.knownHosts)
}

// algorithms returns the host key algorithms of the keys known for the
// VM, so that the handshake asks for one of those: a VM with an ECDSA and
// an Ed25519 key, of which known_hosts has only the second, would
// otherwise show its ECDSA key and fail the check. Nil leaves the
// library's default.
func (h *hostKeyCheck) algorithms() []string {
	if h.callback == nil {
		return nil
	}
	// Checking a key nobody has lists the keys known for the host.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	addr := h.target.addr()
	var keyErr *knownhosts.KeyError
	if !errors.As(h.callback(addr, fakeAddr(addr), probe.PublicKey()), &keyErr) {
		return nil
	}
	var algos []string
	for _, k := range keyErr.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, t)
		}
	}
	return algos
}

// fakeAddr is a net.Addr for the known_hosts lookup, which wants one.
type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
