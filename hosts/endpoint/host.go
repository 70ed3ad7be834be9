package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weirflow/weir/hosts"
)

// Host deploys to a running runtime server through its admin API: the
// bundle becomes a new version of its flow there. Deploy needs Client.URL;
// Status, Logs and Delete reach the server a deployment names, with the
// token it was deployed with, unless Client says otherwise.
type Host struct {
	Client Client
	// Version names the versions this host uploads; empty uses the
	// bundle's flow version, else the first 12 hex digits of its digest.
	Version string
}

// Name returns "endpoint".
func (h *Host) Name() string { return "endpoint" }

// Deploy uploads the bundle and returns once the server has loaded it.
func (h *Host) Deploy(ctx context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	data, err := os.ReadFile(req.Bundle)
	if err != nil {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on endpoint: %w", req.Name, err)
	}
	version := h.Version
	if version == "" {
		version = req.Version
	}
	if version == "" {
		version = strings.TrimPrefix(req.Digest, "sha256:")
		version = version[:min(12, len(version))]
	}
	d, err := h.Client.Upload(ctx, data, version)
	if err != nil {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on endpoint %s: %w", req.Name, h.Client.URL, err)
	}
	state := map[string]string{"url": h.Client.URL}
	if h.Client.Token != "" {
		state["token"] = h.Client.Token
	}
	return hosts.Deployment{
		Name:    req.Name,
		Host:    h.Name(),
		URL:     strings.TrimSuffix(h.Client.URL, "/"),
		Flow:    d.Flow,
		Version: d.Version,
		Digest:  d.Digest,
		Created: time.Now().UTC(),
		State:   state,
	}, nil
}

// client returns the client that reaches d: h's, with the token d was
// deployed with when h has none.
func (h *Host) client(d hosts.Deployment) *Client {
	c := h.Client
	if c.URL == "" {
		c.URL = d.URL
	}
	if c.Token == "" {
		c.Token = d.State["token"]
	}
	return &c
}

// Status reports whether the server still has the version, and its share
// of the flow's traffic.
func (h *Host) Status(ctx context.Context, d hosts.Deployment) (hosts.Status, error) {
	list, err := h.client(d).List(ctx)
	if err != nil {
		return hosts.Status{Detail: err.Error()}, nil
	}
	for _, v := range list {
		if v.Flow == d.Flow && v.Version == d.Version {
			return hosts.Status{Ready: true, Detail: fmt.Sprintf("version %s of flow %q, %d%% of its traffic", v.Version, v.Flow, v.Weight)}, nil
		}
	}
	return hosts.Status{Detail: fmt.Sprintf("the server has no version %s of flow %q", d.Version, d.Flow)}, nil
}

// ErrNoLogs is returned by Logs: a runtime server keeps one log for all its
// flows, which its own host shows.
var ErrNoLogs = errors.New("an endpoint deployment has no logs of its own; read the server's logs where it runs")

// Logs returns ErrNoLogs.
func (h *Host) Logs(context.Context, hosts.Deployment, io.Writer) error { return ErrNoLogs }

// Delete removes the version from the server; one already gone is not an
// error.
func (h *Host) Delete(ctx context.Context, d hosts.Deployment) error {
	err := h.client(d).Delete(ctx, d.Flow, d.Version)
	var api *APIError
	if errors.As(err, &api) && api.Status == 404 {
		return nil
	}
	return err
}

var _ hosts.Host = (*Host)(nil)
