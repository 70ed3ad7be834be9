package main

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/local"
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
	case "endpoint":
		if fl.url == "" {
			return nil, usageError{fmt.Errorf("--host endpoint needs --url, the address of a weir serve with --admin")}
		}
		return &endpoint.Host{Client: endpoint.Client{URL: fl.url, Token: cmp.Or(fl.token, os.Getenv("WEIR_ADMIN_TOKEN"))}}, nil
	}
	return nil, usageError{fmt.Errorf("unknown host %q", fl.host)}
}

// writeInstead writes what the flags ask for in place of a deployment: the
// container image as a tarball (--output). It reports whether it did.
func writeInstead(cmd *cobra.Command, host hosts.Host, fl deployFlags, req hosts.DeployRequest) (bool, error) {
	switch h := host.(type) {
	case *container.Host:
		if fl.output == "" {
			return false, nil
		}
		return true, writeImage(cmd, h, fl, req)
	}
	return false, nil
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
