package vm

import (
	"cmp"
	"fmt"
	"net/url"
	"path"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/internal/hostutil"
)

// CloudInitOptions is what CloudInit needs beyond the Host's fields. Its
// zero value is not enough: set BinaryURL and BundleURL.
type CloudInitOptions struct {
	// BinaryURL and BundleURL are where the new VM downloads the weir
	// binary and the bundle from: the binary (tens of MB) is too big for
	// user-data, which clouds limit to about 16 KB.
	BinaryURL, BundleURL string
	// Arch is the new VM's GOARCH: the running machine's by default.
	Arch string
}

// cloudConfig is the part of cloud-init's #cloud-config that CloudInit
// writes.
type cloudConfig struct {
	WriteFiles []cloudFile `json:"write_files"`
	RunCmd     [][]string  `json:"runcmd"`
}

type cloudFile struct {
	Path        string `json:"path"`
	Permissions string `json:"permissions"`
	Content     string `json:"content"`
}

// CloudInit returns cloud-init user-data (#cloud-config) that installs
// the deployment req at a new VM's first boot, as Deploy would under
// systemd, with the Host's Binary, Dir (/opt/weir/NAME by default), Addr,
// Env, Memory, CPUs and Restart: it writes the unit and an install script,
// which downloads the binary and the bundle, checks their SHA-256
// (computed here from the local files), puts them in the install folder
// and starts the unit. User-data is readable on the VM by any process that
// asks the cloud's metadata service: Env holds no secrets. It is safe for
// concurrent use.
func (h *Host) CloudInit(req hosts.DeployRequest, o CloudInitOptions) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("cloud-init for %q: %w", req.Name, err)
	}
	if err := hosts.CheckName(req.Name); err != nil {
		return fail(err)
	}
	if err := checkURLs(o.BinaryURL, o.BundleURL, req.Worker == nil); err != nil {
		return fail(err)
	}
	s, err := h.service(req.Name, req.Worker)
	if err != nil {
		return fail(err)
	}
	s.dir = cmp.Or(s.dir, path.Join("/opt/weir", req.Name))
	binary, err := hostutil.ShippableBinary(h.Binary, cmp.Or(o.Arch, hostutil.HostArch))
	if err != nil {
		return fail(err)
	}
	binarySum, err := sha256Sum(binary)
	if err != nil {
		return fail(fmt.Errorf("weir binary: %w", err))
	}
	downloads := []download{{url: o.BinaryURL, sum: binarySum, name: "weir", mode: "755"}}
	if req.Worker == nil {
		bundleSum, err := sha256Sum(req.Bundle)
		if err != nil {
			return fail(fmt.Errorf("bundle: %w", err))
		}
		downloads = append(downloads, download{url: o.BundleURL, sum: bundleSum, name: "bundle.weir", mode: "644"})
	}
	install := path.Join(s.dir, "install.sh")
	config := cloudConfig{
		WriteFiles: []cloudFile{
			{Path: unitPath(req.Name), Permissions: "0644", Content: s.unit()},
			{Path: install, Permissions: "0755", Content: s.installScript(downloads...)},
		},
		RunCmd: [][]string{{install}},
	}
	b, err := yaml.Marshal(config)
	if err != nil {
		return fail(err)
	}
	return append([]byte("#cloud-config\n"), b...), nil
}

// checkURLs checks that the binary's URL, and the bundle's when a bundle
// is needed (a worker needs none), are there and are HTTP(S).
func checkURLs(binaryURL, bundleURL string, needBundle bool) error {
	var missing []string
	if binaryURL == "" {
		missing = append(missing, "the weir binary (--binary-url)")
	}
	if bundleURL == "" && needBundle {
		missing = append(missing, "the bundle (--bundle-url)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("no URL for %s: the new VM downloads them, as user-data cannot hold the binary; put them where it can download them and give their URLs", strings.Join(missing, " and "))
	}
	urls := []string{binaryURL}
	if bundleURL != "" {
		urls = append(urls, bundleURL)
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("URL %q: give an http:// or https:// URL", raw)
		}
	}
	return nil
}

// download is a file the install script fetches.
type download struct{ url, sum, name, mode string }

var installTemplate = template.Must(template.New("install").Parse(`#!/bin/sh
# Installs the weir deployment {{.Name}} (written by weir deploy): downloads
# the weir binary and the bundle, checks their SHA-256, and starts the
# systemd unit {{.Unit}}.
set -eu
dir={{.Dir}}
mkdir -p "$dir/cache" "$dir/home"
echo {{.Name}} >"$dir/{{.Marker}}"

# fetch URL SHA256 NAME MODE downloads URL to $dir/NAME if its SHA-256 is right.
fetch() {
  tmp="$dir/{{.UploadPrefix}}$3"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 5 --retry-connrefused -o "$tmp" "$1"
  else
    wget -q -O "$tmp" "$1"
  fi
  if ! echo "$2  $tmp" | sha256sum -c - >/dev/null 2>&1; then
    rm -f "$tmp"
    echo "weir install: $1 is not the file weir deploy hashed (SHA-256 $2)" >&2
    exit 1
  fi
  chmod "$4" "$tmp"
  mv -f "$tmp" "$dir/$3"
}
{{range .Downloads -}}
fetch {{.URL}} {{.Sum}} {{.Name}} {{.Mode}}
{{end -}}
systemctl daemon-reload
systemctl enable --now {{.Unit}}
`))

// installScript returns the script that the user-data runs at first boot.
// It is indented with spaces: YAML writes text with tabs as one quoted
// line, which nobody can read.
func (s service) installScript(downloads ...download) string {
	type fetch struct{ URL, Sum, Name, Mode string }
	data := struct {
		Name, Unit, Dir, Marker, UploadPrefix string
		Downloads                             []fetch
	}{Name: s.name, Unit: unitName(s.name), Dir: quote(s.dir), Marker: marker, UploadPrefix: uploadPrefix}
	for _, d := range downloads {
		data.Downloads = append(data.Downloads, fetch{URL: quote(d.url), Sum: d.sum, Name: d.name, Mode: d.mode})
	}
	var b strings.Builder
	_ = installTemplate.Execute(&b, data) // the data always fits
	return b.String()
}
