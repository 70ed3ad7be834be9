package kubernetes

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
	"github.com/weirflow/weir/internal/hoststest"
)

// apiServer stands in for a Kubernetes API server: it keeps what is
// applied, reports an applied Deployment as rolled out, and serves one pod
// with a log. It checks the token of the kubeconfig.
type apiServer struct {
	mu      sync.Mutex
	objects map[string][]byte // by path
	applied []string          // "PATCH path?query content-type"
}

const podName = "hello-7d9c8-x2k4q"

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer test-token" {
		status(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	switch {
	case r.Method == http.MethodPatch:
		body, _ := io.ReadAll(r.Body)
		s.objects[r.URL.Path] = body
		s.applied = append(s.applied, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type"))
		w.Write(body)
	case r.Method == http.MethodDelete:
		if _, ok := s.objects[r.URL.Path]; !ok {
			status(w, http.StatusNotFound, r.URL.Path+" not found")
			return
		}
		delete(s.objects, r.URL.Path)
		status(w, http.StatusOK, "deleted")
	case strings.HasSuffix(r.URL.Path, "/pods") && r.URL.Query().Get("labelSelector") == "app.kubernetes.io/name=hello":
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":%q}}]}`, podName)
	case strings.HasSuffix(r.URL.Path, "/pods/"+podName+"/log"):
		fmt.Fprint(w, "serving flow \"hello\" at http://0.0.0.0:8080\n")
	case strings.Contains(r.URL.Path, "/deployments/"):
		b, ok := s.objects[r.URL.Path]
		if !ok {
			status(w, http.StatusNotFound, `deployments.apps "hello" not found`)
			return
		}
		var d appsv1.Deployment
		json.Unmarshal(b, &d)
		d.Generation = 1
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		json.NewEncoder(w).Encode(d)
	default:
		status(w, http.StatusNotFound, r.URL.Path+" not found")
	}
}

func status(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":%q,"code":%d}`, msg, code)
}

// kubeconfig writes a kubeconfig whose current context, "test", points at
// the TLS server srv with the namespace "flows".
func kubeconfig(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "config")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "`+srv.URL+`", certificate-authority-data: `+base64.StdEncoding.EncodeToString(ca)+`}
users:
- name: test
  user: {token: test-token}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: flows}
current-context: test
`), 0o600))
	return path
}

// TestDeploy pushes the hello image to a real registry on loopback and
// applies its manifests to the stand-in API server; then status, logs and
// delete work from the deployment's state alone.
func TestDeploy(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	api := &apiServer{objects: map[string][]byte{}}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()

	repo := strings.TrimPrefix(reg.URL, "http://") + "/flows/hello"
	h := &Host{Image: repo + ":v1", Binary: hoststest.Weir(t), Arch: hosts.HostArch, Kubeconfig: kubeconfig(t, srv), MaxReplicas: 4}
	req := hoststest.HelloRequest(t, "hello")
	ctx := context.Background()
	d, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "http://hello.flows.svc.cluster.local", d.URL)
	assert.Equal(t, "flows", d.State["namespace"])
	assert.Equal(t, "test", d.State["context"])
	assert.Equal(t, []string{
		"PATCH /apis/apps/v1/namespaces/flows/deployments/hello?fieldManager=weir&force=true application/apply-patch+yaml",
		"PATCH /api/v1/namespaces/flows/services/hello?fieldManager=weir&force=true application/apply-patch+yaml",
		"PATCH /apis/autoscaling/v2/namespaces/flows/horizontalpodautoscalers/hello?fieldManager=weir&force=true application/apply-patch+yaml",
	}, api.applied)

	// The pods run the pushed image, by digest.
	var dep appsv1.Deployment
	require.NoError(t, json.Unmarshal(api.objects["/apis/apps/v1/namespaces/flows/deployments/hello"], &dep))
	image := dep.Spec.Template.Spec.Containers[0].Image
	assert.Equal(t, d.State["image"], image)
	require.True(t, strings.HasPrefix(image, repo+"@sha256:"), image)
	ref, err := name.ParseReference(image)
	require.NoError(t, err)
	pulled, err := remote.Image(ref)
	require.NoError(t, err)
	cfg, err := pulled.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "hello", cfg.Config.Labels[container.LabelFlow])
	assert.Equal(t, req.Digest, cfg.Config.Labels[container.LabelDigest])

	zero := &Host{}
	st, err := zero.Status(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Ready: true, Detail: "Deployment flows/hello: 1 of 1 pods ready"}, st)
	var logs bytes.Buffer
	require.NoError(t, zero.Logs(ctx, d, &logs))
	assert.Equal(t, "== pod "+podName+" ==\nserving flow \"hello\" at http://0.0.0.0:8080\n", logs.String())

	require.NoError(t, zero.Delete(ctx, d))
	assert.Empty(t, api.objects)
	require.NoError(t, zero.Delete(ctx, d), "deleting what is gone")
	st, err = zero.Status(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Detail: "no Deployment hello in namespace flows"}, st)
}

// TestRender checks that a dry run names the image that a push makes.
func TestRender(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	weir := hoststest.Weir(t)
	req := hoststest.HelloRequest(t, "hello")
	h := &Host{Image: "registry.example.com/flows/hello:v1", Binary: weir, Arch: hosts.HostArch}
	set, err := h.Render(req)
	require.NoError(t, err)
	img, err := (&container.Host{Binary: weir}).Image(req, hosts.HostArch)
	require.NoError(t, err)
	digest, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, "registry.example.com/flows/hello@"+digest.String(), set.Deployment.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "default", set.Deployment.Namespace)

	// With a kubeconfig, the namespace of its context.
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	h.Kubeconfig = kubeconfig(t, srv)
	set, err = h.Render(req)
	require.NoError(t, err)
	assert.Equal(t, "flows", set.Deployment.Namespace)
}

func TestDeployBadInput(t *testing.T) {
	srv := httptest.NewTLSServer(&apiServer{objects: map[string][]byte{}})
	defer srv.Close()
	config := kubeconfig(t, srv)
	missing := filepath.Join(t.TempDir(), "none")
	cases := []struct {
		name string
		host *Host
		want string
	}{
		{"no image", &Host{Kubeconfig: config}, "no image to push to: give REGISTRY/REPOSITORY[:TAG] with --image, a registry the cluster can pull from"},
		{"bad image", &Host{Kubeconfig: config, Image: "Registry/UPPER"}, `image "Registry/UPPER": could not parse reference: Registry/UPPER`},
		{"no kubeconfig", &Host{Kubeconfig: missing, Image: "r.example.com/x"}, "read kubeconfig: stat " + missing + ": no such file or directory"},
		{"unknown context", &Host{Kubeconfig: config, Context: "prod", Image: "r.example.com/x"}, `kubeconfig has no context "prod"; kubectl config get-contexts lists them`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.host.Deploy(context.Background(), hosts.DeployRequest{Name: "hello"})
			require.EqualError(t, err, `deploy "hello" on kubernetes: `+c.want)
		})
	}
}

func TestNoKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	_, err := (&Host{Image: "r.example.com/x"}).Deploy(context.Background(), hosts.DeployRequest{Name: "hello"})
	require.EqualError(t, err, `deploy "hello" on kubernetes: no kubeconfig with a context in `+os.Getenv("KUBECONFIG")+`: give one with --kubeconfig or KUBECONFIG`)
}

func TestClusterUnreachable(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	config := kubeconfig(t, srv)
	_, err := (&Host{}).Status(context.Background(), hosts.Deployment{Name: "hello", State: map[string]string{"kubeconfig": config}})
	require.EqualError(t, err, `status of "hello": reach the cluster at `+srv.URL+`: dial tcp `+strings.TrimPrefix(srv.URL, "https://")+`: connect: connection refused`)
}
