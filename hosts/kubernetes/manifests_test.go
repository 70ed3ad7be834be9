package kubernetes

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/internal/hostutil"
	"github.com/weirflow/weir/internal/hoststest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	hoststest.Cleanup()
	os.Exit(code)
}

const testImage = "registry.example.com/flows/hello@sha256:85c606a983f647c36ca4ec3c606a06006ecf7139dda5e013edfbcce6cac2be60"

var testRequest = hosts.DeployRequest{Name: "hello", Flow: "hello", Digest: "sha256:3d547712a49e87b22d653fbd218a75bbe47e7fbc08a43abe04ebc3cff94a549c"}

// decode reads YAML documents back through the Kubernetes API types, as
// kubectl and the API server read them.
func decode(t *testing.T, y []byte) []any {
	t.Helper()
	var out []any
	for _, doc := range bytes.Split(y, []byte("---\n")) {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		require.NoError(t, err, "%s", doc)
		out = append(out, obj)
	}
	return out
}

func TestManifests(t *testing.T) {
	h := &Host{Namespace: "flows", Replicas: 2, MaxReplicas: 6, CPUs: 1.5, Memory: 256 << 20, Env: []string{"WEIR_LOG=debug", "EMPTY="}}
	set, err := h.Manifests(testRequest, testImage)
	require.NoError(t, err)

	// Through YAML and the API types and back, nothing changes.
	y, err := set.YAML()
	require.NoError(t, err)
	back := decode(t, y)
	require.Len(t, back, 3)
	backSet := &Set{Deployment: back[0].(*appsv1.Deployment), Service: back[1].(*corev1.Service), HPA: back[2].(*autoscalingv2.HorizontalPodAutoscaler)}
	// Semantic equality compares quantities by value: "1500m" read back
	// is the 1.5 CPUs made.
	assert.True(t, equality.Semantic.DeepEqual(set, backSet), "read back:\n%s", y)
	again, err := backSet.YAML()
	require.NoError(t, err)
	assert.Equal(t, string(y), string(again))

	d := set.Deployment
	labels := map[string]string{"app.kubernetes.io/name": "hello", "app.kubernetes.io/managed-by": "weir", "dev.weir.flow": "hello"}
	assert.Equal(t, "flows", d.Namespace)
	assert.Equal(t, labels, d.Labels)
	assert.Equal(t, map[string]string{"dev.weir.bundle.digest": testRequest.Digest, "dev.weir.flow": "hello"}, d.Annotations)
	assert.Equal(t, d.Annotations, d.Spec.Template.Annotations)
	assert.Nil(t, d.Spec.Replicas, "the autoscaler sets the replicas")
	assert.Equal(t, map[string]string{"app.kubernetes.io/name": "hello"}, d.Spec.Selector.MatchLabels)
	for k, v := range d.Spec.Selector.MatchLabels {
		assert.Equal(t, v, d.Spec.Template.Labels[k], "the selector picks the pods")
	}
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, testImage, c.Image)
	assert.Empty(t, c.Command, "the image's entrypoint runs")
	assert.Equal(t, []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}, c.Ports)
	assert.Equal(t, []corev1.EnvVar{{Name: "WEIR_LOG", Value: "debug"}, {Name: "EMPTY"}}, c.Env)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, intstr.FromString("http"), c.ReadinessProbe.HTTPGet.Port)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/healthz", c.StartupProbe.HTTPGet.Path)
	assert.Equal(t, map[string]string{"cpu": "1500m", "memory": "256Mi"}, quantities(c.Resources.Limits))
	assert.Equal(t, map[string]string{"cpu": "100m", "memory": "64Mi"}, quantities(c.Resources.Requests))
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.Equal(t, []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}, c.VolumeMounts)
	pod := d.Spec.Template.Spec
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	assert.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser)
	assert.NotNil(t, pod.Volumes[0].EmptyDir)

	s := set.Service
	assert.Equal(t, labels, s.Labels)
	assert.Equal(t, d.Spec.Selector.MatchLabels, s.Spec.Selector)
	assert.Equal(t, []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}, s.Spec.Ports)

	a := set.HPA
	assert.Equal(t, autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello"}, a.Spec.ScaleTargetRef)
	assert.Equal(t, int32(2), *a.Spec.MinReplicas)
	assert.Equal(t, int32(6), a.Spec.MaxReplicas)
	assert.Equal(t, corev1.ResourceCPU, a.Spec.Metrics[0].Resource.Name)
	assert.Equal(t, int32(70), *a.Spec.Metrics[0].Resource.Target.AverageUtilization)

	// JSON is a List of the same objects.
	j, err := set.JSON()
	require.NoError(t, err)
	var list struct {
		Kind  string
		Items []json.RawMessage
	}
	require.NoError(t, json.Unmarshal(j, &list))
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 3)
	var dep appsv1.Deployment
	require.NoError(t, json.Unmarshal(list.Items[0], &dep))
	assert.Equal(t, set.Deployment.Spec.Template.Spec.Containers[0].Image, dep.Spec.Template.Spec.Containers[0].Image)
}

// quantities writes a resource list as text.
func quantities(l corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for k, q := range l {
		out[string(k)] = q.String()
	}
	return out
}

func TestManifestsWithoutAutoscaler(t *testing.T) {
	set, err := (&Host{}).Manifests(testRequest, testImage)
	require.NoError(t, err)
	assert.Nil(t, set.HPA)
	assert.Equal(t, int32(1), *set.Deployment.Spec.Replicas)
	assert.Equal(t, "default", set.Deployment.Namespace)
	c := set.Deployment.Spec.Template.Spec.Containers[0]
	assert.Nil(t, c.Resources.Limits, "no limits unless asked")
	y, err := set.YAML()
	require.NoError(t, err)
	assert.Len(t, decode(t, y), 2)

	// A limit under the default request lowers the request.
	set, err = (&Host{CPUs: 0.05, Memory: 32 << 20}).Manifests(testRequest, testImage)
	require.NoError(t, err)
	c = set.Deployment.Spec.Template.Spec.Containers[0]
	assert.Equal(t, map[string]string{"cpu": "50m", "memory": "32Mi"}, quantities(c.Resources.Requests))
	assert.Equal(t, quantities(c.Resources.Limits), quantities(c.Resources.Requests))
}

// TestManifestsGRPC: with a gRPC port, weir serve serves gRPC there, the
// Service exposes it, and gRPC health is the readiness probe.
func TestManifestsGRPC(t *testing.T) {
	set, err := (&Host{GRPCPort: 9090}).Manifests(testRequest, testImage)
	require.NoError(t, err)
	y, err := set.YAML()
	require.NoError(t, err)
	back := decode(t, y)
	require.Len(t, back, 2)
	assert.True(t, equality.Semantic.DeepEqual(set.Deployment, back[0]), "read back:\n%s", y)
	c := set.Deployment.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{"--addr", ":8080", "--grpc-addr", ":9090", "/srv/bundle.weir"}, c.Args)
	assert.Equal(t, []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
		{Name: "grpc", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
	}, c.Ports)
	assert.Equal(t, corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}, c.ReadinessProbe.ProbeHandler)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, "liveness stays on HTTP")
	h2c := "kubernetes.io/h2c"
	assert.Equal(t, []corev1.ServicePort{
		{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		{Name: "grpc", Port: 9090, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: &h2c},
	}, set.Service.Spec.Ports)

	_, err = (&Host{GRPCPort: 9090}).Manifests(workerRequest, testImage)
	assert.EqualError(t, err, "--grpc-port serves a flow over gRPC; a worker serves nothing")
}

func TestManifestsBadInput(t *testing.T) {
	cases := []struct {
		name string
		host *Host
		req  hosts.DeployRequest
		want string
	}{
		{"env without =", &Host{Env: []string{"WEIR_LOG"}}, testRequest, `environment variable "WEIR_LOG": use KEY=VALUE`},
		{"fewer at most than at least", &Host{Replicas: 3, MaxReplicas: 2}, testRequest, "at most 2 replicas is fewer than the 3 to start with; raise --max-replicas"},
		{"negative limit", &Host{CPUs: -1}, testRequest, "CPU and memory limits must be positive, not -1 CPUs and 0 bytes"},
		{"bad name", &Host{}, hosts.DeployRequest{Name: "Hello"}, `deployment name "Hello": use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit`},
		{"bad namespace", &Host{Namespace: "team_a"}, testRequest, `namespace "team_a": use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit`},
		{"CPU under a thousandth", &Host{CPUs: 0.0004}, testRequest, "CPU limit 0.0004: Kubernetes counts CPUs in thousandths; give at least 0.001"},
		{"gRPC on the HTTP port", &Host{GRPCPort: 8080}, testRequest, "gRPC port 8080: want 1 to 65535, and not 8080, the HTTP port"},
		{"gRPC port too high", &Host{GRPCPort: 70000}, testRequest, "gRPC port 70000: want 1 to 65535, and not 8080, the HTTP port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.host.Manifests(c.req, testImage)
			require.EqualError(t, err, c.want)
		})
	}
}

func TestCPULimitRounds(t *testing.T) {
	// 4.35*1000 is 4349.999... in floating point.
	set, err := (&Host{CPUs: 4.35}).Manifests(testRequest, testImage)
	require.NoError(t, err)
	assert.Equal(t, "4350m", quantities(set.Deployment.Spec.Template.Spec.Containers[0].Resources.Limits)["cpu"])
}

func TestLabelValue(t *testing.T) {
	cases := []struct{ flow, want string }{
		{"hello", "hello"},
		{"My_Flow.v2", "My_Flow.v2"},
		{"_internal-", "internal"},
		{"scoring flow/é", "scoring-flow"},
		{strings.Repeat("a", 62) + "-b", strings.Repeat("a", 62)},
		{"---", ""},
	}
	for _, c := range cases {
		t.Run(c.flow, func(t *testing.T) {
			got := labelValue(c.flow)
			assert.Equal(t, c.want, got)
			assert.Empty(t, validation.IsValidLabelValue(got))
		})
	}
}

// TestManifestsSecrets checks that secrets go into a Secret the pods take
// their environment from, never into the Deployment, and that exported
// manifests name the keys without the values.
func TestManifestsSecrets(t *testing.T) {
	req := testRequest
	req.Secrets = map[string]string{"OPENAI_API_KEY": "sk-k8s-planted", "WEIR_SECRET_TOKEN": "tok-k8s-planted"}
	set, err := (&Host{Namespace: "flows"}).Manifests(req, testImage)
	require.NoError(t, err)
	y, err := set.YAML()
	require.NoError(t, err)
	back := decode(t, y)
	require.Len(t, back, 3)
	secret := back[0].(*corev1.Secret)
	assert.Equal(t, "hello", secret.Name)
	assert.Equal(t, "flows", secret.Namespace)
	assert.Equal(t, corev1.SecretTypeOpaque, secret.Type)
	assert.Equal(t, req.Secrets, secret.StringData)
	d := back[1].(*appsv1.Deployment)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "hello"}}}}, c.EnvFrom)
	deployment, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(deployment), "planted")

	// A dry run builds the image for its digest, from a real bundle.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	real := hoststest.SecretRequest(t, "hello", "sk-k8s-planted", "tok-k8s-planted")
	var out bytes.Buffer
	note, err := (&Host{Namespace: "flows", Image: "registry.example.com/flows/hello", Binary: hoststest.Weir(t), Arch: hostutil.HostArch}).Export(real, hosts.ExportOptions{Format: "yaml"}, &out)
	require.NoError(t, err)
	assert.NotContains(t, out.String(), "planted")
	assert.Contains(t, out.String(), "stringData:\n  WEIR_SECRET_TOKEN: \"\"\n  WEIR_TEST_API_KEY: \"\"\n")
	assert.Equal(t, "the Secret hello holds the keys of the flow's secrets with empty values, never theirs: fill them in before applying", note)
	assert.Equal(t, "sk-k8s-planted", real.Secrets["WEIR_TEST_API_KEY"], "the request is left as it was")
}

// workerRequest deploys a worker of the pool "batch" with NATS
// credentials.
var workerRequest = hosts.DeployRequest{
	Name:    "worker-batch",
	Worker:  &hosts.WorkerSpec{Pool: "batch", NATS: "nats://nats:4222", Concurrency: 8, Labels: []string{"zone=a"}},
	Secrets: map[string]string{"NATS_USER": "weir", "NATS_PASSWORD": "pw-k8s-planted"},
}

// TestWorkerManifests: a worker is a Deployment of weir worker with the
// replicas asked, probed on its health checks, its credentials in a
// Secret, and no Service nor autoscaler.
func TestWorkerManifests(t *testing.T) {
	set, err := (&Host{Namespace: "pools", Replicas: 3}).Manifests(workerRequest, testImage)
	require.NoError(t, err)
	y, err := set.YAML()
	require.NoError(t, err)
	back := decode(t, y)
	require.Len(t, back, 2, "%s", y)
	secret := back[0].(*corev1.Secret)
	assert.Equal(t, workerRequest.Secrets, secret.StringData)
	d := back[1].(*appsv1.Deployment)
	assert.True(t, equality.Semantic.DeepEqual(set.Deployment, d), "read back:\n%s", y)
	assert.Nil(t, set.Service)
	assert.Nil(t, set.HPA)

	assert.Equal(t, "pools", d.Namespace)
	assert.Equal(t, int32(3), *d.Spec.Replicas)
	labels := map[string]string{"app.kubernetes.io/name": "worker-batch", "app.kubernetes.io/managed-by": "weir", "dev.weir.pool": "batch"}
	assert.Equal(t, labels, d.Labels)
	assert.Equal(t, labels, d.Spec.Template.Labels)
	assert.Empty(t, d.Annotations, "no bundle, no digest")
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, testImage, c.Image)
	assert.Empty(t, c.Command, "the image's entrypoint, the weir binary, runs")
	assert.Equal(t, []string{"worker", "--pool", "batch", "--nats", "nats://nats:4222", "--concurrency", "8", "--labels", "zone=a", "--health-addr", ":8080"}, c.Args)
	assert.Equal(t, []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}, c.Ports)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, intstr.FromString("http"), c.ReadinessProbe.HTTPGet.Port)
	assert.Equal(t, []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "worker-batch"}}}}, c.EnvFrom)
	assert.NotContains(t, string(y[bytes.Index(y, []byte("kind: Deployment")):]), "planted", "credentials in the Deployment")

	_, err = (&Host{Replicas: 2, MaxReplicas: 4}).Manifests(workerRequest, testImage)
	require.EqualError(t, err, "--max-replicas scales a server on its CPU; workers take the lines there are, so run as many as you need with --replicas")
	bad := workerRequest
	bad.Worker = &hosts.WorkerSpec{Pool: "batch", NATS: "nats://weir:secret@nats:4222"}
	_, err = (&Host{}).Manifests(bad, testImage)
	require.EqualError(t, err, "--nats nats://weir:xxxxx@nats:4222: credentials do not go in the URL, which ends up on a command line: set NATS_USER and NATS_PASSWORD, NATS_TOKEN or NATS_CREDS where you deploy")
}

// TestWorkerExport: the dry run of a worker builds its image, weir worker
// with no bundle, and prints the manifests with the credentials' keys
// only.
func TestWorkerExport(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	var out bytes.Buffer
	note, err := (&Host{Binary: hoststest.Weir(t), Arch: hostutil.HostArch}).Export(workerRequest, hosts.ExportOptions{}, &out)
	require.NoError(t, err)
	assert.NotContains(t, out.String(), "planted")
	assert.Contains(t, out.String(), "stringData:\n  NATS_PASSWORD: \"\"\n  NATS_USER: \"\"\n")
	assert.Regexp(t, `\n      - args:\n        - worker\n`, out.String())
	assert.Regexp(t, `\n        image: registry\.invalid/weir/worker-batch@sha256:[0-9a-f]{64}\n`, out.String())
	assert.Equal(t, "the Secret worker-batch holds the keys of the NATS credentials with empty values, never theirs: fill them in before applying\n"+
		"the manifests name the placeholder image registry.invalid/weir/worker-batch, as no --image was given; to deploy, give --image REGISTRY/REPOSITORY[:TAG], a registry the cluster pulls from", note)
	assert.Equal(t, "pw-k8s-planted", workerRequest.Secrets["NATS_PASSWORD"], "the request is left as it was")
}
