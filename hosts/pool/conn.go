package pool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultURL is the server Connect uses when Options.URL is empty: the one
// weir pool serve starts by default.
const DefaultURL = "nats://127.0.0.1:4222"

// DefaultTimeout bounds connecting, and each JetStream call of a pool, when
// Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Reconnection, once connected: forever, so that a server restart ends
// neither a worker nor a submitter collecting results; publishes made
// during the outage wait in a buffer of this size.
const (
	reconnectWait    = 250 * time.Millisecond
	reconnectJitter  = 250 * time.Millisecond
	reconnectBufSize = 64 << 20
)

// Options says how to reach a NATS server or cluster. The zero value
// connects to DefaultURL with no credentials.
type Options struct {
	// URL is the server, or a comma-separated list of a cluster's servers:
	// DefaultURL when empty. User and password in it are used, never shown.
	URL string
	// CredsFile is a .creds file: a user JWT and its NKey seed.
	CredsFile string
	// NKeyFile is a file holding an NKey seed.
	NKeyFile string
	// User and Password, or Token, authenticate to a server that asks.
	User, Password, Token string
	// CAFile is the CA that signed the server's certificate, to trust it;
	// CertFile and KeyFile are a client certificate, for a server that
	// asks for one. Any of them turns TLS on.
	CAFile, CertFile, KeyFile string
	// Name is the client name the server shows in its connection list.
	Name string
	// Timeout bounds connecting and each JetStream call the pool makes:
	// DefaultTimeout when zero.
	Timeout time.Duration
	// Logger receives disconnects and reconnects: slog.Default() when nil.
	Logger *slog.Logger
}

// Conn is a connection to a NATS server with its JetStream context. It is
// safe for concurrent use. Once connected it reconnects forever, logging
// each disconnect and reconnect, until Close.
type Conn struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	timeout time.Duration
	// servers are the servers of Options.URL, without credentials.
	servers string
}

// Connect connects to the server o names, or fails at once: with an error
// that says what to fix when nothing listens there, the credentials are
// refused or TLS fails, and within o.Timeout when the server does not
// answer. Errors and logs never show credentials.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	shown := redactURLs(o.URL)
	opts, err := natsOptions(o, shown)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", shown, err)
	}
	// nats.Connect takes no context: run it aside, so that a cancelled
	// ctx returns at once, and close what it connects late.
	type connected struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan connected, 1)
	go func() {
		nc, err := nats.Connect(o.URL, opts...)
		done <- connected{nc, err}
	}()
	var c connected
	select {
	case c = <-done:
	case <-ctx.Done():
		go func() {
			if c := <-done; c.nc != nil {
				c.nc.Close()
			}
		}()
		return nil, fmt.Errorf("connect to %s: %w", shown, ctx.Err())
	}
	if c.err != nil {
		return nil, fmt.Errorf("connect to %s: %w", shown, explain(c.err, o))
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", shown, err)
	}
	return &Conn{nc: c.nc, js: js, timeout: o.Timeout, servers: shown}, nil
}

// NATS returns the connection, for core NATS requests and subscriptions.
func (c *Conn) NATS() *nats.Conn { return c.nc }

// JetStream returns the JetStream context of the connection.
func (c *Conn) JetStream() jetstream.JetStream { return c.js }

// Timeout is how long each JetStream call of the pool may take.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// URL is the server the connection is on now, or the servers it was given
// while it is away from all of them, without credentials.
func (c *Conn) URL() string {
	if u := c.nc.ConnectedUrl(); u != "" {
		return redactURLs(u)
	}
	return c.servers
}

// Close sends what is buffered and closes the connection, at once when
// the server is away. It is idempotent.
func (c *Conn) Close() { c.nc.Close() }

// natsOptions turns o into nats.go options, reading the TLS files so that
// their errors name them.
func natsOptions(o Options, shown string) ([]nats.Option, error) {
	log := o.Logger
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Timeout(o.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitter),
		nats.ReconnectBufSize(reconnectBufSize),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			// Close calls it too, with no error: not worth a line.
			if err != nil {
				log.Warn("nats disconnected, reconnecting", "servers", shown, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", redactURLs(nc.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Warn("nats error", "subject", sub.Subject, "err", err)
				return
			}
			log.Warn("nats error", "err", err)
		}),
	}
	switch {
	case o.CredsFile != "":
		if _, err := os.Stat(o.CredsFile); err != nil {
			return nil, fmt.Errorf("read creds file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.NKeyFile != "":
		if _, err := os.Stat(o.NKeyFile); err != nil {
			return nil, fmt.Errorf("read nkey seed: %w", err)
		}
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			// nats.go's error is about base32 bytes, not the file.
			return nil, fmt.Errorf("read nkey seed %s: not an NKey seed (a line starting with SU)", o.NKeyFile)
		}
		opts = append(opts, opt)
	}
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	cfg, err := tlsConfig(o)
	if err != nil || cfg == nil {
		return opts, err
	}
	return append(opts, nats.Secure(cfg)), nil
}

// tlsConfig is the TLS that o asks for, or nil when it asks for none (a
// server that requires TLS then gets it with the system's CAs).
func tlsConfig(o Options) (*tls.Config, error) {
	if o.CAFile == "" && o.CertFile == "" && o.KeyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA file %s: no PEM certificate in it", o.CAFile)
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key file (--nats-cert and --nats-key)")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s: %w", o.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// connectError is a failed connection explained to whoever fixes it; it
// wraps nats.go's error, for errors.Is.
type connectError struct {
	reason string
	err    error
}

func (e *connectError) Error() string { return e.reason }
func (e *connectError) Unwrap() error { return e.err }

// explain says what a failed nats.Connect means and what to do about it.
func explain(err error, o Options) error {
	because := func(format string, a ...any) error {
		return &connectError{fmt.Sprintf(format, a...), err}
	}
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, nats.ErrNoServers):
		if strings.Contains(o.URL, ",") {
			return because("no server is listening at any of these addresses (start one with weir pool serve, or pass --nats URL)")
		}
		return because("no server is listening there (start one with weir pool serve, or pass --nats URL)")
	case errors.Is(err, nats.ErrAuthorization):
		if given := credentials(o); given != "" {
			return because("authorization failed: the server refused %s", given)
		}
		return because("authorization failed: the server asks for credentials (--nats-creds, --nats-nkey, --nats-user and --nats-password, or --nats-token)")
	case errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAccountAuthExpired):
		return because("authorization failed: the credentials have expired")
	case errors.Is(err, nats.ErrAuthRevoked):
		return because("authorization failed: the credentials were revoked")
	case errors.As(err, &unknownCA):
		if o.CAFile != "" {
			return because("TLS: the server's certificate is not signed by the CA in %s", o.CAFile)
		}
		return because("TLS: the server's certificate is not signed by a CA this machine trusts (pass its CA with --nats-ca FILE)")
	case errors.As(err, &badHost):
		return because("TLS: the server's certificate is not for %s (it is for %s)", badHost.Host, certNames(badHost.Certificate))
	case errors.As(err, &invalid):
		return because("TLS: the server's certificate is not valid: %s", invalid.Error())
	case errors.Is(err, nats.ErrSecureConnWanted):
		return because("TLS: the server does not offer TLS, yet a CA or client certificate was given")
	case clientCertRefused(err):
		if o.CertFile == "" {
			return because("TLS: the server hung up after the handshake, as it does when it wants a client certificate (--nats-cert and --nats-key)")
		}
		return because("TLS: the server hung up after the handshake, as it does when it does not trust the client certificate %s", o.CertFile)
	case errors.As(err, &dnsErr):
		return because("no such host %s", dnsErr.Name)
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, nats.ErrTimeout):
		return because("no answer within %s (is the address right, and the server up?)", o.Timeout)
	}
	return err
}

// clientCertRefused reports whether err is a server refusing the client's
// certificate, or its absence. With TLS 1.3 the client's side of the
// handshake ends before the server checks the certificate: the server
// then hangs up, or says why in an alert the client may read first.
func clientCertRefused(err error) bool {
	msg := err.Error()
	return errors.Is(err, nats.ErrTLS) && strings.Contains(msg, "connection closed by remote after TLS handshake") ||
		strings.Contains(msg, "tls: certificate required") ||
		strings.Contains(msg, "tls: unknown certificate authority") ||
		strings.Contains(msg, "tls: bad certificate")
}

// credentials says which credentials o gives, without their secrets.
func credentials(o Options) string {
	var given []string
	switch {
	case o.CredsFile != "":
		given = append(given, "the creds file "+o.CredsFile)
	case o.NKeyFile != "":
		given = append(given, "the nkey of "+o.NKeyFile)
	}
	if o.User != "" {
		given = append(given, fmt.Sprintf("user %q with the password given", o.User))
	}
	if o.Token != "" {
		given = append(given, "the token given")
	}
	if u := urlUser(o.URL); u != "" {
		given = append(given, fmt.Sprintf("the user %q of the URL", u))
	}
	return strings.Join(given, " and ")
}

// urlUser is the user name in the first URL of list that has one.
func urlUser(list string) string {
	for _, s := range strings.Split(list, ",") {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			return u.User.Username()
		}
	}
	return ""
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "another host"
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

// redactURLs is a comma-separated list of server URLs without the user
// and password (or token) any of them holds.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, s := range parts {
		s = strings.TrimSpace(s)
		if u, err := url.Parse(s); err == nil && u.User != nil {
			u.User = nil
			s = u.String()
		} else if at := strings.LastIndex(s, "@"); at >= 0 {
			// Not a URL that parses, yet it may hold a secret.
			s = s[at+1:]
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}
