package kubernetes

import (
	"fmt"
	"io"
	"strings"

	"github.com/weirflow/weir/hosts"
)

// Kind is the kubernetes kind of host, for a hosts.Registry. Its hosts
// export their manifests (--dry-run).
func Kind() hosts.Kind {
	return hosts.Kind{
		Name: "kubernetes",
		Takes: append([]string{"binary", "env", "memory", "cpus", "arch", "output", "image", "namespace", "replicas", "max-replicas",
			"grpc-port", "kubeconfig", "context", "dry-run"}, hosts.WorkerFlags...),
		Export: "dry-run",
		New: func(s hosts.Settings) (hosts.Host, error) {
			return &Host{
				Image: s.Image, Binary: s.Binary, Arch: s.Arch, Namespace: s.Namespace,
				Replicas: s.Replicas, MaxReplicas: s.MaxReplicas, GRPCPort: s.GRPCPort, CPUs: s.CPUs, Memory: s.Memory, Env: s.Env,
				Kubeconfig: s.Kubeconfig, Context: s.Context,
			}, nil
		},
	}
}

// Export writes the manifests of req (see Render) as YAML, or JSON when
// o.Format is "json". Without h.Image the note says that they name a
// placeholder image.
func (h *Host) Export(req hosts.DeployRequest, o hosts.ExportOptions, w io.Writer) (string, error) {
	set, err := h.Render(req)
	if err != nil {
		return "", err
	}
	if set.Secret != nil {
		// Printed manifests end up in files and terminals: keys only.
		for k := range set.Secret.StringData {
			set.Secret.StringData[k] = ""
		}
	}
	var b []byte
	switch o.Format {
	case "", "yaml":
		b, err = set.YAML()
	case "json":
		b, err = set.JSON()
	default:
		return "", fmt.Errorf("manifests of %q: format %q: use yaml or json", req.Name, o.Format)
	}
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b); err != nil {
		return "", err
	}
	var notes []string
	if set.Secret != nil {
		of := "the flow's secrets"
		if req.Worker != nil {
			of = "the NATS credentials"
		}
		notes = append(notes, fmt.Sprintf("the Secret %s holds the keys of %s with empty values, never theirs: fill them in before applying", req.Name, of))
	}
	if h.Image == "" {
		notes = append(notes, fmt.Sprintf("the manifests name the placeholder image %s/%s, as no --image was given; to deploy, give --image REGISTRY/REPOSITORY[:TAG], a registry the cluster pulls from", PlaceholderRepository, req.Name))
	}
	return strings.Join(notes, "\n"), nil
}

var _ hosts.Exporter = (*Host)(nil)
