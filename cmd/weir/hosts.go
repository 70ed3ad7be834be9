package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/kubernetes"
	"github.com/weirflow/weir/hosts/local"
	"github.com/weirflow/weir/hosts/vm"
)

// hostKinds returns the hosts weir deploys to, in the order --help lists
// them.
func hostKinds() *hosts.Registry {
	return hosts.NewRegistry(local.Kind(), container.Kind(), vm.Kind(), kubernetes.Kind(), endpoint.Kind())
}

// checkHostFlags refuses the flags that the chosen host does not take.
func checkHostFlags(cmd *cobra.Command, reg *hosts.Registry, host string) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if takers := reg.Taking(f.Name); err == nil && len(takers) > 0 && !slices.Contains(takers, host) {
			err = usageError{fmt.Errorf("--%s is for --host %s, not %s", f.Name, orList(takers), host)}
		}
	})
	return err
}

// orList writes a list as "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// settings are the hosts' settings the flags give, with the deployments'
// folder stateDir.
func (fl deployFlags) settings(stateDir string) (hosts.Settings, error) {
	for _, kv := range fl.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return hosts.Settings{}, usageError{fmt.Errorf("--env %q: want KEY=VALUE", kv)}
		}
	}
	if fl.cpus < 0 {
		return hosts.Settings{}, usageError{fmt.Errorf("--cpus %g: want a positive number of CPUs, like 0.5 or 2", fl.cpus)}
	}
	var memory int64
	if fl.memory != "" {
		var err error
		if memory, err = parseSize(fl.memory); err != nil {
			return hosts.Settings{}, usageError{fmt.Errorf("--memory: %w", err)}
		}
	}
	return hosts.Settings{
		StateDir: stateDir, Addr: fl.addr, Binary: fl.binary, Env: fl.env, Memory: memory, CPUs: fl.cpus,
		Restart: fl.restart, Arch: fl.arch, Docker: fl.docker,
		SSH: fl.ssh, Identity: fl.identity, KnownHosts: fl.knownHosts, InsecureIgnoreHostKey: fl.insecureHostKey,
		Dir: fl.dir, Supervisor: fl.supervisor,
		Image: fl.image, Namespace: fl.namespace, Replicas: fl.replicas, MaxReplicas: fl.maxReplicas, GRPCPort: fl.grpcPort,
		Kubeconfig: fl.kubeconfig, Context: fl.context,
		URL: fl.url, Token: cmp.Or(fl.token, os.Getenv("WEIR_ADMIN_TOKEN")),
	}, nil
}

// export writes what the flags ask for in place of a deployment, when the
// host can (hosts.Exporter): the container image as a tarball (--output),
// Kubernetes manifests (--dry-run), a VM's cloud-init user-data
// (--cloud-init). It reports whether it did.
func export(cmd *cobra.Command, kind hosts.Kind, host hosts.Host, fl deployFlags, req hosts.DeployRequest) (bool, error) {
	ex, ok := host.(hosts.Exporter)
	if !ok || kind.Export == "" {
		return false, nil
	}
	o := hosts.ExportOptions{BinaryURL: fl.binaryURL, BundleURL: fl.bundleURL}
	switch {
	case kind.Export == "output":
		if fl.output == "" {
			return false, nil
		}
		o.File = fl.output
		return true, exportFile(cmd.ErrOrStderr(), ex, req, o)
	case cmd.Flags().Changed(kind.Export):
		o.Format = cmp.Or(fl.output, "yaml")
		if err := oneOf("-o", o.Format, "yaml", "json"); err != nil {
			return true, err
		}
		note, err := ex.Export(req, o, cmd.OutOrStdout())
		if err == nil && note != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), note)
		}
		return true, err
	case fl.output != "":
		return true, usageError{fmt.Errorf("-o goes with --%s on --host %s", kind.Export, kind.Name)}
	case kind.Export == "cloud-init" && (fl.binaryURL != "" || fl.bundleURL != "" || fl.arch != ""):
		return true, usageError{errors.New("--binary-url, --bundle-url and --arch go with --cloud-init: a VM reached over SSH says its own architecture")}
	}
	return false, nil
}

// exportFile exports req to the file o.File, which a failure removes.
func exportFile(stderr io.Writer, ex hosts.Exporter, req hosts.DeployRequest, o hosts.ExportOptions) error {
	f, err := os.Create(o.File)
	if err != nil {
		return fmt.Errorf("write %s: %w", o.File, err)
	}
	note, err := ex.Export(req, o, f)
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(o.File)
		return err
	}
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	return nil
}
