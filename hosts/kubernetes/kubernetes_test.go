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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
	"github.com/weirflow/weir/hosts/internal/hostutil"
	"github.com/weirflow/weir/internal/hoststest"
)

// apiServer stands in for a Kubernetes API server: it keeps what is
// applied, reports an applied Deployment as rolled out (or, when stuck,
// its pod as failing to pull the image), and serves one pod with a log.
// It checks the token of the kubeconfig.
type apiServer struct {
	stuck bool

	mu      sync.Mutex
	objects map[string][]byte // by path
	changes []string          // "PATCH path?query content-type", "DELETE path"
}

const podName = "hello-7d9c8-x2k4q"

func newAPIServer() *apiServer { return &apiServer{objects: map[string][]byte{}} }

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
		s.changes = append(s.changes, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type"))
		w.Write(body)
	case r.Method == http.MethodDelete:
		if _, ok := s.objects[r.URL.Path]; !ok {
			status(w, http.StatusNotFound, r.URL.Path+" not found")
			return
		}
		delete(s.objects, r.URL.Path)
		s.changes = append(s.changes, r.Method+" "+r.URL.Path)
		status(w, http.StatusOK, "deleted")
	case strings.HasSuffix(r.URL.Path, "/pods") && r.URL.Query().Get("labelSelector") == "app.kubernetes.io/name=hello":
		json.NewEncoder(w).Encode(corev1.PodList{Items: []corev1.Pod{s.pod()}})
	case strings.HasSuffix(r.URL.Path, "/pods/"+podName+"/log"):
		fmt.Fprint(w, "serving flow \"hello\" at http://0.0.0.0:8080\n")
	case strings.Contains(r.URL.Path, "/deployments/") && s.objects[r.URL.Path] != nil:
		var d appsv1.Deployment
		json.Unmarshal(s.objects[r.URL.Path], &d)
		d.Generation = 1
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		if s.stuck {
			d.Status.ReadyReplicas, d.Status.AvailableReplicas = 0, 0
		}
		json.NewEncoder(w).Encode(d)
	case s.objects[r.URL.Path] != nil:
		w.Write(s.objects[r.URL.Path])
	default:
		status(w, http.StatusNotFound, r.URL.Path+" not found")
	}
}

// pod is the one pod of the Deployment.
func (s *apiServer) pod() corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName}}
	if s.stuck {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "weir", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"},
		}}}
	}
	return p
}

func status(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":%q,"code":%d}`, msg, code)
}

// kubeconfig writes a kubeconfig whose current context, "test", points at
// the TLS server srv with the namespace "flows".
func kubeconfig(t *testing.T, srv *httptest.Server) string {
	return writeKubeconfig(t, srv, "test")
}

// writeKubeconfig writes a kubeconfig with the contexts "test" and
// "staging", both pointing at srv, and current as the current context.
func writeKubeconfig(t *testing.T, srv *httptest.Server, current string) string {
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
- name: staging
  context: {cluster: test, user: test, namespace: staging}
current-context: "`+current+`"
`), 0o600))
	return path
}

// registryServer serves a real registry on loopback and returns the
// repository flows/hello in it.
func registryServer(t *testing.T) string {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	return strings.TrimPrefix(reg.URL, "http://") + "/flows/hello"
}

// applied is what a deploy of hello in flows applies, in order.
var applied = []string{
	"PATCH /apis/apps/v1/namespaces/flows/deployments/hello?fieldManager=weir&force=true application/apply-patch+yaml",
	"PATCH /api/v1/namespaces/flows/services/hello?fieldManager=weir&force=true application/apply-patch+yaml",
	"PATCH /apis/autoscaling/v2/namespaces/flows/horizontalpodautoscalers/hello?fieldManager=weir&force=true application/apply-patch+yaml",
}

// TestDeploy pushes the hello image to a real registry on loopback and
// applies its manifests to the stand-in API server; then status, logs and
// delete work from the deployment's state alone.
func TestDeploy(t *testing.T) {
	repo := registryServer(t)
	api := newAPIServer()
	srv := httptest.NewTLSServer(api)
	defer srv.Close()

	h := &Host{Image: repo + ":v1", Binary: hoststest.Weir(t), Arch: hostutil.HostArch, Kubeconfig: kubeconfig(t, srv), MaxReplicas: 4, Env: []string{"API_KEY=secret"}}
	req := hoststest.HelloRequest(t, "hello")
	ctx := context.Background()
	d, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "http://hello.flows.svc.cluster.local", d.URL)
	assert.Equal(t, "flows", d.State["namespace"])
	assert.Equal(t, "test", d.State["context"])
	assert.Equal(t, applied, api.changes)

	// The pods run the pushed image, by digest, with the environment
	// that the image does not carry.
	var dep appsv1.Deployment
	require.NoError(t, json.Unmarshal(api.objects["/apis/apps/v1/namespaces/flows/deployments/hello"], &dep))
	c := dep.Spec.Template.Spec.Containers[0]
	assert.Equal(t, d.State["image"], c.Image)
	assert.Equal(t, []corev1.EnvVar{{Name: "API_KEY", Value: "secret"}}, c.Env)
	require.True(t, strings.HasPrefix(c.Image, repo+"@sha256:"), c.Image)
	ref, err := name.ParseReference(c.Image)
	require.NoError(t, err)
	pulled, err := remote.Image(ref)
	require.NoError(t, err)
	digest, err := pulled.Digest()
	require.NoError(t, err)
	assert.Equal(t, ref.Identifier(), digest.String())
	cfg, err := pulled.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "hello", cfg.Config.Labels[container.LabelFlow])
	assert.Equal(t, req.Digest, cfg.Config.Labels[container.LabelDigest])
	assert.Equal(t, []string{"HOME=/tmp"}, cfg.Config.Env)

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

// TestDeployAgainWithoutAutoscaler updates what weir made in place, and
// removes the autoscaler that would otherwise keep scaling.
func TestDeployAgainWithoutAutoscaler(t *testing.T) {
	repo := registryServer(t)
	api := newAPIServer()
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	h := &Host{Image: repo, Binary: hoststest.Weir(t), Arch: hostutil.HostArch, Kubeconfig: kubeconfig(t, srv), MaxReplicas: 4}
	req := hoststest.HelloRequest(t, "hello")
	_, err := h.Deploy(context.Background(), req)
	require.NoError(t, err)

	api.changes = nil
	h.MaxReplicas = 0
	_, err = h.Deploy(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, []string{applied[0], applied[1], "DELETE /apis/autoscaling/v2/namespaces/flows/horizontalpodautoscalers/hello"}, api.changes)
	var dep appsv1.Deployment
	require.NoError(t, json.Unmarshal(api.objects["/apis/apps/v1/namespaces/flows/deployments/hello"], &dep))
	assert.Equal(t, int32(1), *dep.Spec.Replicas)
}

// TestDeployNotReady fails when no pod gets ready, says why, and removes
// what it applied.
func TestDeployNotReady(t *testing.T) {
	repo := registryServer(t)
	api := newAPIServer()
	api.stuck = true
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	h := &Host{Image: repo, Binary: hoststest.Weir(t), Arch: hostutil.HostArch, Kubeconfig: kubeconfig(t, srv), MaxReplicas: 4, ReadyTimeout: 1500 * time.Millisecond}
	_, err := h.Deploy(context.Background(), hoststest.HelloRequest(t, "hello"))
	require.EqualError(t, err, `deploy "hello" on kubernetes: no pod of Deployment flows/hello is ready after 1.5s; pod `+podName+`: ImagePullBackOff: Back-off pulling image`)
	assert.Empty(t, api.objects)
	assert.Equal(t, append(slices.Clone(applied),
		"DELETE /apis/autoscaling/v2/namespaces/flows/horizontalpodautoscalers/hello",
		"DELETE /api/v1/namespaces/flows/services/hello",
		"DELETE /apis/apps/v1/namespaces/flows/deployments/hello",
	), api.changes)
}

// TestDeployLeavesOthersAlone refuses to take over an object of the same
// name that weir did not make, before pushing anything.
func TestDeployLeavesOthersAlone(t *testing.T) {
	api := newAPIServer()
	api.objects["/api/v1/namespaces/flows/services/hello"] = []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"hello","namespace":"flows","labels":{"app":"hello"}}}`)
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	// Nothing listens on the registry: a push would fail differently.
	h := &Host{Image: "127.0.0.1:1/flows/hello", Binary: hoststest.Weir(t), Arch: hostutil.HostArch, Kubeconfig: kubeconfig(t, srv)}
	_, err := h.Deploy(context.Background(), hoststest.HelloRequest(t, "hello"))
	require.EqualError(t, err, `deploy "hello" on kubernetes: a Service hello that weir did not make is in namespace flows; deploy with another --name or --namespace`)
	assert.Empty(t, api.changes)
}

// TestRender checks that a dry run names the image that a push makes,
// without reaching the cluster.
func TestRender(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	weir := hoststest.Weir(t)
	req := hoststest.HelloRequest(t, "hello")
	h := &Host{Image: "registry.example.com/flows/hello:v1", Binary: weir, Arch: hostutil.HostArch, Env: []string{"API_KEY=secret"}}
	set, err := h.Render(req)
	require.NoError(t, err)
	img, err := container.Image(container.ImageOptions{
		Binary: weir, Bundle: req.Bundle, Arch: hostutil.HostArch,
		Flow: req.Flow, FlowVersion: req.Version, Digest: req.Digest, WeirVersion: engine.Version(),
	})
	require.NoError(t, err)
	digest, err := img.Digest()
	require.NoError(t, err)
	y, err := set.YAML()
	require.NoError(t, err)
	assert.Contains(t, string(y), "\n      - env:\n        - name: API_KEY\n          value: secret\n        image: registry.example.com/flows/hello@"+digest.String()+"\n")
	assert.Equal(t, "default", set.Deployment.Namespace)

	// With a kubeconfig, the namespace of its context.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a dry run reached the cluster: %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	h.Kubeconfig = kubeconfig(t, srv)
	set, err = h.Render(req)
	require.NoError(t, err)
	assert.Equal(t, "flows", set.Deployment.Namespace)
	h.Context = "staging"
	set, err = h.Render(req)
	require.NoError(t, err)
	assert.Equal(t, "staging", set.Deployment.Namespace)

	// A kubeconfig named and missing is an error, not the default.
	missing := filepath.Join(t.TempDir(), "none")
	h.Kubeconfig, h.Context = missing, ""
	_, err = h.Render(req)
	require.EqualError(t, err, `manifests of "hello": kubeconfig `+missing+": no such file; give an existing one with --kubeconfig, or leave it out for $KUBECONFIG or ~/.kube/config")
}

func TestDeployBadInput(t *testing.T) {
	srv := httptest.NewTLSServer(newAPIServer())
	defer srv.Close()
	config := kubeconfig(t, srv)
	missing := filepath.Join(t.TempDir(), "none")
	cases := []struct {
		name string
		host *Host
		want string
	}{
		{"no image", &Host{Kubeconfig: config}, "no image to push to: give REGISTRY/REPOSITORY[:TAG] with --image, a registry the cluster can pull from"},
		{"bad image", &Host{Kubeconfig: config, Image: "Registry/UPPER"}, `image "Registry/UPPER": give REGISTRY/REPOSITORY[:TAG], lower-case, like registry.example.com/flows/hello:v1`},
		{"image by digest", &Host{Kubeconfig: config, Image: testImage}, `image "` + testImage + `": give a tag or none, not a digest: the image's digest is its own, and the pods run it by that`},
		{"no kubeconfig", &Host{Kubeconfig: missing, Image: "r.example.com/x"}, "kubeconfig " + missing + ": no such file; give an existing one with --kubeconfig, or leave it out for $KUBECONFIG or ~/.kube/config"},
		{"unknown context", &Host{Kubeconfig: config, Context: "prod", Image: "r.example.com/x"}, `kubeconfig has no context "prod"; choose one with --context: staging, test`},
		{"no current context", &Host{Kubeconfig: writeKubeconfig(t, srv, ""), Image: "r.example.com/x"}, `kubeconfig has no current context; choose one with --context: staging, test`},
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

// The pods run the container host's image, which holds no Python: a flow
// with Python tools is refused before anything is built or pushed.
func TestRenderPython(t *testing.T) {
	t.Parallel()
	h := &Host{Image: "r.example.com/x", Binary: hoststest.Weir(t)}
	_, err := h.Render(hoststest.PythonRequest(t, "py"))
	require.EqualError(t, err, `manifests of "py": build image: plugin "desk" runs Python tools, but the image holds only the static weir binary, with no Python to run them: deploy the flow with --host local, or --host vm on a machine with python3, or run weir serve on the bundle in an image of your own with Python installed`)
}
