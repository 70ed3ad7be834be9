package pool

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/testcerts"
)

// freeAddr is a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentAddr is a loopback address that accepts connections and never
// says a word: a server that hangs.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	down := freeAddr(t)
	silent := silentAddr(t)
	users := startServer(t, ServerOptions{User: "weir", Password: "s3cret"})
	tokens := startServer(t, ServerOptions{Token: "t0ken"})
	plain := startServer(t, ServerOptions{})
	hostPort := func(u string) string { return u[strings.Index(u, "://")+3:] }
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	serverCert, serverKey := ca.Leaf(t, dir, "server", "127.0.0.1")
	tlsServer := startServer(t, ServerOptions{TLSCert: serverCert, TLSKey: serverKey})
	other := testcerts.NewCA(t, dir, "other")
	elsewhereCert, elsewhereKey := ca.Leaf(t, dir, "elsewhere", "192.0.2.1")
	wrongHost := startServer(t, ServerOptions{TLSCert: elsewhereCert, TLSKey: elsewhereKey})
	mutual := startServer(t, ServerOptions{TLSCert: serverCert, TLSKey: serverKey, TLSCA: ca.File})
	strangerCert, strangerKey := other.Leaf(t, dir, "stranger", "127.0.0.1")
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	seed := filepath.Join(dir, "bad.nk")
	require.NoError(t, os.WriteFile(seed, []byte("SUAnotaseed"), 0o600))

	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"nothing listens", Options{URL: "nats://" + down},
			"connect to nats://" + down + ": no server is listening there (start one with weir pool serve, or pass --nats URL)"},
		{"nothing listens on any", Options{URL: "nats://" + down + ",nats://" + down},
			"connect to nats://" + down + ", nats://" + down + ": no server is listening at any of these addresses (start one with weir pool serve, or pass --nats URL)"},
		{"silence", Options{URL: "nats://" + silent, Timeout: 100 * time.Millisecond},
			"connect to nats://" + silent + ": no answer within 100ms (is the address right, and the server up?)"},
		{"no credentials", Options{URL: users.URL()},
			"connect to " + users.URL() + ": authorization failed: the server asks for credentials (--nats-creds, --nats-nkey, --nats-user and --nats-password, or --nats-token)"},
		{"wrong password", Options{URL: users.URL(), User: "weir", Password: "guess"},
			"connect to " + users.URL() + `: authorization failed: the server refused user "weir" with the password given`},
		{"wrong password in the URL, not shown", Options{URL: "nats://weir:guess@" + hostPort(users.URL())},
			"connect to " + users.URL() + `: authorization failed: the server refused the user "weir" of the URL`},
		{"wrong token", Options{URL: tokens.URL(), Token: "guess"},
			"connect to " + tokens.URL() + ": authorization failed: the server refused the token given"},
		{"missing creds file", Options{URL: plain.URL(), CredsFile: filepath.Join(dir, "none.creds")},
			"connect to " + plain.URL() + ": read creds file: stat " + filepath.Join(dir, "none.creds") + ": no such file or directory"},
		{"bad nkey seed", Options{URL: plain.URL(), NKeyFile: seed},
			"connect to " + plain.URL() + ": read nkey seed " + seed + ": not an NKey seed (a line starting with SU)"},
		{"missing nkey seed", Options{URL: plain.URL(), NKeyFile: filepath.Join(dir, "none.nk")},
			"connect to " + plain.URL() + ": read nkey seed: stat " + filepath.Join(dir, "none.nk") + ": no such file or directory"},
		{"server CA not trusted", Options{URL: tlsServer.URL()},
			"connect to " + tlsServer.URL() + ": TLS: the server's certificate is not signed by a CA this machine trusts (pass its CA with --nats-ca FILE)"},
		{"another CA", Options{URL: tlsServer.URL(), CAFile: other.File},
			"connect to " + tlsServer.URL() + ": TLS: the server's certificate is not signed by the CA in " + other.File},
		{"certificate for another host", Options{URL: wrongHost.URL(), CAFile: ca.File},
			"connect to " + wrongHost.URL() + ": TLS: the server's certificate is not for 127.0.0.1 (it is for 192.0.2.1)"},
		{"no client certificate", Options{URL: mutual.URL(), CAFile: ca.File},
			"connect to " + mutual.URL() + ": TLS: the server hung up after the handshake, as it does when it wants a client certificate (--nats-cert and --nats-key)"},
		{"client certificate of another CA", Options{URL: mutual.URL(), CAFile: ca.File, CertFile: strangerCert, KeyFile: strangerKey},
			"connect to " + mutual.URL() + ": TLS: the server hung up after the handshake, as it does when it does not trust the client certificate " + strangerCert},
		{"TLS asked of a plain server", Options{URL: plain.URL(), CAFile: ca.File},
			"connect to " + plain.URL() + ": TLS: the server does not offer TLS, yet a CA or client certificate was given"},
		{"CA file not PEM", Options{URL: tlsServer.URL(), CAFile: notPEM},
			"connect to " + tlsServer.URL() + ": read CA file " + notPEM + ": no PEM certificate in it"},
		{"missing CA file", Options{URL: tlsServer.URL(), CAFile: filepath.Join(dir, "none.pem")},
			"connect to " + tlsServer.URL() + ": read CA file: open " + filepath.Join(dir, "none.pem") + ": no such file or directory"},
		{"cert without key", Options{URL: tlsServer.URL(), CertFile: ca.File},
			"connect to " + tlsServer.URL() + ": a client certificate needs both its certificate and its key file (--nats-cert and --nats-key)"},
		{"cert with the wrong key", Options{URL: tlsServer.URL(), CertFile: ca.File, KeyFile: serverKey},
			"connect to " + tlsServer.URL() + ": load client certificate " + ca.File + ": tls: private key does not match public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Connect(context.Background(), tc.o)
			require.EqualError(t, err, tc.err)
			for _, secret := range []string{"s3cret", "t0ken", "guess"} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

// TestConnectWrapsNATSErrors: callers can still tell the causes apart.
func TestConnectWrapsNATSErrors(t *testing.T) {
	t.Parallel()
	_, err := Connect(context.Background(), Options{URL: "nats://" + freeAddr(t)})
	assert.ErrorIs(t, err, nats.ErrNoServers)
	users := startServer(t, ServerOptions{User: "weir", Password: "s3cret"})
	_, err = Connect(context.Background(), Options{URL: users.URL(), User: "weir", Password: "no"})
	assert.ErrorIs(t, err, nats.ErrAuthorization)
}

func TestConnectCancelled(t *testing.T) {
	t.Parallel()
	silent := silentAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Connect(ctx, Options{URL: "nats://" + silent})
	assert.EqualError(t, err, "connect to nats://"+silent+": context canceled")
}

func TestConnectCredentials(t *testing.T) {
	t.Parallel()
	users := startServer(t, ServerOptions{User: "weir", Password: "s3cret"})
	tokens := startServer(t, ServerOptions{Token: "t0ken"})
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	serverCert, serverKey := ca.Leaf(t, dir, "server", "127.0.0.1")
	tlsServer := startServer(t, ServerOptions{TLSCert: serverCert, TLSKey: serverKey})
	mutual := startServer(t, ServerOptions{TLSCert: serverCert, TLSKey: serverKey, TLSCA: ca.File})
	clientCert, clientKey := ca.Leaf(t, dir, "client", "127.0.0.1")
	assert.Regexp(t, `^tls://127\.0\.0\.1:\d+$`, tlsServer.URL())
	tests := []struct {
		name string
		o    Options
	}{
		{"user and password", Options{URL: users.URL(), User: "weir", Password: "s3cret"}},
		{"user and password in the URL", Options{URL: "nats://weir:s3cret@" + strings.TrimPrefix(users.URL(), "nats://")}},
		{"token", Options{URL: tokens.URL(), Token: "t0ken"}},
		{"the one server up of a list", Options{URL: "nats://" + freeAddr(t) + ", " + tokens.URL(), Token: "t0ken"}},
		{"TLS with a CA", Options{URL: tlsServer.URL(), CAFile: ca.File}},
		{"TLS with a client certificate", Options{URL: mutual.URL(), CAFile: ca.File, CertFile: clientCert, KeyFile: clientKey}},
		{"TLS asked by the server of a nats:// URL", Options{URL: "nats://" + strings.TrimPrefix(tlsServer.URL(), "tls://"), CAFile: ca.File}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, tc.o)
			_, err := c.JetStream().AccountInfo(context.Background())
			require.NoError(t, err)
			assert.NotContains(t, c.URL(), "s3cret")
		})
	}
}

func TestConnectDefaults(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{})
	c := connect(t, Options{URL: s.URL(), Name: "weir-test"})
	assert.Equal(t, DefaultTimeout, c.Timeout())
	assert.Equal(t, s.URL(), c.URL())
	c.Close()
	c.Close() // idempotent
	assert.True(t, c.NATS().IsClosed())
	assert.Equal(t, s.URL(), c.URL(), "the server it was given, once closed")
}

// TestConnectLogsOutage: a client rides out a server restart; what it
// published meanwhile reaches the server, and the disconnect and the
// reconnect are in the log, without the password of the URL.
func TestConnectLogsOutage(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s := startServer(t, ServerOptions{StoreDir: store, User: "weir", Password: "s3cret"})
	addr := strings.TrimPrefix(s.URL(), "nats://")
	log := &logLines{lines: make(chan string, 100)}
	c := connect(t, Options{URL: "nats://weir:s3cret@" + addr, Logger: slog.New(slog.NewTextHandler(log, nil))})
	ctx := context.Background()
	_, err := c.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)

	s.Shutdown()
	assert.Contains(t, <-log.lines, `level=WARN msg="nats disconnected, reconnecting" servers=nats://`+addr+" err=EOF")
	require.NoError(t, c.NATS().Publish("t.during", []byte("outage")))
	startServer(t, ServerOptions{StoreDir: store, Addr: addr, User: "weir", Password: "s3cret"})
	assert.Contains(t, <-log.lines, `level=INFO msg="nats reconnected" server=nats://`+addr)

	cons, err := c.JetStream().OrderedConsumer(ctx, "T", jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msg, err := cons.Next(jetstream.FetchMaxWait(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "outage", string(msg.Data()))
	assert.Empty(t, log.lines)
}

// logLines hands each line written to it to the test.
type logLines struct{ lines chan string }

func (l *logLines) Write(p []byte) (int, error) {
	if !strings.Contains(string(p), "s3cret") {
		l.lines <- string(p)
	} else {
		l.lines <- "a line shows the password: " + string(p)
	}
	return len(p), nil
}
