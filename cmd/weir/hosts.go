package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/kubernetes"
	"github.com/weirflow/weir/hosts/local"
	"github.com/weirflow/weir/hosts/vm"
)

// host returns the Host named by fl.host, set up from the flags.
func (app *app) host(store *hosts.Store, fl deployFlags) (hosts.Host, error) {
	for _, kv := range fl.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, usageError{fmt.Errorf("--env %q: want KEY=VALUE", kv)}
		}
	}
	if fl.cpus < 0 {
		return nil, usageError{fmt.Errorf("--cpus %g: want a positive number of CPUs, like 0.5 or 2", fl.cpus)}
	}
	var memory int64
	if fl.memory != "" {
		var err error
		if memory, err = parseSize(fl.memory); err != nil {
			return nil, usageError{fmt.Errorf("--memory: %w", err)}
		}
	}
	switch fl.host {
	case "local":
		return &local.Host{Dir: store.Dir(), Addr: fl.addr}, nil
	case "container":
		return &container.Host{Docker: fl.docker, Binary: fl.binary, Addr: fl.addr, Memory: memory, CPUs: fl.cpus, Env: fl.env, Restart: fl.restart, Arch: fl.arch}, nil
	case "vm":
		return &vm.Host{
			SSH: fl.ssh, Identity: fl.identity, KnownHosts: fl.knownHosts, InsecureIgnoreHostKey: fl.insecureHostKey,
			Binary: fl.binary, Dir: fl.dir, Addr: fl.addr, Env: fl.env, Memory: memory, CPUs: fl.cpus,
			Restart: fl.restart, Supervisor: fl.supervisor,
		}, nil
	case "kubernetes":
		return &kubernetes.Host{
			Image: fl.image, Binary: fl.binary, Arch: fl.arch, Namespace: fl.namespace,
			Replicas: fl.replicas, MaxReplicas: fl.maxReplicas, CPUs: fl.cpus, Memory: memory, Env: fl.env,
			Kubeconfig: fl.kubeconfig, Context: fl.context,
		}, nil
	case "endpoint":
		if fl.url == "" {
			return nil, usageError{fmt.Errorf("--host endpoint needs --url, the address of a weir serve with --admin")}
		}
		return &endpoint.Host{Client: endpoint.Client{URL: fl.url, Token: cmp.Or(fl.token, os.Getenv("WEIR_ADMIN_TOKEN"))}}, nil
	}
	return nil, usageError{fmt.Errorf("unknown host %q", fl.host)}
}

// writeInstead writes what the flags ask for in place of a deployment: the
// container image as a tarball (--output), a VM's cloud-init user-data
// (--cloud-init). It reports whether it did.
func writeInstead(cmd *cobra.Command, host hosts.Host, fl deployFlags, req hosts.DeployRequest) (bool, error) {
	switch h := host.(type) {
	case *container.Host:
		if fl.output == "" {
			return false, nil
		}
		return true, writeImage(cmd, h, fl, req)
	case *kubernetes.Host:
		if !fl.dryRun {
			if fl.output != "" {
				return true, usageError{errors.New("-o goes with --dry-run on --host kubernetes")}
			}
			return false, nil
		}
		return true, writeManifests(cmd, h, fl.output, req)
	case *vm.Host:
		if !fl.cloudInit {
			if fl.binaryURL != "" || fl.bundleURL != "" || fl.arch != "" {
				return true, usageError{errors.New("--binary-url, --bundle-url and --arch go with --cloud-init: a VM reached over SSH says its own architecture")}
			}
			return false, nil
		}
		b, err := h.CloudInit(req, vm.CloudInitOptions{BinaryURL: fl.binaryURL, BundleURL: fl.bundleURL, Arch: fl.arch})
		if err != nil {
			return true, err
		}
		_, err = cmd.OutOrStdout().Write(b)
		return true, err
	}
	return false, nil
}

// writeManifests prints the Kubernetes manifests of req as YAML or JSON.
func writeManifests(cmd *cobra.Command, h *kubernetes.Host, format string, req hosts.DeployRequest) error {
	if format == "" {
		format = "yaml"
	}
	if err := oneOf("-o", format, "yaml", "json"); err != nil {
		return err
	}
	set, err := h.Render(req)
	if err != nil {
		return err
	}
	var b []byte
	if format == "json" {
		b, err = set.JSON()
	} else {
		b, err = set.YAML()
	}
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}

// writeImage writes the container image of req to the file fl.output.
func writeImage(cmd *cobra.Command, h *container.Host, fl deployFlags, req hosts.DeployRequest) error {
	f, err := os.Create(fl.output)
	if err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	err = h.WriteImage(req, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(fl.output)
		return fmt.Errorf("write image: %w", err)
	}
	fi, err := os.Stat(fl.output)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote the image %s of flow %q (%s, %.1f MB) to %s; load it with docker load -i %s\n",
		container.ImageTag(req.Name, req.Digest), req.Flow, shortDigest(req.Digest), float64(fi.Size())/1e6, fl.output, fl.output)
	return nil
}
