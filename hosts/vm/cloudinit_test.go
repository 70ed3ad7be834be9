package vm

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/weirflow/weir/hosts"
)

// cloudInit returns the user-data CloudInit writes for a request of a
// small bundle, and the files the URLs serve, by URL path.
func cloudInit(t *testing.T, serverURL string, h *Host) ([]byte, map[string][]byte) {
	t.Helper()
	binary, arch := foreignELF(t)
	bundle := writeFile(t, "hello.weir", "the bundle")
	h.Binary = binary
	o := CloudInitOptions{BinaryURL: serverURL + "/weir", BundleURL: serverURL + "/hello.weir", Arch: arch}
	data, err := h.CloudInit(hosts.DeployRequest{Name: "hello", Bundle: bundle}, o)
	require.NoError(t, err)
	files := map[string][]byte{}
	for path, file := range map[string]string{"/weir": binary, "/hello.weir": bundle} {
		files[path], err = os.ReadFile(file)
		require.NoError(t, err)
	}
	return data, files
}

func TestCloudInit(t *testing.T) {
	data, _ := cloudInit(t, "https://files.example.com", &Host{})
	require.True(t, bytes.HasPrefix(data, []byte("#cloud-config\n")), "%s", data)
	var config cloudConfig
	require.NoError(t, yaml.UnmarshalStrict(data, &config))

	require.Len(t, config.WriteFiles, 2)
	unit := config.WriteFiles[0]
	assert.Equal(t, "/etc/systemd/system/weir-hello.service", unit.Path)
	assert.Equal(t, "0644", unit.Permissions)
	assert.Equal(t, service{name: "hello", dir: "/opt/weir/hello", addr: ":8080", restart: "always"}.unit(), unit.Content)

	install := config.WriteFiles[1]
	assert.Equal(t, "/opt/weir/hello/install.sh", install.Path)
	assert.Equal(t, "0755", install.Permissions)
	assert.Contains(t, install.Content, "fetch 'https://files.example.com/weir' ")
	assert.Contains(t, install.Content, "fetch 'https://files.example.com/hello.weir' ")
	assert.Equal(t, [][]string{{"/opt/weir/hello/install.sh"}}, config.RunCmd)
}

// The install script of the user-data, run against a local file server
// with a stand-in systemctl, installs checked files and starts the unit.
func TestCloudInitInstall(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP LOUDLY: the install script needs %s: %v", tool, err)
		}
	}
	tests := []struct {
		name    string
		corrupt bool
	}{{"checked", false}, {"corrupt", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files map[string][]byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := files[r.URL.Path]
				if tt.corrupt && r.URL.Path == "/hello.weir" {
					b = []byte("another bundle")
				}
				_, _ = w.Write(b)
			}))
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "opt", "hello")
			data, served := cloudInit(t, srv.URL, &Host{Dir: dir})
			files = served
			var config cloudConfig
			require.NoError(t, yaml.Unmarshal(data, &config))
			script := writeFile(t, "install.sh", config.WriteFiles[1].Content)

			bin := t.TempDir()
			calls := filepath.Join(bin, "calls")
			require.NoError(t, os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\necho \"$@\" >>"+calls+"\n"), 0o755))
			cmd := exec.Command("sh", script)
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()

			if tt.corrupt {
				require.Error(t, err)
				assert.Equal(t, "weir install: "+srv.URL+"/hello.weir is not the file weir deploy hashed (SHA-256 "+sum(t, served["/hello.weir"])+")\n", string(out))
				assert.NoFileExists(t, filepath.Join(dir, "bundle.weir"))
				assert.NoFileExists(t, calls, "systemctl is not called")
				return
			}
			require.NoError(t, err, "%s", out)
			for name, url := range map[string]string{"weir": "/weir", "bundle.weir": "/hello.weir"} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				assert.Equal(t, served[url], b, name)
			}
			info, err := os.Stat(filepath.Join(dir, "weir"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())
			marker, err := os.ReadFile(filepath.Join(dir, ".weir-deployment"))
			require.NoError(t, err)
			assert.Equal(t, "hello\n", string(marker))
			b, err := os.ReadFile(calls)
			require.NoError(t, err)
			assert.Equal(t, "daemon-reload\nenable --now weir-hello.service\n", string(b))
		})
	}
}

// sum is the SHA-256 of b, in hex.
func sum(t *testing.T, b []byte) string {
	t.Helper()
	s, err := sha256Sum(writeFile(t, "file", string(b)))
	require.NoError(t, err)
	return s
}

func TestCloudInitErrors(t *testing.T) {
	bundle := writeFile(t, "hello.weir", "the bundle")
	binary, arch := foreignELF(t)
	missing := filepath.Join(t.TempDir(), "none.weir")
	h := &Host{Binary: binary}
	ok := CloudInitOptions{BinaryURL: "https://x/weir", BundleURL: "https://x/hello.weir", Arch: arch}
	tests := []struct {
		name   string
		change func(o *CloudInitOptions, req *hosts.DeployRequest)
		err    string
	}{
		{"no URLs", func(o *CloudInitOptions, _ *hosts.DeployRequest) { o.BinaryURL, o.BundleURL = "", "" },
			"no URL for the weir binary (--binary-url) and the bundle (--bundle-url): the new VM downloads them, as user-data cannot hold the binary; put them where it can download them and give their URLs"},
		{"no bundle URL", func(o *CloudInitOptions, _ *hosts.DeployRequest) { o.BundleURL = "" },
			"no URL for the bundle (--bundle-url): the new VM downloads them, as user-data cannot hold the binary; put them where it can download them and give their URLs"},
		{"not HTTP", func(o *CloudInitOptions, _ *hosts.DeployRequest) { o.BinaryURL = "s3://bucket/weir" },
			`URL "s3://bucket/weir": give an http:// or https:// URL`},
		{"wrong arch", func(o *CloudInitOptions, _ *hosts.DeployRequest) { o.Arch = "s390x" },
			"weir binary " + binary + " is for linux/" + arch + ", the target is linux/s390x; build one with CGO_ENABLED=0 GOOS=linux GOARCH=s390x go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary"},
		{"no bundle", func(_ *CloudInitOptions, req *hosts.DeployRequest) { req.Bundle = missing },
			"bundle: open " + missing + ": no such file or directory"},
		{"bad name", func(_ *CloudInitOptions, req *hosts.DeployRequest) { req.Name = "Hello" },
			`deployment name "Hello": use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, req := ok, hosts.DeployRequest{Name: "hello", Bundle: bundle}
			tt.change(&o, &req)
			_, err := h.CloudInit(req, o)
			require.EqualError(t, err, `cloud-init for "`+req.Name+`": `+tt.err)
		})
	}
	_, err := h.CloudInit(hosts.DeployRequest{Name: "hello", Bundle: bundle}, ok)
	require.NoError(t, err, "the options the cases change are right")
}

// TestCloudInitWorker: a worker's user-data downloads the binary only,
// and its unit runs weir worker.
func TestCloudInitWorker(t *testing.T) {
	binary, arch := foreignELF(t)
	h := &Host{Binary: binary}
	w := &hosts.WorkerSpec{Pool: "batch", NATS: "nats://10.0.0.5:4222"}
	data, err := h.CloudInit(hosts.DeployRequest{Name: "worker-batch", Worker: w}, CloudInitOptions{BinaryURL: "https://files.example.com/weir", Arch: arch})
	require.NoError(t, err)
	var config cloudConfig
	require.NoError(t, yaml.UnmarshalStrict(data, &config))
	require.Len(t, config.WriteFiles, 2)
	assert.Contains(t, config.WriteFiles[0].Content, "\nExecStart=/opt/weir/worker-batch/weir worker --pool batch --nats nats://10.0.0.5:4222 --health-addr :8080\n")
	install := config.WriteFiles[1].Content
	assert.Contains(t, install, "fetch 'https://files.example.com/weir' ")
	assert.NotContains(t, install, "bundle.weir")

	_, err = h.CloudInit(hosts.DeployRequest{Name: "worker-batch", Worker: w}, CloudInitOptions{Arch: arch})
	require.EqualError(t, err, `cloud-init for "worker-batch": no URL for the weir binary (--binary-url): the new VM downloads them, as user-data cannot hold the binary; put them where it can download them and give their URLs`)
}
