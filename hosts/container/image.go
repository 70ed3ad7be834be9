package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/weirflow/weir/hosts/internal/hostutil"
)

// Where things are in the image.
const (
	// binaryPath is the weir binary.
	binaryPath = "/weir"
	// BundlePath is the bundle weir serve runs in the image.
	BundlePath = "/srv/bundle.weir"
	// DefaultPort is the port weir serve listens on inside the container.
	DefaultPort = 8080
	// user is the user and group the container runs as: not root, and
	// with no /etc/passwd needed.
	user = "65532:65532"
)

// Labels of the image and of the containers made from it.
const (
	LabelFlow       = "dev.weir.flow"
	LabelDigest     = "dev.weir.bundle.digest"
	LabelVersion    = "dev.weir.version"
	LabelDeployment = "dev.weir.deployment"
	LabelPool       = "dev.weir.pool"
)

// ImageOptions is what goes into an image.
type ImageOptions struct {
	// Binary is a static Linux weir binary for Arch.
	Binary string
	// Bundle is the path of the .weir bundle.
	Bundle string
	// Flow, FlowVersion and Digest come from the bundle's manifest; they
	// become labels.
	Flow, FlowVersion, Digest string
	// WeirVersion is the version of the binary, for its label.
	WeirVersion string
	// Arch is the GOARCH of the image; the platform's OS is linux.
	Arch string
	// Port is the port weir serve listens on in the container (8080).
	Port int
	// GRPCPort, when not 0, makes weir serve serve its gRPC API on this
	// port of the container too (--grpc-addr), exposed beside Port, and
	// the health check ask gRPC health there. A worker serves nothing:
	// it takes no GRPCPort.
	GRPCPort int32
	// Env is added to the image's environment, as KEY=VALUE.
	Env []string
	// Worker, when set, makes the image of a work pool's worker: no
	// bundle, and weir worker with these arguments (hosts.WorkerSpec.Args)
	// as the entrypoint, its health checks on Port. Bundle, Flow,
	// FlowVersion and Digest are then unused.
	Worker []string
	// Pool is the worker's pool, for the image's labels.
	Pool string
}

// Image builds the image of a deployment, with no base image: a layer with
// the weir binary (and a /tmp), a layer with the bundle, weir serve as
// the entrypoint (or, for a worker, no bundle and weir worker), a non-root user, OCI labels and a health check that runs
// weir probe. The same inputs make the same image, digest included: every
// file time is zero and the layers are compressed the same way.
func Image(o ImageOptions) (v1.Image, error) {
	port := o.Port
	if port == 0 {
		port = DefaultPort
	}
	if o.Arch == "" {
		o.Arch = hostutil.HostArch
	}
	binLayer, err := binaryLayer(o.Binary)
	if err != nil {
		return nil, err
	}
	addr := ":" + strconv.Itoa(port)
	health := healthCheck(addr)
	exposed := map[string]struct{}{strconv.Itoa(port) + "/tcp": {}}
	if o.GRPCPort != 0 {
		if o.Worker != nil {
			return nil, ErrWorkerGRPC
		}
		if err := CheckGRPCPort(o.GRPCPort, port); err != nil {
			return nil, err
		}
		health = grpcHealthCheck(o.GRPCPort)
		exposed[grpcContainerPort(o.GRPCPort)] = struct{}{}
	}
	cfg := &v1.ConfigFile{
		Architecture: o.Arch,
		OS:           "linux",
		Config: v1.Config{
			Entrypoint: []string{binaryPath, "serve"},
			Cmd:        ServeArgs(port, o.GRPCPort),
			User:       user,
			WorkingDir: "/tmp",
			// HOME is where weir keeps its cache of compiled plugins.
			Env:          append([]string{"HOME=/tmp"}, o.Env...),
			ExposedPorts: exposed,
			Labels: map[string]string{
				"org.opencontainers.image.title":       o.Flow,
				"org.opencontainers.image.version":     o.FlowVersion,
				"org.opencontainers.image.description": "weir serve running the flow " + o.Flow,
				LabelFlow:                              o.Flow,
				LabelDigest:                            o.Digest,
				LabelVersion:                           o.WeirVersion,
			},
			Healthcheck: health,
		},
	}
	layers := []mutate.Addendum{{Layer: binLayer, History: v1.History{CreatedBy: "weir " + o.WeirVersion, Comment: "the weir binary"}}}
	if o.Worker != nil {
		c := &cfg.Config
		c.Entrypoint, c.Cmd = []string{binaryPath}, o.Worker
		c.Labels = map[string]string{
			"org.opencontainers.image.title":       "weir worker",
			"org.opencontainers.image.description": "weir worker taking lines from the work pool " + o.Pool,
			LabelPool:                              o.Pool,
			LabelVersion:                           o.WeirVersion,
		}
	} else {
		bundle, err := os.ReadFile(o.Bundle)
		if err != nil {
			return nil, fmt.Errorf("build image: read bundle: %w", err)
		}
		bundleLayer, err := layer(
			file{path: "srv/", mode: 0o755 | int64(os.ModeDir)},
			file{path: BundlePath[1:], mode: 0o444, data: bundle},
		)
		if err != nil {
			return nil, err
		}
		layers = append(layers, mutate.Addendum{Layer: bundleLayer, History: v1.History{CreatedBy: "weir " + o.WeirVersion, Comment: "the bundle of " + o.Flow}})
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	img, err = mutate.Append(img, layers...)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	return img, nil
}

// ServeArgs are weir serve's arguments in the image: HTTP on httpPort,
// gRPC on grpcPort unless it is 0, and the bundle.
func ServeArgs(httpPort int, grpcPort int32) []string {
	args := []string{"--addr", ":" + strconv.Itoa(httpPort)}
	if grpcPort != 0 {
		args = append(args, "--grpc-addr", ":"+strconv.Itoa(int(grpcPort)))
	}
	return append(args, BundlePath)
}

// ErrWorkerGRPC refuses a gRPC port to a worker, which serves no flow.
var ErrWorkerGRPC = errors.New("--grpc-port serves a flow over gRPC; a worker serves nothing")

// CheckGRPCPort checks port for weir serve's gRPC API in a container
// whose HTTP port is httpPort.
func CheckGRPCPort(port int32, httpPort int) error {
	if port < 1 || port > 65535 || int(port) == httpPort {
		return fmt.Errorf("gRPC port %d: want 1 to 65535, and not %d, the HTTP port", port, httpPort)
	}
	return nil
}

// grpcContainerPort is the gRPC port as Docker names it.
func grpcContainerPort(port int32) string { return strconv.Itoa(int(port)) + "/tcp" }

// healthCheck runs weir probe on the /readyz of weir serve, or of weir
// worker's health checks, listening on addr (":PORT" or "HOST:PORT").
func healthCheck(addr string) *v1.HealthConfig {
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	return probeCheck("http://" + addr)
}

// grpcHealthCheck runs weir probe on the gRPC health of weir serve's gRPC
// port: SERVING exactly when /readyz answers 200, and it checks the
// port that gRPC clients use.
func grpcHealthCheck(port int32) *v1.HealthConfig {
	return probeCheck("grpc://127.0.0.1:" + strconv.Itoa(int(port)))
}

// probeCheck is Docker's health check running weir probe url.
func probeCheck(url string) *v1.HealthConfig {
	return &v1.HealthConfig{
		Test:        []string{"CMD", binaryPath, "probe", url},
		Interval:    10 * time.Second,
		Timeout:     3 * time.Second,
		StartPeriod: 30 * time.Second,
		Retries:     3,
	}
}

// binaryLayers keeps the layer of each weir binary this process put in an
// image, by path, size and modification time: compressing the binary is
// most of the time an image takes to build, and a process that builds
// several images (a deploy, then a push) ships the same binary.
var binaryLayers sync.Map

type binaryKey struct {
	path  string
	size  int64
	mtime time.Time
}

// binaryLayer returns the layer of the weir binary at path, and /tmp.
func binaryLayer(path string) (v1.Layer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("build image: weir binary: %w", err)
	}
	key := binaryKey{path, fi.Size(), fi.ModTime()}
	if l, ok := binaryLayers.Load(key); ok {
		return l.(v1.Layer), nil
	}
	binary, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("build image: weir binary: %w", err)
	}
	l, err := layer(
		file{path: "tmp/", mode: 0o1777 | int64(os.ModeDir)},
		file{path: binaryPath[1:], mode: 0o755, data: binary},
	)
	if err != nil {
		return nil, err
	}
	binaryLayers.Store(key, l)
	return l, nil
}

// file is one entry of a layer; a path ending in / is a folder.
type file struct {
	path string
	mode int64
	data []byte
}

// layer makes a gzipped OCI layer of files, owned by root, dated zero.
func layer(files ...file) (v1.Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode &^ int64(os.ModeDir), Size: int64(len(f.data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if f.mode&int64(os.ModeDir) != 0 {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("build image layer: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("build image layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build image layer: %w", err)
	}
	// Compressed once here: the layer's digest and every copy of it are
	// these bytes. klauspost's gzip makes the same bytes for the same
	// input, in half the time of the standard library's, for a 4% larger
	// layer.
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gz := gzBuf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("build image layer: %w", err)
	}
	return l, nil
}
