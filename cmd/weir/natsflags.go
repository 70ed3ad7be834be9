package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts/pool"
)

// natsFlags are how a command that uses a pool reaches its NATS server.
// Each falls back on the environment variable NATS's own tools read, so
// that secrets need not be on the command line.
type natsFlags struct {
	url, creds, nkey          string
	user, password, token     string
	caFile, certFile, keyFile string
	// cmd is the command, whose path is the client name the server shows.
	cmd *cobra.Command
}

// addNATSFlags adds the NATS connection flags to cmd.
func addNATSFlags(cmd *cobra.Command) *natsFlags {
	f := &natsFlags{cmd: cmd}
	fs := cmd.Flags()
	fs.StringVar(&f.url, "nats", "", "the NATS server `URL`, or a comma-separated list of a cluster's (default $NATS_URL, else "+pool.DefaultURL+")")
	fs.StringVar(&f.creds, "nats-creds", "", "authenticate with the user JWT and NKey seed of a .creds `FILE` (default $NATS_CREDS)")
	fs.StringVar(&f.nkey, "nats-nkey", "", "authenticate with the NKey seed in `FILE` (default $NATS_NKEY)")
	fs.StringVar(&f.user, "nats-user", "", "authenticate as `USER` (default $NATS_USER)")
	fs.StringVar(&f.password, "nats-password", "", "the `PASSWORD` of --nats-user; better in $NATS_PASSWORD, which ps does not show")
	fs.StringVar(&f.token, "nats-token", "", "authenticate with a `TOKEN` (default $NATS_TOKEN)")
	fs.StringVar(&f.caFile, "nats-ca", "", "trust the server's certificate when this CA `FILE` signed it; turns TLS on (default $NATS_CA)")
	fs.StringVar(&f.certFile, "nats-cert", "", "the client certificate `FILE` for a server that asks for one (default $NATS_CERT)")
	fs.StringVar(&f.keyFile, "nats-key", "", "the key `FILE` of --nats-cert (default $NATS_KEY)")
	return f
}

// options are the connection options the flags and the environment give;
// a flag left unset takes its variable.
func (f *natsFlags) options() pool.Options {
	o := pool.Options{
		URL: f.url, CredsFile: f.creds, NKeyFile: f.nkey,
		User: f.user, Password: f.password, Token: f.token,
		CAFile: f.caFile, CertFile: f.certFile, KeyFile: f.keyFile,
		Name: f.cmd.CommandPath(),
	}
	for _, v := range []struct {
		dst *string
		env string
	}{
		{&o.URL, "NATS_URL"}, {&o.CredsFile, "NATS_CREDS"}, {&o.NKeyFile, "NATS_NKEY"},
		{&o.User, "NATS_USER"}, {&o.Password, "NATS_PASSWORD"}, {&o.Token, "NATS_TOKEN"},
		{&o.CAFile, "NATS_CA"}, {&o.CertFile, "NATS_CERT"}, {&o.KeyFile, "NATS_KEY"},
	} {
		if *v.dst == "" {
			*v.dst = os.Getenv(v.env)
		}
	}
	return o
}

// connectNATS connects to the NATS server the flags name.
func connectNATS(ctx context.Context, f *natsFlags) (*pool.Conn, error) {
	return pool.Connect(ctx, f.options())
}

// connectNamed checks a pool name given on the command line, then
// connects as connectNATS does.
func connectNamed(ctx context.Context, f *natsFlags, name string) (*pool.Conn, error) {
	if err := pool.CheckName(name); err != nil {
		return nil, usageError{err}
	}
	return connectNATS(ctx, f)
}

// connectPool connects to the NATS server the flags name and opens pool
// name on it. The caller closes the connection.
func (app *app) connectPool(ctx context.Context, f *natsFlags, name string) (*pool.Conn, *pool.Pool, error) {
	c, err := connectNamed(ctx, f, name)
	if err != nil {
		return nil, nil, err
	}
	p, err := pool.Open(ctx, c, name)
	if err != nil {
		err = noPool(err, c, name)
		c.Close()
		return nil, nil, err
	}
	return c, p, nil
}

// noPool words an error of a pool that does not exist as what to do.
func noPool(err error, c *pool.Conn, name string) error {
	if errors.Is(err, pool.ErrNoPool) {
		return fmt.Errorf("pool %q does not exist on %s; create it with weir pool create %s", name, c.URL(), name)
	}
	return err
}
