package hosts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Host deploys bundles somewhere and reaches what it deployed. A Host is
// safe for concurrent use; its methods honour ctx.
type Host interface {
	// Name is the host's name on the command line: "local", "endpoint".
	Name() string
	// Deploy runs the bundle and returns once the deployment answers
	// /readyz, with its endpoint URL. A Deploy that fails removes what it
	// made (containers, images, processes, files), even when ctx is done.
	Deploy(ctx context.Context, req DeployRequest) (Deployment, error)
	// Status reports whether the deployment is up.
	Status(ctx context.Context, d Deployment) (Status, error)
	// Logs writes what the deployment logged so far to w.
	Logs(ctx context.Context, d Deployment, w io.Writer) error
	// Delete stops the deployment and removes what Deploy made. Deleting
	// what is already gone is not an error.
	Delete(ctx context.Context, d Deployment) error
}

// DeployRequest is what to deploy.
type DeployRequest struct {
	// Name names the deployment; unique per host state folder.
	Name string
	// Bundle is the path of the .weir bundle to deploy.
	Bundle string
	// Flow, Version and Digest come from the bundle's manifest.
	Flow, Version, Digest string
	// Secrets are the values of the flow's secrets, read on the deploying
	// machine (ResolveSecrets), by the environment variable weir serve
	// reads each from. A host passes them the way its platform passes
	// secrets, and never into an image, a command line, a log or the
	// state folder.
	Secrets map[string]string
	// Worker, when set, deploys a work pool's worker instead of a server:
	// weir worker runs in place of weir serve, and takes its flows from
	// the pool, so Bundle, Flow, Version and Digest are empty. Secrets
	// then hold the NATS credentials (WorkerSecrets).
	Worker *WorkerSpec
}

// WorkerSpec is the worker a host deploys for a DeployRequest: weir worker
// --pool Pool --nats NATS, answering its health checks where a server
// would answer.
type WorkerSpec struct {
	// Pool names the work pool.
	Pool string
	// NATS is the URL of the pool's NATS server as the worker reaches it
	// from where it runs (several, comma-separated, for a cluster). It
	// holds no credentials: those travel as secrets.
	NATS string
	// Concurrency is how many lines the worker runs at once; 0 is weir
	// worker's default.
	Concurrency int
	// Labels are the worker's KEY=VALUE labels.
	Labels []string
}

var poolPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Check reports what is wrong with w, in the words of weir deploy's
// flags.
func (w *WorkerSpec) Check() error {
	switch {
	case w.Pool == "":
		return errors.New("a worker needs --pool NAME, the work pool it takes lines from")
	case !poolPattern.MatchString(w.Pool):
		return fmt.Errorf("pool name %q: use letters, digits, - and _", w.Pool)
	case w.NATS == "":
		return errors.New("a worker needs --nats URL, the pool's NATS server as the worker reaches it")
	case w.Concurrency < 0:
		return fmt.Errorf("--concurrency must not be negative, got %d", w.Concurrency)
	}
	for _, u := range strings.Split(w.NATS, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil || parsed.Host == "" || strings.ContainsAny(u, " '\"\\$`%") {
			return fmt.Errorf("--nats %q: want a URL such as nats://10.0.0.5:4222, comma-separated for a cluster", w.NATS)
		}
		if parsed.User != nil {
			return fmt.Errorf("--nats %s: credentials do not go in the URL, which ends up on a command line: set NATS_USER and NATS_PASSWORD, NATS_TOKEN or NATS_CREDS where you deploy", parsed.Redacted())
		}
	}
	for _, l := range w.Labels {
		if k, _, ok := strings.Cut(l, "="); !ok || k == "" || strings.ContainsAny(l, " '\"\\$`%\n") {
			return fmt.Errorf("--labels %q: use KEY=VALUE, with no spaces or quotes", l)
		}
	}
	return nil
}

// Args returns weir worker's arguments, after the binary, for w with its
// health checks served on healthAddr.
func (w *WorkerSpec) Args(healthAddr string) []string {
	args := []string{"worker", "--pool", w.Pool, "--nats", w.NATS}
	if w.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(w.Concurrency))
	}
	for _, l := range w.Labels {
		args = append(args, "--labels", l)
	}
	return append(args, "--health-addr", healthAddr)
}

// workerEnv are the variables of the NATS credentials that weir worker
// reads, and so that a worker deployment takes from the deploying
// machine's environment.
var workerEnv = []string{"NATS_USER", "NATS_PASSWORD", "NATS_TOKEN"}

// WorkerSecrets returns the NATS credentials set in this machine's
// environment, by variable, for DeployRequest.Secrets of a worker: they
// reach it as a flow's secrets reach weir serve, never on a command line
// or in an image. NATS_CREDS and NATS_NKEY, files, are refused: a host
// passes values, not files.
func WorkerSecrets() (map[string]string, error) {
	for _, k := range []string{"NATS_CREDS", "NATS_NKEY"} {
		if os.Getenv(k) != "" {
			return nil, fmt.Errorf("%s is set, but a worker deployment cannot take a credentials file along: deploy with NATS_USER and NATS_PASSWORD, or NATS_TOKEN, or put the file on the machine and run weir worker there", k)
		}
	}
	secrets := map[string]string{}
	for _, k := range workerEnv {
		if v := os.Getenv(k); v != "" {
			secrets[k] = v
		}
	}
	if len(secrets) == 0 {
		return nil, nil
	}
	return secrets, nil
}

// Deployment is a deployed bundle, as the state folder keeps it.
type Deployment struct {
	Name string `json:"name"`
	Host string `json:"host"`
	URL  string `json:"url"`
	// GRPC is where the deployment serves weir's gRPC API, HOST:PORT as
	// gRPC clients take it; empty when it does not.
	GRPC    string    `json:"grpc,omitempty"`
	Flow    string    `json:"flow"`
	Version string    `json:"version,omitempty"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
	// State is what the host needs to find the deployment again: a process
	// id, a container id.
	State map[string]string `json:"state,omitempty"`
}

// Status is how a deployment is doing.
type Status struct {
	// Ready is true when the deployment answers /readyz.
	Ready bool
	// Detail says more: "running, pid 4242", "exited", the readiness error.
	Detail string
}

// ErrNotFound is wrapped by the error of a deployment name that is not in
// the state folder.
var ErrNotFound = errors.New("deployment not found")

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckName reports whether name can name a deployment: lower-case letters,
// digits and dashes, as DNS labels and container names allow everywhere.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("deployment name %q: use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit", name)
	}
	return nil
}

// Store keeps deployments as one JSON file each under a folder. It is safe
// for use by several processes as long as they do not write the same
// deployment at once.
type Store struct{ dir string }

// NewStore returns the store of deployments in dir, creating it.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open deployments: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's folder; a deployment may keep files in
// Dir()/<name>/.
func (s *Store) Dir() string { return s.dir }

// Put saves d, replacing a deployment of the same name. The file is
// written whole or not at all.
func (s *Store) Put(d Deployment) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, "."+d.Name+"-*.json")
	if err != nil {
		return fmt.Errorf("save deployment %q: %w", d.Name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save deployment %q: %w", d.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save deployment %q: %w", d.Name, err)
	}
	if err := os.Rename(tmp.Name(), s.path(d.Name)); err != nil {
		return fmt.Errorf("save deployment %q: %w", d.Name, err)
	}
	return nil
}

// Get returns the deployment called name.
func (s *Store) Get(name string) (Deployment, error) {
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return Deployment{}, fmt.Errorf("%w: no deployment %q; see weir deployments list", ErrNotFound, name)
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("read deployment %q: %w", name, err)
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return Deployment{}, fmt.Errorf("read deployment %q: %s is damaged: %v", name, s.path(name), err)
	}
	return d, nil
}

// List returns every deployment, by name.
func (s *Store) List() ([]Deployment, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	var out []Deployment
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		d, err := s.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Deployment) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Remove forgets the deployment called name and its files.
func (s *Store) Remove(name string) error {
	if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("remove deployment %q: %w", name, err)
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove deployment %q: %w", name, err)
	}
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".json") }
