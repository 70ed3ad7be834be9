package vm

import (
	"io"

	"github.com/weirflow/weir/hosts"
)

// Kind is the vm kind of host, for a hosts.Registry. Its hosts export
// cloud-init user-data for a new VM (--cloud-init).
func Kind() hosts.Kind {
	return hosts.Kind{
		Name: "vm",
		Takes: append([]string{"addr", "binary", "env", "memory", "cpus", "restart", "arch", "ssh", "identity", "known-hosts",
			"insecure-ignore-host-key", "dir", "supervisor", "cloud-init", "binary-url", "bundle-url"}, hosts.WorkerFlags...),
		Export: "cloud-init",
		New: func(s hosts.Settings) (hosts.Host, error) {
			return &Host{
				SSH: s.SSH, Identity: s.Identity, KnownHosts: s.KnownHosts, InsecureIgnoreHostKey: s.InsecureIgnoreHostKey,
				Binary: s.Binary, Dir: s.Dir, Addr: s.Addr, Env: s.Env, Memory: s.Memory, CPUs: s.CPUs,
				Restart: s.Restart, Arch: s.Arch, Supervisor: s.Supervisor,
			}, nil
		},
	}
}

// Export writes the cloud-init user-data of req (see CloudInit), for a VM
// of h.Arch that downloads from o.BinaryURL and o.BundleURL.
func (h *Host) Export(req hosts.DeployRequest, o hosts.ExportOptions, w io.Writer) (string, error) {
	b, err := h.CloudInit(req, CloudInitOptions{BinaryURL: o.BinaryURL, BundleURL: o.BundleURL, Arch: h.Arch})
	if err != nil {
		return "", err
	}
	_, err = w.Write(b)
	return "", err
}

var _ hosts.Exporter = (*Host)(nil)
