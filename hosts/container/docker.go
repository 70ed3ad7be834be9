package container

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultDocker is the Docker engine's address when DOCKER_HOST is unset.
const DefaultDocker = "unix:///var/run/docker.sock"

// docker speaks the parts of the Docker Engine API that the host uses:
// plain HTTP with JSON, on a unix socket or TCP.
type docker struct {
	addr string // as the user gave it, for messages
	base string // the URL requests go to
	http *http.Client
}

// newDocker returns a client of the engine at addr: unix:///path or
// tcp://host:port.
func newDocker(addr string) (*docker, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("docker engine address %q: %w", addr, err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	d := &docker{addr: addr, http: &http.Client{Transport: transport}}
	switch u.Scheme {
	case "unix":
		socket := u.Path
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		}
		d.base = "http://docker"
	case "tcp", "http":
		d.base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("docker engine address %q: use unix:///path/to/docker.sock or tcp://host:port", addr)
	}
	return d, nil
}

// apiError is a reply of the engine that is not a success.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

// isStatus reports whether err is a reply of the engine with status code.
func isStatus(err error, code int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == code
}

// do sends a request and returns the reply when it is a success; the
// caller closes its body.
func (d *docker) do(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := d.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("docker engine at %s is not reachable: %v; start dockerd, or point DOCKER_HOST at a running engine", d.addr, errors.Unwrap(err))
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var reply struct{ Message string }
	if json.Unmarshal(b, &reply) != nil || reply.Message == "" {
		reply.Message = strings.TrimSpace(string(b))
	}
	return nil, &apiError{status: resp.StatusCode, message: reply.Message}
}

// call sends a JSON request (in may be nil) and decodes the JSON reply
// into out (which may be nil).
func (d *docker) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	resp, err := d.do(ctx, method, path, query, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// engineVersion is the part of GET /version the host reads.
type engineVersion struct {
	Version    string
	APIVersion string `json:"ApiVersion"`
	Arch       string
}

func (d *docker) version(ctx context.Context) (engineVersion, error) {
	var v engineVersion
	err := d.call(ctx, http.MethodGet, "/version", nil, nil, &v)
	return v, err
}

// loadImage loads a tarball of images (docker save's format) and fails
// with the engine's message when the load does.
func (d *docker) loadImage(ctx context.Context, tarball io.Reader) error {
	resp, err := d.do(ctx, http.MethodPost, "/images/load", url.Values{"quiet": {"1"}}, tarball, "application/x-tar")
	if err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	defer resp.Body.Close()
	// The reply is a stream of JSON messages; an error is one of them.
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		var msg struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(scanner.Bytes(), &msg) == nil && msg.Error != "" {
			return fmt.Errorf("load image: %s", msg.Error)
		}
	}
	return scanner.Err()
}

// removeImage untags and removes the image ref; an image that is gone or
// still used by another container is left alone.
func (d *docker) removeImage(ctx context.Context, ref string) error {
	err := d.call(ctx, http.MethodDelete, "/images/"+ref, nil, nil, nil)
	if err == nil || isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusConflict) {
		return nil
	}
	return fmt.Errorf("remove image %s: %w", ref, err)
}

// containerSpec is the body of POST /containers/create.
type containerSpec struct {
	Image        string
	Cmd          []string            `json:",omitempty"`
	Healthcheck  *v1.HealthConfig    `json:",omitempty"`
	Env          []string            `json:",omitempty"`
	Labels       map[string]string   `json:",omitempty"`
	ExposedPorts map[string]struct{} `json:",omitempty"`
	HostConfig   hostConfig
}

type hostConfig struct {
	NetworkMode   string                   `json:",omitempty"`
	PortBindings  map[string][]portBinding `json:",omitempty"`
	Memory        int64                    `json:",omitempty"`
	NanoCPUs      int64                    `json:"NanoCpus,omitempty"`
	RestartPolicy restartPolicy
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

type restartPolicy struct {
	Name string
}

func (d *docker) create(ctx context.Context, name string, spec containerSpec) (string, error) {
	var reply struct {
		ID string `json:"Id"`
	}
	if err := d.call(ctx, http.MethodPost, "/containers/create", url.Values{"name": {name}}, spec, &reply); err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	return reply.ID, nil
}

func (d *docker) start(ctx context.Context, id string) error {
	return d.call(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil, nil)
}

// stop sends the container SIGTERM and waits up to grace for it to exit,
// then kills it. A container that is gone or stopped already is not an
// error.
func (d *docker) stop(ctx context.Context, id string, grace time.Duration) error {
	err := d.call(ctx, http.MethodPost, "/containers/"+id+"/stop", url.Values{"t": {fmt.Sprint(int(grace.Seconds()))}}, nil, nil)
	if err == nil || isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusNotModified) {
		return nil
	}
	return fmt.Errorf("stop container %s: %w", id, err)
}

// containerInfo is the part of GET /containers/{id}/json the host reads.
type containerInfo struct {
	ID           string `json:"Id"`
	Name         string
	RestartCount int
	State        struct {
		Status   string
		Running  bool
		ExitCode int
		Error    string
		Health   *struct{ Status string }
	}
	Config struct {
		Labels map[string]string
	}
	NetworkSettings struct {
		Ports map[string][]portBinding
	}
}

// inspect returns the container id or name; a container that does not
// exist is an apiError with status 404.
func (d *docker) inspect(ctx context.Context, id string) (containerInfo, error) {
	var info containerInfo
	err := d.call(ctx, http.MethodGet, "/containers/"+id+"/json", nil, nil, &info)
	return info, err
}

// remove stops and removes a container; one that is gone is not an error.
func (d *docker) remove(ctx context.Context, id string) error {
	err := d.call(ctx, http.MethodDelete, "/containers/"+id, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if err == nil || isStatus(err, http.StatusNotFound) {
		return nil
	}
	return fmt.Errorf("remove container %s: %w", id, err)
}

// logs writes the container's output to w: everything, or the last tail
// lines when tail > 0.
func (d *docker) logs(ctx context.Context, id string, tail int, w io.Writer) error {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "tail": {"all"}}
	if tail > 0 {
		q.Set("tail", fmt.Sprint(tail))
	}
	resp, err := d.do(ctx, http.MethodGet, "/containers/"+id+"/logs", q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return demux(resp.Body, w)
}

// demux copies the engine's log stream to w without its framing: each
// frame is a byte naming the stream, three zero bytes, a big-endian
// length and the data. (The stream of a container with a terminal has no
// framing, but the host never gives its containers one.)
func demux(r io.Reader, w io.Writer) error {
	var header [8]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		n := int64(binary.BigEndian.Uint32(header[4:]))
		if _, err := io.CopyN(w, r, n); err != nil {
			return err
		}
	}
}
