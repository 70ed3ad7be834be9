package pool

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// DefaultAddr is where StartServer listens when ServerOptions.Addr is
// empty: loopback only, on the NATS port.
const DefaultAddr = "127.0.0.1:4222"

// startTimeout bounds how long StartServer waits for the server to accept
// connections: JetStream recovers its streams from the store first.
const startTimeout = 30 * time.Second

// ServerOptions configure the NATS server StartServer runs. The zero value
// is a server on DefaultAddr, with JetStream in a temporary folder removed
// by Shutdown, no authentication and no TLS.
type ServerOptions struct {
	// Addr is host:port to listen on; port 0 picks a free one (URL says
	// which).
	Addr string
	// StoreDir is where JetStream keeps its streams, so that they outlive
	// the server: a temporary folder when empty. One server at a time may
	// use it.
	StoreDir string
	// User and Password, or Token, are what clients must give.
	User, Password, Token string
	// TLSCert and TLSKey are the server's certificate and key files: when
	// set, clients must use TLS. With TLSCA too, clients must also show a
	// certificate that CA signed.
	TLSCert, TLSKey, TLSCA string
	// Logger receives the server's log, its debug lines only when the
	// logger is enabled at debug level: nothing when nil.
	Logger *slog.Logger
}

// Server is a NATS server with JetStream running in this process.
// Its methods are safe for concurrent use.
type Server struct {
	ns       *server.Server
	url      string
	storeDir string
	// lock holds the store for this server; temp is set when the store
	// is a temporary folder, removed at shutdown.
	lock *os.File
	temp bool
	once sync.Once
}

// StartServer starts a NATS server with JetStream as o says, and returns
// once it accepts connections. A store another server uses, an address
// already taken or a server that does not start in time is an error, and
// leaves nothing running.
func StartServer(o ServerOptions) (_ *Server, err error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	host, port, err := splitAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	if o.Token != "" && (o.User != "" || o.Password != "") {
		return nil, errors.New("start nats server: give a user and password or a token, not both")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("start nats server: TLS needs both a certificate and its key")
	}
	if o.TLSCA != "" && o.TLSCert == "" {
		return nil, errors.New("start nats server: a CA for client certificates needs TLS: a certificate and its key")
	}
	s := &Server{storeDir: o.StoreDir}
	// Whatever fails below undoes what came before it.
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if s.storeDir == "" {
		if s.storeDir, err = os.MkdirTemp("", "weir-nats-"); err != nil {
			return nil, fmt.Errorf("start nats server: %w", err)
		}
		s.temp = true
	}
	if err := s.lockStore(); err != nil {
		return nil, err
	}
	password, err := hash(o.Password)
	if err != nil {
		return nil, err
	}
	token, err := hash(o.Token)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "weir",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   s.storeDir,
		// The process is weir's: its signals are weir's to handle.
		NoSigs:        true,
		NoLog:         o.Logger == nil,
		Username:      o.User,
		Password:      password,
		Authorization: token,
	}
	if o.TLSCA != "" {
		// The server's own check lets an empty file through, and with it
		// turns TLS off.
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("start nats server: read client CA file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("start nats server: read client CA file %s: no PEM certificate in it", o.TLSCA)
		}
	}
	if o.TLSCert != "" {
		opts.TLSConfig, err = server.GenTLSConfig(&server.TLSConfigOpts{CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCA, Verify: o.TLSCA != ""})
		if err != nil {
			return nil, fmt.Errorf("start nats server: load TLS certificate %s: %w", o.TLSCert, err)
		}
		opts.TLS, opts.TLSVerify = true, o.TLSCA != ""
		opts.TLSTimeout = 2
	}
	// An address in use would only show in the log, after the wait below.
	if l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(max(port, 0)))); err != nil {
		return nil, fmt.Errorf("start nats server: listen on %s: %w", o.Addr, unwrapOp(err))
	} else {
		l.Close()
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	log := &serverLog{log: o.Logger}
	if o.Logger != nil {
		debug := o.Logger.Enabled(context.Background(), slog.LevelDebug)
		ns.SetLoggerV2(log, debug, false, false)
	} else {
		// The log is off, but a fatal error still has to reach us.
		ns.SetLoggerV2(log, false, false, false)
	}
	s.ns = ns
	ns.Start()
	deadline := time.Now().Add(startTimeout)
	for !ns.ReadyForConnections(50 * time.Millisecond) {
		if fatal := log.fatal(); fatal != "" {
			return nil, fmt.Errorf("start nats server: %s", fatal)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("start nats server: not accepting connections on %s after %s", o.Addr, startTimeout)
		}
	}
	addr := ns.Addr().(*net.TCPAddr)
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "nats"
	if opts.TLSConfig != nil {
		scheme = "tls"
	}
	s.url = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	return s, nil
}

// URL is where clients connect: nats://host:port, or tls://host:port
// when the server requires TLS.
func (s *Server) URL() string { return s.url }

// StoreDir is the folder JetStream keeps its streams in.
func (s *Server) StoreDir() string { return s.storeDir }

// Shutdown closes the server's connections, stops it and waits until it
// has, then releases its store. It is idempotent.
func (s *Server) Shutdown() { s.release() }

func (s *Server) release() {
	s.once.Do(func() {
		if s.ns != nil {
			s.ns.Shutdown()
			s.ns.WaitForShutdown()
		}
		if s.lock != nil {
			s.lock.Close()
		}
		if s.temp {
			os.RemoveAll(s.storeDir)
		}
	})
}

// lockStore takes the store for this server: two servers writing the
// same JetStream files would corrupt them.
func (s *Server) lockStore() error {
	if err := os.MkdirAll(s.storeDir, 0o700); err != nil {
		return fmt.Errorf("start nats server: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.storeDir, "weir.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start nats server: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return fmt.Errorf("start nats server: the store %s is in use by another NATS server", s.storeDir)
		}
		return fmt.Errorf("start nats server: %w", err)
	}
	s.lock = f
	return nil
}

// hash is the bcrypt hash of a password or token, which the server checks
// clients against: it then holds no plaintext secret, and does not warn
// that it does. The lowest cost keeps connecting fast; the hash never
// leaves the process.
func hash(secret string) (string, error) {
	if secret == "" {
		return "", nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		return "", fmt.Errorf("start nats server: %w", err)
	}
	return string(h), nil
}

// splitAddr splits host:port, port 0 meaning a free one.
func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("start nats server: address %q: want host:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("start nats server: address %q: bad port %q", addr, p)
	}
	if port == 0 {
		// The server's own word for a free port; its 0 means 4222.
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// unwrapOp drops the *net.OpError prefix, which repeats the address.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			return sys.Err
		}
		return op.Err
	}
	return err
}

// serverLog passes the NATS server's log to slog, and keeps its fatal
// error: the server logs it instead of returning it.
type serverLog struct {
	log *slog.Logger
	mu  sync.Mutex
	err string
}

func (l *serverLog) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *serverLog) write(level slog.Level, format string, v []any) {
	if l.log != nil {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "nats-server")
	}
}

func (l *serverLog) Noticef(format string, v ...any) { l.write(slog.LevelInfo, format, v) }
func (l *serverLog) Warnf(format string, v ...any)   { l.write(slog.LevelWarn, format, v) }
func (l *serverLog) Errorf(format string, v ...any)  { l.write(slog.LevelError, format, v) }
func (l *serverLog) Debugf(format string, v ...any)  { l.write(slog.LevelDebug, format, v) }
func (l *serverLog) Tracef(format string, v ...any)  { l.write(slog.LevelDebug-4, format, v) }

func (l *serverLog) Fatalf(format string, v ...any) {
	l.write(slog.LevelError, format, v)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == "" {
		l.err = fmt.Sprintf(format, v...)
	}
}

var _ server.Logger = (*serverLog)(nil)
