package hosts

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Settings configure a host that a Registry makes: what weir deploy's
// flags say, parsed. Each kind of host reads the settings it takes (see
// Kind.Takes and the fields of its Host type) and ignores the others; the
// zero value makes every kind with its defaults.
type Settings struct {
	// StateDir is the folder of the deployments (Store.Dir), where a host
	// may keep files of its own.
	StateDir string
	// Addr is where the deployment listens or is published, HOST:PORT.
	Addr string
	// Binary is the static weir binary to ship; the running one when empty.
	Binary string
	// Env is added to weir serve's environment, as KEY=VALUE.
	Env []string
	// Memory (bytes) and CPUs limit the deployment; 0 is no limit.
	Memory int64
	CPUs   float64
	// Restart says when weir serve starts again: always, on-failure, no.
	Restart string
	// Arch is the target's architecture, as GOARCH.
	Arch string
	// Docker is the Docker engine's address (container).
	Docker string
	// SSH, Identity, KnownHosts, InsecureIgnoreHostKey, Dir and Supervisor
	// say how to reach and set up a VM (vm).
	SSH, Identity, KnownHosts string
	InsecureIgnoreHostKey     bool
	Dir, Supervisor           string
	// Image, Namespace, Replicas, MaxReplicas, Kubeconfig and Context say
	// where and how to run on Kubernetes (kubernetes).
	Image, Namespace      string
	Replicas, MaxReplicas int32
	Kubeconfig, Context   string
	// GRPCPort is the port weir serve serves its gRPC API on too, in the
	// container or pod; 0 serves none (container, kubernetes).
	GRPCPort int32
	// URL and Token reach a running weir serve's admin API (endpoint).
	URL, Token string
}

// Kind is a kind of host: its name, the settings it takes, and how to
// make one.
type Kind struct {
	// Name names the kind on the command line and in Deployment.Host.
	Name string
	// Takes names the settings (and export options) the kind reads, by
	// weir deploy's flag names: "addr", "image", "dry-run". The command
	// line refuses the others.
	Takes []string
	// New makes a host of this kind. Its errors are about the settings;
	// it does no I/O.
	New func(Settings) (Host, error)
	// Export names the flag (one of Takes) that asks for Export instead of
	// Deploy, for a kind whose hosts are Exporters: "output", whose value
	// is the file to write, or a switch such as "dry-run".
	Export string
	// OwnSecrets marks a kind whose deployments read the flow's secrets
	// where they run (a running weir serve reads its own environment):
	// weir deploy neither reads them on the deploying machine nor passes
	// them.
	OwnSecrets bool
}

// WorkerFlags are the settings of a worker deployment (DeployRequest.Worker),
// by weir deploy's flag names, for Kind.Takes of the kinds that deploy
// workers.
var WorkerFlags = []string{"worker", "pool", "nats", "concurrency", "labels"}

// Registry makes hosts by the name of their kind. Build one per use with
// the kinds it should know (there is no global registry to change); it is
// not changed after, and is safe for concurrent use.
type Registry struct{ kinds []Kind }

// NewRegistry returns a registry of kinds, listed in that order. It panics
// on two kinds of one name, a programmer's error.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{}
	for _, k := range kinds {
		if _, dup := r.Kind(k.Name); dup {
			panic("hosts: two kinds of host named " + k.Name)
		}
		r.kinds = append(r.kinds, k)
	}
	return r
}

// Names lists the kinds' names, in the registry's order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		names[i] = k.Name
	}
	return names
}

// Kind returns the kind called name.
func (r *Registry) Kind(name string) (Kind, bool) {
	i := slices.IndexFunc(r.kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return r.kinds[i], true
}

// Taking lists the names of the kinds that take the setting named flag.
func (r *Registry) Taking(flag string) []string {
	var names []string
	for _, k := range r.kinds {
		if slices.Contains(k.Takes, flag) {
			names = append(names, k.Name)
		}
	}
	return names
}

// New makes a host of the kind called name with settings s.
func (r *Registry) New(name string, s Settings) (Host, error) {
	k, ok := r.Kind(name)
	if !ok {
		return nil, fmt.Errorf("unknown host %q; use one of: %s", name, strings.Join(r.Names(), ", "))
	}
	return k.New(s)
}

// Reach makes a host to reach d, a deployment made earlier, for Status,
// Logs and Delete: of its kind, with its deployments' folder stateDir and
// its URL; each host finds the rest in d.State.
func (r *Registry) Reach(d Deployment, stateDir string) (Host, error) {
	return r.New(d.Host, Settings{StateDir: stateDir, URL: d.URL})
}

// An Exporter is a host that can write out what it would deploy instead of
// deploying it: the container host an image tarball, the Kubernetes host
// its manifests, the VM host cloud-init user-data for a new VM.
type Exporter interface {
	// Export writes what Deploy would deploy for req to w, contacting no
	// machine (a kubeconfig may be read), and returns a note for the user
	// about what it wrote, or "".
	Export(req DeployRequest, o ExportOptions, w io.Writer) (note string, err error)
}

// ExportOptions adjust an export.
type ExportOptions struct {
	// Format is the manifests' format, yaml (the default) or json
	// (kubernetes).
	Format string
	// BinaryURL and BundleURL are where a new VM downloads the weir binary
	// and the bundle (vm).
	BinaryURL, BundleURL string
	// File is the file w writes to, for the note; "" for standard output.
	File string
}
