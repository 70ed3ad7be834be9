package container

import (
	"fmt"
	"io"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
)

// Kind is the container kind of host, for a hosts.Registry. Its hosts
// export the image as a tarball (--output FILE).
func Kind() hosts.Kind {
	return hosts.Kind{
		Name:   "container",
		Takes:  append([]string{"addr", "binary", "env", "memory", "cpus", "restart", "arch", "output", "docker", "grpc-port"}, hosts.WorkerFlags...),
		Export: "output",
		New: func(s hosts.Settings) (hosts.Host, error) {
			return &Host{Docker: s.Docker, Binary: s.Binary, Addr: s.Addr, GRPCPort: s.GRPCPort, Memory: s.Memory, CPUs: s.CPUs,
				Env: s.Env, Restart: s.Restart, Arch: s.Arch}, nil
		},
	}
}

// Export writes the image of req to w as a tarball (docker save's
// format), and says what it wrote and how to load it.
func (h *Host) Export(req hosts.DeployRequest, o hosts.ExportOptions, w io.Writer) (string, error) {
	cw := &counter{w: w}
	if err := h.writeImage(req, cw); err != nil {
		return "", fmt.Errorf("write image: %w", err)
	}
	of := fmt.Sprintf("of flow %q (%s", req.Flow, shortDigest(req.Digest))
	if req.Worker != nil {
		of = fmt.Sprintf("of a worker of pool %q (weir %s", req.Worker.Pool, engine.Version())
	}
	note := fmt.Sprintf("wrote the image %s %s, %.1f MB)", imageTag(req), of, float64(cw.n)/1e6)
	if o.File != "" {
		note += fmt.Sprintf(" to %s; load it with docker load -i %s", o.File, o.File)
	}
	return note, nil
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// shortDigest is a digest as messages show it: sha256: and 12 hex digits.
func shortDigest(d string) string { return "sha256:" + shortHex(d) }

var _ hosts.Exporter = (*Host)(nil)
