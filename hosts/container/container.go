package container

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/internal/hostutil"
)

// Host runs deployments as containers of the local Docker engine (or the
// one DOCKER_HOST names), from images it builds. The zero value deploys
// on a free loopback port with the running weir binary.
type Host struct {
	// Docker is the engine's address, unix:///path or tcp://host:port;
	// default $DOCKER_HOST, else DefaultDocker.
	Docker string
	// Binary is the static weir binary the image ships: a static Linux
	// executable for Arch; the running one when empty.
	Binary string
	// Addr is where the container's port is published on the Docker
	// host, HOST:PORT; "127.0.0.1:0" (a free loopback port) when empty.
	// ":8080" publishes on every interface.
	Addr string
	// GRPCPort, when not 0, makes weir serve serve its gRPC API on this
	// port of the container too, its health check ask gRPC health there,
	// and publishes it at Addr's IP: on the same port number, or on a
	// free port when Addr's port is 0 (or Addr is empty). Not for a
	// worker.
	GRPCPort int32
	// Memory limits the container's memory, in bytes; 0 is no limit.
	Memory int64
	// CPUs limits the container's CPU time, in CPUs (1.5); 0 is no limit.
	CPUs float64
	// Env is added to weir serve's environment, as KEY=VALUE.
	Env []string
	// Restart is Docker's restart policy: "always" (default), "on-failure",
	// "unless-stopped" or "no".
	Restart string
	// Arch is the image's architecture, as GOARCH: by default the Docker
	// engine's, or this machine's for Export.
	Arch string
	// ReadyTimeout bounds the wait for /readyz (60s).
	ReadyTimeout time.Duration
}

// Name returns "container".
func (h *Host) Name() string { return "container" }

// containerName is the name of the container of a deployment.
func containerName(deployment string) string { return "weir-" + deployment }

// imageTag is the tag of a deployment's image in the engine: by the
// bundle's digest, or "worker" for a worker, which has none.
func imageTag(req hosts.DeployRequest) string {
	if req.Worker != nil {
		return "weir/" + req.Name + ":worker"
	}
	return "weir/" + req.Name + ":" + shortHex(req.Digest)
}

func shortHex(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	return hex[:min(12, len(hex))]
}

func (h *Host) engine() (*docker, error) {
	return newDocker(cmp.Or(h.Docker, os.Getenv("DOCKER_HOST"), DefaultDocker))
}

// Image builds the image of req for the architecture arch (this
// machine's when empty) with the host's binary and environment.
func (h *Host) Image(req hosts.DeployRequest, arch string) (v1.Image, error) {
	if err := checkRunnable(req); err != nil {
		return nil, err
	}
	return h.image(req, arch)
}

// image is Image for a bundle checkRunnable accepted.
func (h *Host) image(req hosts.DeployRequest, arch string) (v1.Image, error) {
	arch = cmp.Or(arch, hostutil.HostArch)
	bin, err := hostutil.ShippableBinary(h.Binary, arch)
	if err != nil {
		return nil, err
	}
	o := ImageOptions{
		Binary: bin, Bundle: req.Bundle, Arch: arch,
		Flow: req.Flow, FlowVersion: req.Version, Digest: req.Digest,
		WeirVersion: engine.Version(), Env: h.Env, GRPCPort: h.GRPCPort,
	}
	if w := req.Worker; w != nil {
		o.Worker, o.Pool = w.Args(":"+strconv.Itoa(DefaultPort)), w.Pool
	}
	return Image(o)
}

// writeImage writes the image of req to w as a tarball (docker save's
// format), which docker load and registry tools read.
func (h *Host) writeImage(req hosts.DeployRequest, w io.Writer) error {
	img, err := h.Image(req, h.Arch)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(imageTag(req))
	if err != nil {
		return err
	}
	return tarball.Write(tag, img, w)
}

// Deploy builds the image for the engine's architecture, loads it, runs a
// container of it named weir-NAME with the port published, and waits
// until it answers /readyz. A container of the same name that an earlier,
// interrupted deploy left is replaced; a container that exits or restarts
// before it is ready fails the deploy with the end of its log. A deploy
// that fails removes the container and the image it made (an image that
// another container uses stays).
func (h *Host) Deploy(ctx context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	var undo []func(context.Context)
	fail := func(err error) (hosts.Deployment, error) {
		// Even when ctx is done: nothing of a failed deploy stays.
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i](context.WithoutCancel(ctx))
		}
		return hosts.Deployment{}, fmt.Errorf("deploy %q on container: %w", req.Name, err)
	}
	restart := cmp.Or(h.Restart, "always")
	if !validRestart(restart) {
		return fail(fmt.Errorf("restart policy %q: use always, on-failure, unless-stopped or no", restart))
	}
	nw, err := h.network(req)
	if err != nil {
		return fail(err)
	}
	// Before the engine is asked anything.
	if err := checkRunnable(req); err != nil {
		return fail(err)
	}
	d, err := h.engine()
	if err != nil {
		return fail(err)
	}
	v, err := d.version(ctx)
	if err != nil {
		return fail(err)
	}
	img, err := h.image(req, cmp.Or(h.Arch, v.Arch))
	if err != nil {
		return fail(err)
	}
	tag := imageTag(req)
	undo = append(undo, func(ctx context.Context) { _ = d.removeImage(ctx, tag) })
	if err := load(ctx, d, tag, img); err != nil {
		return fail(err)
	}
	cname := containerName(req.Name)
	if err := clearLeftover(ctx, d, cname, req.Name); err != nil {
		return fail(err)
	}
	spec, err := h.spec(img, tag, req.Name, restart, nw)
	// Secrets go into the container's environment when it is created,
	// never into the image, whose config and layers anyone who pulls it
	// reads.
	spec.Env = hosts.SecretEnv(req.Secrets)
	if err != nil {
		return fail(err)
	}
	id, err := d.create(ctx, cname, spec)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func(ctx context.Context) { _ = d.remove(ctx, id) })
	if err := d.start(ctx, id); err != nil {
		return fail(startError(err, h.Addr))
	}
	info, err := d.inspect(ctx, id)
	if err == nil {
		err = exited(d, info)
	}
	if err != nil {
		return fail(err)
	}
	u := "http://" + loopbackIfAny(nw.health)
	var grpcAddr string
	if !nw.host {
		addr, err := publishedAddr(d, info, containerPort)
		if err != nil {
			return fail(err)
		}
		u = "http://" + addr
		if nw.grpc != nil {
			if grpcAddr, err = publishedAddr(d, info, grpcContainerPort(h.GRPCPort)); err != nil {
				return fail(err)
			}
		}
	}
	if err := h.waitReady(ctx, d, id, u); err != nil {
		return fail(err)
	}
	state := map[string]string{"container": id, "image": tag, "docker": d.addr}
	if req.Worker != nil {
		state["pool"] = req.Worker.Pool
	}
	return hosts.Deployment{
		Name:    req.Name,
		Host:    h.Name(),
		URL:     u,
		GRPC:    grpcAddr,
		Flow:    req.Flow,
		Version: req.Version,
		Digest:  req.Digest,
		Created: time.Now().UTC(),
		State:   state,
	}, nil
}

// checkRunnable refuses the bundle of req when the image could not run
// it: Python tools need an interpreter, and the image holds only the
// static weir binary. A worker has no bundle.
func checkRunnable(req hosts.DeployRequest) error {
	if req.Worker != nil {
		return nil
	}
	b, err := bundle.Open(req.Bundle)
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	if py := b.Python(); len(py) > 0 {
		return fmt.Errorf("build image: plugin %q runs Python tools, but the image holds only the static weir binary, with no Python to run them: deploy the flow with --host local, or --host vm on a machine with python3, or run weir serve on the bundle in an image of your own with Python installed", py[0])
	}
	return nil
}

// stopGrace is how long a container gets to exit after SIGTERM: weir
// serve drains for up to 30s.
const stopGrace = 40 * time.Second

// containerPort is weir serve's port in the container, as Docker names it.
var containerPort = strconv.Itoa(DefaultPort) + "/tcp"

// network is how a deployment's container is reached.
type network struct {
	// host is set for a worker of a NATS server on loopback, which only
	// the Docker host's network reaches: the container shares it, and
	// weir worker's health checks listen on health, a loopback address
	// of the Docker host.
	host   bool
	health string
	// bindIP and bindPort publish the container's port, unless host.
	bindIP, bindPort string
	// grpc, when not nil, publishes the gRPC port (Host.GRPCPort).
	grpc *portBinding
}

// network returns the network of req's container: its port published on
// h.Addr, and its gRPC port beside it, or for a worker of a NATS server on
// loopback, the Docker host's network, with the health checks on h.Addr
// or a free loopback port.
func (h *Host) network(req hosts.DeployRequest) (network, error) {
	if h.GRPCPort != 0 && req.Worker != nil {
		return network{}, ErrWorkerGRPC
	}
	if req.Worker == nil || !loopbackNATS(req.Worker.NATS) {
		ip, port, err := splitAddr(cmp.Or(h.Addr, "127.0.0.1:0"))
		if err != nil {
			return network{}, err
		}
		nw := network{bindIP: ip, bindPort: port}
		nw.grpc, err = h.grpcBinding(nw)
		return nw, err
	}
	if h.Addr != "" {
		ip, port, err := splitAddr(h.Addr)
		if err != nil {
			return network{}, err
		}
		if port == "" {
			return network{}, fmt.Errorf("address %q: a worker on the Docker host's network needs a port of its own for its health checks, not 0", h.Addr)
		}
		return network{host: true, health: net.JoinHostPort(ip, port)}, nil
	}
	// A port free here is free on the Docker host when the engine runs
	// here, as a NATS server on loopback says it does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return network{}, fmt.Errorf("find a free port for the worker's health checks: %w", err)
	}
	defer ln.Close()
	return network{host: true, health: ln.Addr().String()}, nil
}

// grpcBinding publishes the gRPC port where nw publishes HTTP: at the
// same IP, on the port of the same number, or on a free one when HTTP's
// is free too. Two ports the user picks are easier to remember when they
// are those of the container.
func (h *Host) grpcBinding(nw network) (*portBinding, error) {
	if h.GRPCPort == 0 {
		return nil, nil
	}
	if err := CheckGRPCPort(h.GRPCPort, DefaultPort); err != nil {
		return nil, err
	}
	b := &portBinding{HostIP: nw.bindIP}
	if nw.bindPort != "" {
		b.HostPort = strconv.Itoa(int(h.GRPCPort))
		if b.HostPort == nw.bindPort {
			return nil, fmt.Errorf("gRPC port %d: --addr publishes HTTP on that port of the Docker host already; pick another for one of them", h.GRPCPort)
		}
	}
	return b, nil
}

// loopbackIfAny returns addr with a loopback host in place of every
// interface (none, 0.0.0.0 or ::), where it answers on this machine.
func loopbackIfAny(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// loopbackNATS reports whether urls, comma-separated, name a NATS server
// on loopback.
func loopbackNATS(urls string) bool {
	for _, u := range strings.Split(urls, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			continue
		}
		host := parsed.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// spec is the container of deployment, of the image img tagged tag.
func (h *Host) spec(img v1.Image, tag, deployment, restart string, nw network) (containerSpec, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return containerSpec{}, err
	}
	labels := map[string]string{LabelDeployment: deployment}
	for k, v := range cfg.Config.Labels {
		labels[k] = v
	}
	spec := containerSpec{
		Image:  tag,
		Labels: labels,
		HostConfig: hostConfig{
			Memory:        h.Memory,
			NanoCPUs:      int64(h.CPUs * 1e9),
			RestartPolicy: restartPolicy{Name: restart},
		},
	}
	if nw.host {
		// weir worker's arguments, but for where its health checks
		// listen, which the image says is its own port.
		args := slices.Clone(cfg.Config.Cmd)
		args[len(args)-1] = nw.health
		spec.Cmd, spec.Healthcheck = args, healthCheck(nw.health)
		spec.HostConfig.NetworkMode = "host"
		return spec, nil
	}
	spec.ExposedPorts = map[string]struct{}{containerPort: {}}
	spec.HostConfig.PortBindings = map[string][]portBinding{containerPort: {{HostIP: nw.bindIP, HostPort: nw.bindPort}}}
	if nw.grpc != nil {
		// The image runs weir serve with --grpc-addr and checks its
		// health over gRPC already.
		p := grpcContainerPort(h.GRPCPort)
		spec.ExposedPorts[p] = struct{}{}
		spec.HostConfig.PortBindings[p] = []portBinding{*nw.grpc}
	}
	return spec, nil
}

// load streams the image into the engine as a tarball.
func load(ctx context.Context, d *docker, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	err = d.loadImage(ctx, pr)
	pr.CloseWithError(errors.New("load ended"))
	return err
}

// clearLeftover removes the container cname that an interrupted deploy of
// the same deployment left, and refuses to touch one weir did not make.
func clearLeftover(ctx context.Context, d *docker, cname, deployment string) error {
	info, err := d.inspect(ctx, cname)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Config.Labels[LabelDeployment] != deployment {
		return fmt.Errorf("a container named %s exists and weir did not make it; remove it, or deploy with another --name", cname)
	}
	return d.remove(ctx, info.ID)
}

func validRestart(p string) bool {
	switch p {
	case "always", "on-failure", "unless-stopped", "no":
		return true
	}
	return false
}

// splitAddr splits HOST:PORT into what a port binding takes; port 0 asks
// the engine for a free one.
func splitAddr(addr string) (ip, port string, err error) {
	ip, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("address %q: want HOST:PORT, like 127.0.0.1:8080 or :8080", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("address %q: port must be a number from 0 to 65535", addr)
	}
	if port == "0" {
		port = ""
	}
	return ip, port, nil
}

// startError says plainly when the published port is taken.
func startError(err error, addr string) error {
	msg := err.Error()
	if strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") {
		return fmt.Errorf("port %s is taken on the Docker host; free it, or pick another with --addr (leave it out for a free port): %v", addr, err)
	}
	return fmt.Errorf("start container: %w", err)
}

// publishedAddr is the HOST:PORT the published port answers on. A port
// published on every interface of an engine on this machine is reached on
// loopback; of a remote engine, on its host name.
func publishedAddr(d *docker, info containerInfo, port string) (string, error) {
	bindings := info.NetworkSettings.Ports[port]
	if len(bindings) == 0 {
		return "", fmt.Errorf("container %s: port %s is not published", info.Name, port)
	}
	host := bindings[0].HostIP
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
		if u, err := url.Parse(d.addr); err == nil && u.Scheme != "unix" && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	return net.JoinHostPort(host, bindings[0].HostPort), nil
}

// waitReady polls url/readyz until it answers 200, failing early with the
// end of the container's log when the container stops or restarts.
func (h *Host) waitReady(ctx context.Context, d *docker, id, u string) error {
	timeout := cmp.Or(h.ReadyTimeout, 60*time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("not asked yet")
	for {
		info, err := d.inspect(ctx, id)
		switch {
		case ctx.Err() != nil:
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not ready after %s (%v); its log ends with:\n%s", timeout, last, logTail(d, id))
			}
			return ctx.Err()
		case err != nil:
			return err
		}
		if err := exited(d, info); err != nil {
			return err
		}
		if last = hostutil.Ready(ctx, nil, u); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// exited fails a container that stopped, or restarted, with the end of
// its log.
func exited(d *docker, info containerInfo) error {
	if info.State.Running && info.RestartCount == 0 {
		return nil
	}
	return fmt.Errorf("container exited at start (exit code %d); its log ends with:\n%s", info.State.ExitCode, logTail(d, info.ID))
}

// logTail returns the last lines of the container's log.
func logTail(d *docker, id string) string {
	var b bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.logs(ctx, id, 10, &b); err != nil {
		return fmt.Sprintf("  (no log: %v)", err)
	}
	return hostutil.LogTail(b.String(), 10)
}

// engineOf returns the engine that d was deployed on.
func (h *Host) engineOf(d hosts.Deployment) (*docker, error) {
	if addr := d.State["docker"]; addr != "" && h.Docker == "" {
		return newDocker(addr)
	}
	return h.engine()
}

// Status reports the container's state and whether it answers /readyz.
func (h *Host) Status(ctx context.Context, d hosts.Deployment) (hosts.Status, error) {
	eng, err := h.engineOf(d)
	if err != nil {
		return hosts.Status{}, err
	}
	info, err := eng.inspect(ctx, d.State["container"])
	if isStatus(err, http.StatusNotFound) {
		return hosts.Status{Detail: "no container " + containerName(d.Name)}, nil
	}
	if err != nil {
		return hosts.Status{}, err
	}
	detail := fmt.Sprintf("container %s %s", containerName(d.Name), info.State.Status)
	if info.State.Health != nil {
		detail += ", " + healthText(info.State.Health.Status)
	}
	if info.RestartCount > 0 {
		detail += fmt.Sprintf(", restarted %d times", info.RestartCount)
	}
	if !info.State.Running {
		return hosts.Status{Detail: fmt.Sprintf("%s (exit code %d)", detail, info.State.ExitCode)}, nil
	}
	if err := hostutil.Ready(ctx, nil, d.URL); err != nil {
		return hosts.Status{Detail: detail + ", not ready: " + err.Error()}, nil
	}
	return hosts.Status{Ready: true, Detail: detail}, nil
}

// healthText words Docker's health status of a container so that it never
// contradicts the readiness Status reports: Docker says "starting" until
// its first check passes, 10s after a start, while /readyz answers at once.
func healthText(status string) string {
	if status == "starting" {
		return "health check pending"
	}
	return status // healthy, unhealthy
}

// Logs copies the container's log.
func (h *Host) Logs(ctx context.Context, d hosts.Deployment, w io.Writer) error {
	eng, err := h.engineOf(d)
	if err != nil {
		return err
	}
	if err := eng.logs(ctx, d.State["container"], 0, w); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("logs of %q: its container %s is gone", d.Name, containerName(d.Name))
		}
		return fmt.Errorf("logs of %q: %w", d.Name, err)
	}
	return nil
}

// Delete stops the container as a SIGTERM does, so that weir serve
// drains its requests and a worker finishes its lines, within 40s, then
// removes it and its image.
func (h *Host) Delete(ctx context.Context, d hosts.Deployment) error {
	eng, err := h.engineOf(d)
	if err != nil {
		return err
	}
	if err := eng.stop(ctx, d.State["container"], stopGrace); err != nil {
		return fmt.Errorf("delete %q: %w", d.Name, err)
	}
	if err := eng.remove(ctx, d.State["container"]); err != nil {
		return fmt.Errorf("delete %q: %w", d.Name, err)
	}
	if img := d.State["image"]; img != "" {
		if err := eng.removeImage(ctx, img); err != nil {
			return fmt.Errorf("delete %q: %w", d.Name, err)
		}
	}
	return nil
}

var _ hosts.Host = (*Host)(nil)
