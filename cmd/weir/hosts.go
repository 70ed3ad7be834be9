package main

import (
	"cmp"
	"fmt"
	"os"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/local"
)

// host returns the Host named by fl.host, set up from the flags.
func (app *app) host(store *hosts.Store, fl deployFlags) (hosts.Host, error) {
	switch fl.host {
	case "local":
		return &local.Host{Dir: store.Dir(), Addr: fl.addr}, nil
	case "endpoint":
		if fl.url == "" {
			return nil, usageError{fmt.Errorf("--host endpoint needs --url, the address of a weir serve with --admin")}
		}
		return &endpoint.Host{Client: endpoint.Client{URL: fl.url, Token: cmp.Or(fl.token, os.Getenv("WEIR_ADMIN_TOKEN"))}}, nil
	}
	return nil, usageError{fmt.Errorf("unknown host %q", fl.host)}
}
