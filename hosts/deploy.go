package hosts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
)

// Bundle is a bundle file to deploy and its manifest: one opened as it is
// (OpenBundle), or one built from a flow into a temporary file
// (BuildBundle), which Close removes.
type Bundle struct {
	Path     string
	Manifest bundle.Manifest
	// Secrets are the secrets its flows declare; a file secret's path is
	// resolved against the flow's folder, or for an opened bundle file
	// against the folder holding it.
	Secrets []engine.Secret
	temp    bool
}

// OpenBundle opens the bundle file at path, checking it as a host would
// before running it.
func OpenBundle(path string) (*Bundle, error) {
	b, err := bundle.Open(path)
	if err != nil {
		return nil, err
	}
	secrets := b.Secrets()
	for i, s := range secrets {
		if s.File != "" && !filepath.IsAbs(s.File) {
			secrets[i].File = filepath.Join(filepath.Dir(path), s.File)
		}
	}
	return &Bundle{Path: path, Manifest: b.Manifest(), Secrets: secrets}, nil
}

// BuildBundle builds the bundle of a loaded flow (see bundle.BuildFlow)
// into a temporary file; Close removes it.
func BuildBundle(f *engine.Flow) (*Bundle, error) {
	tmp, err := os.CreateTemp("", "weir-deploy-*.weir")
	if err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	m, err := bundle.BuildFlow(f, nil, tmp)
	if err = errors.Join(err, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return &Bundle{Path: tmp.Name(), Manifest: *m, Secrets: f.Secrets(), temp: true}, nil
}

// Request returns the request to deploy the bundle as name.
func (b *Bundle) Request(name string) DeployRequest {
	return DeployRequest{Name: name, Bundle: b.Path, Flow: b.Manifest.Flow, Version: b.Manifest.Version, Digest: b.Manifest.Digest}
}

// Close removes the bundle file if BuildBundle built it. It may be called
// more than once.
func (b *Bundle) Close() error {
	if !b.temp {
		return nil
	}
	b.temp = false
	return os.Remove(b.Path)
}

// Deploy deploys req with host and keeps the deployment in the store, as
// one step that leaves nothing behind when it fails: a name the store has
// is refused before the host is asked; a host whose Deploy fails has
// removed what it made (Host.Deploy promises it); and a deployment the
// store cannot keep is deleted from the host again. It is safe for
// concurrent use with other names.
func (s *Store) Deploy(ctx context.Context, host Host, req DeployRequest) (Deployment, error) {
	if _, err := s.Get(req.Name); err == nil {
		return Deployment{}, fmt.Errorf("deploy: a deployment %q exists; delete it with weir deployments delete %s, or pass --name", req.Name, req.Name)
	} else if !errors.Is(err, ErrNotFound) {
		return Deployment{}, fmt.Errorf("deploy: %w", err)
	}
	d, err := host.Deploy(ctx, req)
	if err != nil {
		return Deployment{}, err
	}
	if err := s.Put(d); err != nil {
		if derr := host.Delete(context.WithoutCancel(ctx), d); derr != nil {
			return Deployment{}, fmt.Errorf("%w; deleting the deployment again failed too, so it runs unrecorded: %v", err, derr)
		}
		return Deployment{}, err
	}
	return d, nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// DNSName makes a deployment name of a flow name, as CheckName takes
// them: "My_Flow" -> "my-flow".
func DNSName(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}
