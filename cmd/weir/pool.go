package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts/pool"
)

func newPool(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Run a NATS server for work pools, and create, list, check and delete pools",
		Long: `A work pool spreads batches and runs over many machines: weir batch --pool
and weir submit put work into it, weir worker processes on any host take it.
A pool lives on a NATS server with JetStream: weir pool serve runs one in the
weir process, enough for one machine or a small fleet; the same commands work
against an external NATS server or cluster (--nats URL, or $NATS_URL).

From one machine to many:

  weir pool serve                     # a NATS server, or use your own
  weir pool create demo
  weir worker --pool demo             # on each machine, as many as you like
  weir batch FLOW --data FILE --pool demo`,
		Example: `  weir pool serve
  weir pool create demo
  weir pool status demo
  weir pool list --nats nats://nats.internal:4222`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPoolServe(app), newPoolCreate(), newPoolList(), newPoolStatus(app), newPoolDelete())
	return cmd
}

func newPoolServe(app *app) *cobra.Command {
	var o pool.ServerOptions
	var verbose bool
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run a NATS server with JetStream for work pools",
		Long: `Run a NATS server with JetStream in this process, keeping its streams in
--store, so that pools and the work in them outlive a restart. It listens
on loopback by default; to take workers from other machines, listen on
every interface (--addr :4222) with a password (--user and --password) or a
token, and TLS (--tls-cert and --tls-key; --tls-ca to ask clients for a
certificate too). Workers and submitters then pass the same with
--nats-user and --nats-password or --nats-token, and --nats-ca (and
--nats-cert and --nats-key).

SIGTERM or Ctrl-C stops the server cleanly; weir then exits 0.`,
		Example: `  weir pool serve
  weir pool serve --addr :4222 --user weir --password "$PASSWORD" --tls-cert server.pem --tls-key server-key.pem`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkAddr("--addr", o.Addr); err != nil {
				return err
			}
			if o.StoreDir == "" {
				home, err := app.homeDir()
				if err != nil {
					return err
				}
				o.StoreDir = filepath.Join(home, "nats")
			}
			return poolServe(cmd.Context(), cmd.ErrOrStderr(), o, verbose)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", pool.DefaultAddr, "listen on `HOST:PORT`; :4222 listens on every interface, port 0 on a free port")
	f.StringVar(&o.StoreDir, "store", "", "keep JetStream's streams in `DIR` (default $WEIR_HOME/nats, under --home)")
	f.StringVar(&o.User, "user", "", "clients must authenticate as `USER`, with --password")
	f.StringVar(&o.Password, "password", "", "the password of --user")
	f.StringVar(&o.Token, "token", "", "clients must authenticate with `TOKEN`")
	f.StringVar(&o.TLSCert, "tls-cert", "", "serve TLS with the certificate in `FILE`; clients must use TLS")
	f.StringVar(&o.TLSKey, "tls-key", "", "the key `FILE` of --tls-cert")
	f.StringVar(&o.TLSCA, "tls-ca", "", "with --tls-cert: clients must show a certificate signed by the CA in `FILE`")
	f.BoolVarP(&verbose, "verbose", "v", false, "print the NATS server's log, not only its warnings and errors")
	return cmd
}

// poolServe runs the server until ctx ends.
func poolServe(ctx context.Context, stderr io.Writer, o pool.ServerOptions, verbose bool) error {
	switch {
	case o.User != "" && o.Password == "":
		return usageError{errors.New("--user needs --password")}
	case o.Password != "" && o.User == "":
		return usageError{errors.New("--password needs --user")}
	case o.Token != "" && o.User != "":
		return usageError{errors.New("give --user and --password, or --token, not both")}
	}
	if err := checkTLSFlags(o.TLSCert, o.TLSKey, o.TLSCA); err != nil {
		return err
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s, err := pool.StartServer(o)
	if err != nil {
		return err
	}
	defer s.Shutdown()
	var auth []string
	switch {
	case o.User != "":
		auth = append(auth, fmt.Sprintf("user %q and its password", o.User))
	case o.Token != "":
		auth = append(auth, "a token")
	}
	if o.TLSCA != "" {
		auth = append(auth, "a client certificate of the CA in "+o.TLSCA)
	}
	if len(auth) == 0 {
		auth = append(auth, "no authentication")
	}
	fmt.Fprintf(stderr, "NATS server with JetStream listening at %s (%s), store %s\n", s.URL(), strings.Join(auth, " and "), s.StoreDir())
	if host, _, _ := net.SplitHostPort(o.Addr); o.User == "" && o.Token == "" && o.TLSCA == "" && !isLoopback(host) {
		fmt.Fprintf(stderr, "warning: listening beyond this machine with no authentication: whoever reaches %s can use its pools (set --user and --password, or --token)\n", o.Addr)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping the NATS server")
	s.Shutdown()
	fmt.Fprintln(stderr, "stopped")
	return nil
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newPoolCreate() *cobra.Command {
	var s pool.Settings
	var nf *natsFlags
	cmd := &cobra.Command{
		Use:   "create [flags] NAME",
		Short: "Create a work pool",
		Long: `Create pool NAME on the NATS server: its work, results and dead-letter
streams, its key-value bucket and its bundle store. Creating a pool that
exists with the same settings does nothing; changing its settings means
deleting it first.

A line a worker takes has --ack-wait to finish, or to show it is still at
it (workers do, on long lines), before it goes to another worker; a line
delivered --max-deliver times without finishing (a tool that kills its
worker each time) is a dead letter, recorded as failed. --replicas keeps
each stream on that many servers of a NATS cluster.`,
		Example: `  weir pool create demo
  weir pool create --nats nats://nats.internal:4222 --replicas 3 --ack-wait 2m gpu`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			switch {
			case s.Replicas < 1 || s.Replicas > 5:
				return usageError{fmt.Errorf("--replicas must be 1 to 5, got %d", s.Replicas)}
			case s.MaxDeliver < 1:
				return usageError{fmt.Errorf("--max-deliver must be at least 1, got %d", s.MaxDeliver)}
			case s.AckWait < time.Second:
				return usageError{fmt.Errorf("--ack-wait must be at least 1s, got %s", s.AckWait)}
			}
			ctx := cmd.Context()
			c, err := connectNamed(ctx, nf, a[0])
			if err != nil {
				return err
			}
			defer c.Close()
			// Create opens a pool that exists, after checking its settings;
			// looking first only words the message.
			_, err = pool.Open(ctx, c, a[0])
			existed := err == nil
			p, err := pool.Create(ctx, c, a[0], s)
			if err != nil {
				return err
			}
			msg := "created pool %q on %s: %s\n"
			if existed {
				msg = "pool %q exists already on %s: %s\n"
			}
			fmt.Fprintf(cmd.OutOrStdout(), msg, p.Name(), c.URL(), p.Settings())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&s.Replicas, "replicas", 1, "keep each stream on `N` servers of a cluster")
	f.IntVar(&s.MaxDeliver, "max-deliver", 5, "deliver a line at most `N` times, then make it a dead letter")
	f.DurationVar(&s.AckWait, "ack-wait", 30*time.Second, "give a worker this long without a sign of life before its line goes to another")
	nf = addNATSFlags(cmd)
	return cmd
}

// poolJSON is a pool as weir pool list -o json prints it: its status, or
// the error that kept it from one.
type poolJSON struct {
	*pool.Status
	Error string `json:"error,omitempty"`
}

func newPoolList() *cobra.Command {
	var output string
	var nf *natsFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the work pools on the NATS server, with their workers and queues",
		Example: `  weir pool list
  weir pool list --nats nats://nats.internal:4222 -o json`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := connectNATS(ctx, nf)
			if err != nil {
				return err
			}
			defer c.Close()
			names, err := pool.List(ctx, c)
			if err != nil {
				return err
			}
			list := make([]poolJSON, len(names))
			for i, name := range names {
				list[i] = poolStatus(ctx, c, name)
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				return writeIndented(w, list)
			}
			if len(list) == 0 {
				fmt.Fprintf(w, "no pools on %s: create one with weir pool create NAME\n", c.URL())
				return nil
			}
			tw := newTable(w)
			fmt.Fprintln(tw, "NAME\tWORKERS\tQUEUED\tIN FLIGHT\tDEAD\tSETTINGS")
			for _, p := range list {
				if p.Error != "" {
					fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", p.Name, p.Error)
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", p.Name, live(p.Workers, time.Now()), p.Queued, p.InFlight, p.Dead, p.Settings)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	nf = addNATSFlags(cmd)
	return cmd
}

// poolStatus is the status of pool name, or why there is none.
func poolStatus(ctx context.Context, c *pool.Conn, name string) poolJSON {
	p, err := pool.Open(ctx, c, name)
	if err == nil {
		var st *pool.Status
		if st, err = p.Status(ctx); err == nil {
			return poolJSON{Status: st}
		}
	}
	return poolJSON{Status: &pool.Status{Name: name}, Error: err.Error()}
}

// live counts the workers that still send heartbeats.
func live(workers []pool.WorkerInfo, now time.Time) int {
	n := 0
	for _, w := range workers {
		if !w.Lost(now) {
			n++
		}
	}
	return n
}

func newPoolStatus(app *app) *cobra.Command {
	var output string
	var nf *natsFlags
	cmd := &cobra.Command{
		Use:   "status [flags] NAME",
		Short: "Show a work pool's workers and queues",
		Long: `Show a pool's workers (host, labels, concurrency, lines running and done,
last heartbeat; a worker that missed its heartbeats is lost) and its queues:
lines waiting, in flight on a worker, delivered again, and dead letters.`,
		Example: `  weir pool status demo
  weir pool status -o json demo`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, p, err := app.connectPool(ctx, nf, a[0])
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := p.Status(ctx)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeIndented(cmd.OutOrStdout(), st)
			}
			return showPool(cmd.OutOrStdout(), c.URL(), st, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	nf = addNATSFlags(cmd)
	return cmd
}

// showPool prints a pool's status as a table of workers and its counts.
func showPool(w io.Writer, url string, st *pool.Status, now time.Time) error {
	fmt.Fprintf(w, "pool %q on %s: %s\n\n", st.Name, url, st.Settings)
	if len(st.Workers) == 0 {
		fmt.Fprintf(w, "no workers: start one with weir worker --pool %s\n", st.Name)
	} else {
		tw := newTable(w)
		fmt.Fprintln(tw, "WORKER\tHOST\tSTATE\tLABELS\tCONCURRENCY\tRUNNING\tLINES\tRUNS\tHEARTBEAT")
		for _, wk := range st.Workers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", wk.ID, wk.Host, workerState(wk, now), labels(wk.Labels),
				wk.Concurrency, wk.Running, wk.Lines, wk.Runs, age(now.Sub(wk.Heartbeat)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintf(tw, "queued\t%d\n", st.Queued)
	fmt.Fprintf(tw, "in flight\t%d\n", st.InFlight)
	fmt.Fprintf(tw, "redelivered\t%d\n", st.Redelivered)
	fmt.Fprintf(tw, "dead letters\t%d\n", st.Dead)
	fmt.Fprintf(tw, "results kept\t%d\n", st.Results)
	fmt.Fprintf(tw, "bundles\t%d\n", st.Bundles)
	return tw.Flush()
}

func workerState(wk pool.WorkerInfo, now time.Time) string {
	switch {
	case wk.Lost(now):
		return "lost"
	case wk.Draining:
		return "draining"
	}
	return "running"
}

// labels prints k=v,k=v in key order, or - for none.
func labels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	list := make([]string, 0, len(m))
	for k, v := range m {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return strings.Join(list, ",")
}

// age says how long ago, to the second: "3s ago", "2m5s ago".
func age(d time.Duration) string {
	if d < 0 {
		d = 0 // a clock of another machine a little ahead
	}
	return d.Round(time.Second).String() + " ago"
}

func newPoolDelete() *cobra.Command {
	var nf *natsFlags
	cmd := &cobra.Command{
		Use:   "delete [flags] NAME",
		Short: "Delete a work pool, with its queued lines, results and bundles",
		Long: `Delete pool NAME and all it holds: lines not yet run, results not yet
collected, bundles. Workers of the pool stop taking work from it; batches
still collecting from it fail.`,
		Example: `  weir pool delete demo`,
		Args:    args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			c, err := connectNamed(ctx, nf, a[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if err := pool.Delete(ctx, c, a[0]); err != nil {
				return noPool(err, c, a[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted pool %q\n", a[0])
			return nil
		},
	}
	nf = addNATSFlags(cmd)
	return cmd
}
