package pool

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer starts an embedded server on a free port, shut down when the
// test ends.
func startServer(t *testing.T, o ServerOptions) *Server {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	s, err := StartServer(o)
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

// connect connects, closed when the test ends, logging nothing unless o
// says where.
func connect(t *testing.T, o Options) *Conn {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := Connect(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestServerJetStream(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{})
	assert.Regexp(t, `^nats://127\.0\.0\.1:\d+$`, s.URL())
	assert.NotEqual(t, "nats://127.0.0.1:4222", s.URL(), "port 0 picks a free port")
	c := connect(t, Options{URL: s.URL()})
	ctx := context.Background()
	_, err := c.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = c.JetStream().Publish(ctx, "t.1", []byte("x"))
	require.NoError(t, err)

	// The temporary store goes with the server.
	dir := s.StoreDir()
	assert.DirExists(t, filepath.Join(dir, "jetstream"))
	c.Close()
	s.Shutdown()
	assert.NoDirExists(t, dir)
	s.Shutdown() // idempotent
}

// TestServerKeepsStreams restarts a server on its store: what JetStream
// held is still there, and a client connected before reconnects by itself.
func TestServerKeepsStreams(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s := startServer(t, ServerOptions{StoreDir: store})
	c := connect(t, Options{URL: s.URL()})
	reconnected := make(chan struct{}, 1)
	c.NATS().SetReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} })
	ctx := context.Background()
	_, err := c.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = c.JetStream().Publish(ctx, "t.1", []byte("x"))
	require.NoError(t, err)

	s.Shutdown()
	assert.FileExists(t, filepath.Join(store, "weir.lock"), "a stored store is kept")
	_, port, err := net.SplitHostPort(s.URL()[len("nats://"):])
	require.NoError(t, err)
	startServer(t, ServerOptions{StoreDir: store, Addr: "127.0.0.1:" + port})
	<-reconnected
	info, err := c.JetStream().Stream(ctx, "T")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.CachedInfo().State.Msgs)
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s := startServer(t, ServerOptions{StoreDir: store})
	addr := s.URL()[len("nats://"):]
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o600))
	tests := []struct {
		name string
		o    ServerOptions
		err  string
	}{
		{"store in use", ServerOptions{Addr: "127.0.0.1:0", StoreDir: store},
			"start nats server: the store " + store + " is in use by another NATS server"},
		{"address in use", ServerOptions{Addr: addr},
			"start nats server: listen on " + addr + ": address already in use"},
		{"bad address", ServerOptions{Addr: "localhost"},
			`start nats server: address "localhost": want host:port`},
		{"bad port", ServerOptions{Addr: "127.0.0.1:http"},
			`start nats server: address "127.0.0.1:http": bad port "http"`},
		{"token and user", ServerOptions{Addr: "127.0.0.1:0", User: "a", Password: "b", Token: "c"},
			"start nats server: give a user and password or a token, not both"},
		{"cert without key", ServerOptions{Addr: "127.0.0.1:0", TLSCert: "cert.pem"},
			"start nats server: TLS needs both a certificate and its key"},
		{"client CA without TLS", ServerOptions{Addr: "127.0.0.1:0", TLSCA: "ca.pem"},
			"start nats server: a CA for client certificates needs TLS: a certificate and its key"},
		{"empty client CA", ServerOptions{Addr: "127.0.0.1:0", TLSCert: "cert.pem", TLSKey: "key.pem", TLSCA: notDir},
			"start nats server: read client CA file " + notDir + ": no PEM certificate in it"},
		{"store is a file", ServerOptions{Addr: "127.0.0.1:0", StoreDir: notDir},
			"start nats server: mkdir " + notDir + ": not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StartServer(tc.o)
			assert.EqualError(t, err, tc.err)
		})
	}
	// A failed start left the store to its server.
	connect(t, Options{URL: s.URL()})
}

func TestServerMissingTLSFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := StartServer(ServerOptions{Addr: "127.0.0.1:0", StoreDir: dir,
		TLSCert: filepath.Join(dir, "cert.pem"), TLSKey: filepath.Join(dir, "key.pem")})
	assert.EqualError(t, err, "start nats server: load TLS certificate "+filepath.Join(dir, "cert.pem")+
		": error parsing X509 certificate/key pair: open "+filepath.Join(dir, "cert.pem")+": no such file or directory")
	// The store is free again.
	startServer(t, ServerOptions{StoreDir: dir})
}
