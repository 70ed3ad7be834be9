package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
)

type deployFlags struct {
	host   string
	name   string
	addr   string
	binary string
	env    []string
	memory string
	cpus   float64
	output string
	// container
	docker  string
	restart string
	arch    string
	// vm
	ssh, identity, knownHosts string
	insecureHostKey           bool
	dir, supervisor           string
	cloudInit                 bool
	binaryURL, bundleURL      string
	// kubernetes
	image, namespace      string
	replicas, maxReplicas int32
	grpcPort              int32
	kubeconfig, context   string
	dryRun                bool
	// endpoint
	url   string
	token string
	// a work pool's worker
	worker      bool
	pool, nats  string
	concurrency int
	labels      []string
}

func newDeploy(app *app) *cobra.Command {
	var fl deployFlags
	cmd := &cobra.Command{
		Use:   "deploy [flags] FLOW|BUNDLE.weir --host HOST | --worker --pool NAME --host HOST",
		Short: "Deploy a flow to a host, where weir serve runs it, or a work pool's worker",
		Long: `Deploy a flow, or a bundle made by weir bundle, to a host and print the URL
it answers on. Every host runs the same thing: the static weir binary
running weir serve on the bundle.

Hosts:
  local       a weir serve process on this machine, on a loopback port (--addr)
  container   an image built from scratch (the weir binary and the bundle, no
              base image), run by the Docker engine at $DOCKER_HOST or the
              default socket (--docker), its port published on --addr (a free
              loopback port by default); --grpc-port N also serves gRPC on
              port N, published beside --addr on the same port number (a
              free one when --addr has none) and probed by gRPC health;
              --output FILE writes the image as a tarball for docker load
              or a registry instead
  vm          a Linux machine over SSH (--ssh USER@HOST[:PORT], a key from
              --identity or ssh-agent, its host key checked in known_hosts):
              the binary and the bundle are uploaded with SFTP under --dir and
              weir serve runs as a systemd unit, or as a supervised process
              where there is no systemd, listening on --addr (:8080);
              --cloud-init prints user-data that does the same at a new VM's
              first boot, downloading from --binary-url and --bundle-url
  kubernetes  the container image pushed to --image (a registry the cluster
              pulls from), then a Deployment, a Service and, with
              --max-replicas, an autoscaler, applied with your kubeconfig
              (--kubeconfig, --context, --namespace); --dry-run -o yaml prints
              them instead, naming a placeholder image without --image;
              --grpc-port also serves gRPC there, probed by gRPC health
  endpoint    a running weir serve, through its admin API (--url, --token or
              WEIR_ADMIN_TOKEN): the flow becomes a new version there

The container, VM and Kubernetes hosts ship the running weir binary, or
--binary: it must be static (CGO_ENABLED=0, as make build builds it) and for
the target's architecture.

--worker deploys a work pool's worker instead, with no FLOW: the same
binary running weir worker --pool NAME --nats URL, which takes its flows
from the pool, on --host container, vm or kubernetes; it is ready when
its health checks (--health-addr, on the port weir serve would use) say
it is connected. --nats is the NATS server as the worker reaches it
(default $NATS_URL); NATS_USER and NATS_PASSWORD, or NATS_TOKEN, set
here travel as secrets do. A container of a worker whose NATS server is
on loopback shares the Docker host's network, so that it reaches it.

weir deployments lists, checks, shows the logs of and deletes deployments.`,
		Example: `  weir deploy examples/hello/flow.cue --host local
  weir deploy examples/hello/flow.cue --host local --name hello-test --addr 127.0.0.1:8081
  weir deploy examples/hello/flow.cue --host container
  weir deploy hello.weir --host container --addr :8080 --memory 256MiB --cpus 1 --env WEIR_LOG=debug
  weir deploy hello.weir --host container --addr :8080 --grpc-port 9090
  weir deploy hello.weir --host container --output hello-image.tar --arch arm64 --binary bin/weir-arm64
  weir deploy examples/hello/flow.cue --host vm --ssh root@10.0.0.7 --identity ~/.ssh/weir_ed25519
  weir deploy hello.weir --host vm --ssh deploy@vm.example.com:2222 --addr :9000 --restart on-failure
  weir deploy hello.weir --host vm --cloud-init --binary-url https://example.com/weir --bundle-url https://example.com/hello.weir
  weir deploy hello.weir --host kubernetes --image registry.example.com/flows/hello --dry-run -o yaml
  weir deploy examples/hello/flow.cue --host kubernetes --dry-run
  weir deploy hello.weir --host kubernetes --image registry.example.com/flows/hello --namespace flows --replicas 2 --max-replicas 10 --cpus 1 --memory 256MiB
  weir deploy hello.weir --host endpoint --url http://10.0.0.5:8080 --token "$TOKEN"
  weir deploy --host container --worker --pool batch --nats nats://10.0.0.5:4222 --concurrency 8
  weir deploy --host vm --worker --pool batch --nats nats://10.0.0.5:4222 --ssh root@10.0.0.7 --labels gpu=a100
  weir deploy --host kubernetes --worker --pool batch --nats nats://nats:4222 --replicas 4 --dry-run -o yaml`,
		Args: func(cmd *cobra.Command, a []string) error {
			if fl.worker {
				if len(a) > 0 {
					return usageError{errors.New("deploy --worker takes no FLOW: a worker runs the flows the pool sends it")}
				}
				return nil
			}
			return args(1)(cmd, a)
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			if fl.worker {
				return app.deployWorker(cmd, fl)
			}
			for _, name := range hosts.WorkerFlags[1:] {
				if cmd.Flags().Changed(name) {
					return usageError{fmt.Errorf("--%s goes with --worker", name)}
				}
			}
			return app.deploy(cmd, a[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.host, "host", "", "where to deploy: "+strings.Join(hostKinds().Names(), ", "))
	f.StringVar(&fl.name, "name", "", "the deployment's name (default: the flow's name)")
	f.StringVar(&fl.addr, "addr", "", "local, container: the `HOST:PORT` it answers on (default: a free loopback port); vm: where weir serve listens on the VM (default :8080)")
	f.StringVar(&fl.binary, "binary", "", "container, vm, kubernetes: the static weir binary to ship (default: this one)")
	f.StringArrayVar(&fl.env, "env", nil, "container, vm, kubernetes: set `KEY=VALUE` in weir serve's environment (repeatable)")
	f.StringVar(&fl.memory, "memory", "", "container, vm, kubernetes: the memory limit, like 512MiB (default: none; on a VM it needs systemd)")
	f.Float64Var(&fl.cpus, "cpus", 0, "container, vm, kubernetes: the CPU limit, in CPUs, like 1.5 (default: none; on a VM it needs systemd)")
	f.StringVar(&fl.restart, "restart", "", "container, vm: when to start weir serve again: always (default), on-failure or no; a container also takes unless-stopped")
	f.StringVar(&fl.arch, "arch", "", "container, vm, kubernetes: the target's architecture, as GOARCH (default: the Docker engine's; this machine's for --output and --cloud-init; amd64 for kubernetes; a VM says its own)")
	f.StringVarP(&fl.output, "output", "o", "", "container: write the image to `FILE` (a tarball) instead of running it; kubernetes, with --dry-run: yaml (default) or json")
	f.StringVar(&fl.docker, "docker", "", "container: the Docker engine, unix:///PATH or tcp://HOST:PORT (default $DOCKER_HOST, else "+container.DefaultDocker+")")
	f.StringVar(&fl.ssh, "ssh", "", "vm: the VM to log in to, `USER@HOST[:PORT]`")
	f.StringVar(&fl.identity, "identity", "", "vm: the private key `FILE` to log in with (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
	f.StringVar(&fl.knownHosts, "known-hosts", "", "vm: the known_hosts `FILE` the VM's host key is checked in (default ~/.ssh/known_hosts)")
	f.BoolVar(&fl.insecureHostKey, "insecure-ignore-host-key", false, "vm: do not check the VM's host key (anyone in the middle can read the connection)")
	f.StringVar(&fl.dir, "dir", "", "vm: the install folder on the VM (default /opt/weir/NAME for root, ~/.weir/NAME for others)")
	f.StringVar(&fl.supervisor, "supervisor", "", "vm: what runs weir serve: auto (default: systemd when the VM has it and the user is root), systemd or process")
	f.BoolVar(&fl.cloudInit, "cloud-init", false, "vm: print cloud-init user-data that deploys at a new VM's first boot, instead of deploying")
	f.StringVar(&fl.binaryURL, "binary-url", "", "vm, with --cloud-init: where the new VM downloads the weir binary")
	f.StringVar(&fl.bundleURL, "bundle-url", "", "vm, with --cloud-init: where the new VM downloads the bundle")
	f.StringVar(&fl.image, "image", "", "kubernetes: where to push the image: `REGISTRY/REPOSITORY[:TAG]`")
	f.StringVar(&fl.namespace, "namespace", "", "kubernetes: the namespace (default: the kubeconfig context's, else default)")
	f.Int32Var(&fl.replicas, "replicas", 1, "kubernetes: how many pods, and the autoscaler's minimum")
	f.Int32Var(&fl.maxReplicas, "max-replicas", 0, "kubernetes: the autoscaler's maximum; no autoscaler unless above --replicas")
	f.Int32Var(&fl.grpcPort, "grpc-port", 0, "container, kubernetes: also serve weir's gRPC API on this `PORT` of the container or the pods and the Service, probed by gRPC health; a container's is published at --addr's IP, on the same port (a free one when --addr has none)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubernetes: the kubeconfig `FILE` (default $KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&fl.context, "context", "", "kubernetes: the kubeconfig context (default: its current one)")
	f.BoolVar(&fl.dryRun, "dry-run", false, "kubernetes: print the manifests (-o yaml or json) instead of pushing and applying")
	f.StringVar(&fl.url, "url", "", "endpoint: the URL of the weir serve to deploy to")
	f.StringVar(&fl.token, "token", "", "endpoint: its admin token (default $WEIR_ADMIN_TOKEN)")
	f.BoolVar(&fl.worker, "worker", false, "container, vm, kubernetes: deploy a work pool's worker (weir worker), not a flow")
	f.StringVar(&fl.pool, "pool", "", "with --worker: the work pool's `NAME`")
	f.StringVar(&fl.nats, "nats", "", "with --worker: the pool's NATS server `URL` as the worker reaches it (default $NATS_URL)")
	f.IntVar(&fl.concurrency, "concurrency", 0, "with --worker: lines the worker runs at once (default: weir worker's)")
	f.StringArrayVar(&fl.labels, "labels", nil, "with --worker: a `KEY=VALUE` label of the worker (repeatable)")
	return cmd
}

func (app *app) deploy(cmd *cobra.Command, path string, fl deployFlags) error {
	ctx := cmd.Context()
	kind, host, store, err := app.deployHost(cmd, fl)
	if err != nil {
		return err
	}
	// What is exported instead of deployed holds no value: it needs none.
	exporting := kind.Export != "" && cmd.Flags().Changed(kind.Export)
	b, err := app.bundleOf(ctx, path, kind.OwnSecrets || exporting)
	if err != nil {
		return err
	}
	defer b.Close()
	name := cmp.Or(fl.name, hosts.DNSName(b.Manifest.Flow))
	if err := hosts.CheckName(name); err != nil {
		return usageError{err}
	}
	req := b.Request(name)
	if kind.OwnSecrets {
		b.Secrets = nil
	}
	// What is exported names the secrets but holds no value.
	req.Secrets = hosts.SecretKeys(b.Secrets)
	if done, err := export(cmd, kind, host, fl, req); done {
		if err == nil && len(req.Secrets) > 0 && kind.Name != "kubernetes" {
			// The Kubernetes manifests hold a Secret to fill in instead.
			keys := strings.Join(slices.Sorted(maps.Keys(req.Secrets)), ", ")
			fmt.Fprintf(cmd.ErrOrStderr(), "the flow's secrets are not in what was written: set %s in weir serve's environment where it runs\n", keys)
		}
		return err
	}
	if req.Secrets, err = hosts.ResolveSecrets(b.Secrets); err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	d, err := store.Deploy(ctx, host, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "deployed flow %q (%s) on %s as %q\n", d.Flow, shortDigest(d.Digest), d.Host, d.Name)
	if d.GRPC != "" {
		// Standard output is the URL alone, for scripts.
		fmt.Fprintf(cmd.ErrOrStderr(), "gRPC at %s\n", d.GRPC)
	}
	fmt.Fprintln(cmd.OutOrStdout(), d.URL)
	return nil
}

// deployHost returns the kind of host the flags name, a host of it and
// the store of deployments.
func (app *app) deployHost(cmd *cobra.Command, fl deployFlags) (hosts.Kind, hosts.Host, *hosts.Store, error) {
	reg := hostKinds()
	if fl.host == "" {
		return hosts.Kind{}, nil, nil, usageError{fmt.Errorf("deploy needs --host (one of: %s)", strings.Join(reg.Names(), ", "))}
	}
	kind, ok := reg.Kind(fl.host)
	if !ok {
		return hosts.Kind{}, nil, nil, usageError{fmt.Errorf("--host %q: unknown host; use one of: %s", fl.host, strings.Join(reg.Names(), ", "))}
	}
	if err := checkHostFlags(cmd, reg, fl.host); err != nil {
		return hosts.Kind{}, nil, nil, err
	}
	store, err := app.deployments()
	if err != nil {
		return hosts.Kind{}, nil, nil, err
	}
	settings, err := fl.settings(store.Dir())
	if err != nil {
		return hosts.Kind{}, nil, nil, err
	}
	host, err := kind.New(settings)
	if err != nil {
		return hosts.Kind{}, nil, nil, usageError{err}
	}
	return kind, host, store, nil
}

// deployWorker deploys a work pool's worker, named worker-POOL unless
// --name says otherwise, with the NATS credentials of this machine's
// environment as its secrets.
func (app *app) deployWorker(cmd *cobra.Command, fl deployFlags) error {
	kind, host, store, err := app.deployHost(cmd, fl)
	if err != nil {
		return err
	}
	w := &hosts.WorkerSpec{Pool: fl.pool, NATS: cmp.Or(fl.nats, os.Getenv("NATS_URL")), Concurrency: fl.concurrency, Labels: fl.labels}
	if err := w.Check(); err != nil {
		return usageError{err}
	}
	name := cmp.Or(fl.name, hosts.DNSName("worker-"+w.Pool))
	if err := hosts.CheckName(name); err != nil {
		return usageError{err}
	}
	req := hosts.DeployRequest{Name: name, Worker: w}
	secrets, err := hosts.WorkerSecrets()
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	// What is exported names the credentials but holds no value.
	req.Secrets = maps.Clone(secrets)
	for k := range req.Secrets {
		req.Secrets[k] = ""
	}
	if done, err := export(cmd, kind, host, fl, req); done {
		if err == nil && len(req.Secrets) > 0 && kind.Name != "kubernetes" {
			keys := strings.Join(slices.Sorted(maps.Keys(req.Secrets)), ", ")
			fmt.Fprintf(cmd.ErrOrStderr(), "the NATS credentials are not in what was written: set %s in weir worker's environment where it runs\n", keys)
		}
		return err
	}
	req.Secrets = secrets
	d, err := store.Deploy(cmd.Context(), host, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "deployed a worker of pool %q on %s as %q\n", w.Pool, d.Host, d.Name)
	if d.URL != "" {
		fmt.Fprintln(cmd.OutOrStdout(), d.URL)
	}
	return nil
}

// bundleOf returns the bundle to deploy: path itself when it is a .weir
// file (checked), else a bundle of the flow at path, built into a
// temporary file once the flow loads without problems; with its secrets
// read here, unless noSecrets (a host that reads its own, an export).
func (app *app) bundleOf(ctx context.Context, path string, noSecrets bool) (*hosts.Bundle, error) {
	if strings.HasSuffix(path, ".weir") {
		return hosts.OpenBundle(path)
	}
	load := app.loadFlow
	if noSecrets {
		load = app.checkFlow
	}
	f, closeAll, err := load(ctx, path)
	if err != nil {
		return nil, err
	}
	closeAll()
	return hosts.BuildBundle(f)
}

// deployments opens the state of deployments, beside the run record.
func (app *app) deployments() (*hosts.Store, error) {
	dir, err := app.homeDir()
	if err != nil {
		return nil, err
	}
	return hosts.NewStore(filepath.Join(dir, "deployments"))
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func newDeployments(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deployments",
		Short: "List, check, read the logs of and delete deployments",
		Long:  `Deployments are what weir deploy made; their state lives under --home.`,
		Example: `  weir deployments list
  weir deployments status hello
  weir deployments logs hello
  weir deployments delete hello`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	one := func(use, short, example string, run func(cmd *cobra.Command, host hosts.Host, store *hosts.Store, d hosts.Deployment) error) *cobra.Command {
		return &cobra.Command{
			Use:     use + " NAME",
			Short:   short,
			Example: example,
			Args:    args(1),
			RunE: func(cmd *cobra.Command, a []string) error {
				store, err := app.deployments()
				if err != nil {
					return err
				}
				d, err := store.Get(a[0])
				if err != nil {
					return err
				}
				host, err := hostKinds().Reach(d, store.Dir())
				if err != nil {
					return err
				}
				return run(cmd, host, store, d)
			},
		}
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List deployments",
		Example: `  weir deployments list`,
		Args:    args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := app.deployments()
			if err != nil {
				return err
			}
			ds, err := store.List()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(ds) == 0 {
				fmt.Fprintln(w, "no deployments: make one with weir deploy FLOW --host local")
				return nil
			}
			tw := newTable(w)
			fmt.Fprintln(tw, "NAME\tHOST\tFLOW\tVERSION\tDIGEST\tURL\tCREATED")
			for _, d := range ds {
				flow := d.Flow
				if pool := d.State["pool"]; pool != "" {
					flow = "worker of pool " + pool
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Host, flow, cmpDash(d.Version), cmpDash(shortDigest(d.Digest)), cmpDash(d.URL), d.Created.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	status := one("status", "Say whether a deployment is up", `  weir deployments status hello`,
		func(cmd *cobra.Command, host hosts.Host, _ *hosts.Store, d hosts.Deployment) error {
			st, err := host.Status(cmd.Context(), d)
			if err != nil {
				return err
			}
			state := "ready"
			if !st.Ready {
				state = "not ready"
			}
			at := d.URL
			if d.GRPC != "" {
				at += ", gRPC at " + d.GRPC
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s on %s at %s (%s)\n", d.Name, state, d.Host, at, st.Detail)
			if !st.Ready {
				return fmt.Errorf("deployment %q is not ready", d.Name)
			}
			return nil
		})
	logs := one("logs", "Print a deployment's logs", `  weir deployments logs hello`,
		func(cmd *cobra.Command, host hosts.Host, _ *hosts.Store, d hosts.Deployment) error {
			return host.Logs(cmd.Context(), d, cmd.OutOrStdout())
		})
	del := one("delete", "Stop a deployment and remove it", `  weir deployments delete hello`,
		func(cmd *cobra.Command, host hosts.Host, store *hosts.Store, d hosts.Deployment) error {
			if err := host.Delete(cmd.Context(), d); err != nil {
				return err
			}
			if err := store.Remove(d.Name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", d.Name)
			return nil
		})
	cmd.AddCommand(list, status, logs, del)
	return cmd
}
