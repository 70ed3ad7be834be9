package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
)

// Labels and annotations of what the host makes.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// AnnotationDigest holds the bundle's digest, too long for a label.
	AnnotationDigest = container.LabelDigest
	// AnnotationFlow holds the flow's name as it is; the label of the
	// same key holds it as a label value may.
	AnnotationFlow = container.LabelFlow
)

// Defaults of the manifests.
const (
	// servicePort is the port of the Service.
	servicePort = 80
	// targetCPU is the average CPU use, in percent of the request, that
	// the autoscaler keeps.
	targetCPU = 70
)

// The requests of a pod when no limit lowers them: the autoscaler needs a
// CPU request to scale on.
var (
	defaultCPURequest    = resource.MustParse("100m")
	defaultMemoryRequest = resource.MustParse("64Mi")
)

// Set is what a deployment is made of in the cluster. It is plain data:
// reading it from several goroutines is safe, changing it is not.
type Set struct {
	// Secret holds the flow's secrets, which the Deployment's pods take
	// into their environment (envFrom); nil when the flow has none.
	Secret     *corev1.Secret
	Deployment *appsv1.Deployment
	// Service is nil for a worker, which nothing calls.
	Service *corev1.Service
	// HPA is nil when MaxReplicas is not above Replicas.
	HPA *autoscalingv2.HorizontalPodAutoscaler
}

// Manifests returns the objects of a deployment of req running image (a
// reference by digest): a Deployment of weir serve with its probes,
// resources and a locked-down security context, a Service in front of it,
// and an autoscaler on CPU when h.MaxReplicas is above h.Replicas. For a
// worker (req.Worker) it is a Deployment of h.Replicas weir workers,
// probed on their health checks, and no Service. The
// same inputs make the same Set; it needs no cluster.
func (h *Host) Manifests(req hosts.DeployRequest, image string) (*Set, error) {
	if err := hosts.CheckName(req.Name); err != nil {
		return nil, err
	}
	ns := h.namespace()
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return nil, fmt.Errorf("namespace %q: use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit", ns)
	}
	env, err := envVars(h.Env)
	if err != nil {
		return nil, err
	}
	if h.CPUs < 0 || h.Memory < 0 {
		return nil, fmt.Errorf("CPU and memory limits must be positive, not %g CPUs and %d bytes", h.CPUs, h.Memory)
	}
	if h.CPUs > 0 && h.CPUs < 0.001 {
		return nil, fmt.Errorf("CPU limit %g: Kubernetes counts CPUs in thousandths; give at least 0.001", h.CPUs)
	}
	if h.GRPCPort != 0 {
		if err := container.CheckGRPCPort(h.GRPCPort, container.DefaultPort); err != nil {
			return nil, err
		}
	}
	replicas := max(h.Replicas, 1)
	if h.MaxReplicas != 0 && h.MaxReplicas < replicas {
		return nil, fmt.Errorf("at most %d replicas is fewer than the %d to start with; raise --max-replicas", h.MaxReplicas, replicas)
	}
	labels := map[string]string{LabelName: req.Name, LabelManagedBy: "weir", container.LabelFlow: labelValue(req.Flow)}
	selector := map[string]string{LabelName: req.Name}
	annotations := map[string]string{AnnotationDigest: req.Digest, AnnotationFlow: req.Flow}
	if w := req.Worker; w != nil {
		if err := w.Check(); err != nil {
			return nil, err
		}
		if h.GRPCPort != 0 {
			return nil, container.ErrWorkerGRPC
		}
		if h.MaxReplicas != 0 {
			return nil, errors.New("--max-replicas scales a server on its CPU; workers take the lines there are, so run as many as you need with --replicas")
		}
		labels = map[string]string{LabelName: req.Name, LabelManagedBy: "weir", container.LabelPool: w.Pool}
		annotations = nil
	}
	meta := metav1.ObjectMeta{Name: req.Name, Namespace: ns, Labels: labels, Annotations: annotations}

	pod := h.podSpec(image, env)
	var secret *corev1.Secret
	if len(req.Secrets) > 0 {
		// Never inline in the Deployment: a Secret, which the cluster
		// keeps apart and may encrypt at rest, referenced from the pods.
		secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta,
			Type:       corev1.SecretTypeOpaque,
			StringData: maps.Clone(req.Secrets),
		}
		pod.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: req.Name}}}}
	}
	set := &Set{
		Secret: secret,
		Deployment: &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
					Spec:       pod,
				},
			},
		},
	}
	if w := req.Worker; w != nil {
		// The image's command, written out so that a reader of the
		// manifests sees what runs.
		set.Deployment.Spec.Template.Spec.Containers[0].Args = w.Args(":" + strconv.Itoa(container.DefaultPort))
		// Nothing calls a worker: no Service, and the replicas are
		// what they are told.
		set.Deployment.Spec.Replicas = ptr(replicas)
		return set, nil
	}
	set.Service = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: servicePort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if h.GRPCPort != 0 {
		c := &set.Deployment.Spec.Template.Spec.Containers[0]
		// The image's command with --grpc-addr added, written out.
		c.Args = container.ServeArgs(container.DefaultPort, h.GRPCPort)
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "grpc", ContainerPort: h.GRPCPort, Protocol: corev1.ProtocolTCP})
		// gRPC health is SERVING exactly when /readyz answers 200: the
		// probe checks the port that gRPC clients use.
		c.ReadinessProbe.ProbeHandler = corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: h.GRPCPort}}
		set.Service.Spec.Ports = append(set.Service.Spec.Ports, corev1.ServicePort{
			Name: "grpc", Port: h.GRPCPort, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ptr("kubernetes.io/h2c"),
		})
	}
	if h.MaxReplicas <= replicas {
		// Without an autoscaler the Deployment says how many; with one,
		// the autoscaler does, and applying again must not undo it.
		set.Deployment.Spec.Replicas = ptr(replicas)
		return set, nil
	}
	set.HPA = h.autoscaler(meta, replicas)
	return set, nil
}

// podSpec is the pod of weir serve running image: its port, probes,
// resources, and a security context that locks it down.
func (h *Host) podSpec(image string, env []corev1.EnvVar) corev1.PodSpec {
	port := int32(container.DefaultPort)
	httpGet := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}}
	}
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(65532)),
			RunAsGroup:     ptr(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:      "weir",
			Image:     image,
			Ports:     []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Env:       env,
			Resources: h.resources(),
			ReadinessProbe: &corev1.Probe{
				ProbeHandler: httpGet("/readyz"), PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3,
			},
			LivenessProbe: &corev1.Probe{
				ProbeHandler: httpGet("/healthz"), PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3,
			},
			// Plugins are compiled while the flow loads, before /readyz.
			StartupProbe: &corev1.Probe{
				ProbeHandler: httpGet("/healthz"), PeriodSeconds: 1, FailureThreshold: 60,
			},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false),
				ReadOnlyRootFilesystem:   ptr(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			// weir serve extracts the bundle and caches compiled plugins
			// under /tmp, the one place it writes.
			VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		// The server drains in-flight requests for up to 30s on SIGTERM.
		TerminationGracePeriodSeconds: ptr(int64(40)),
	}
}

// autoscaler scales the Deployment of meta on CPU from replicas up to
// h.MaxReplicas.
func (h *Host) autoscaler(meta metav1.ObjectMeta, replicas int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: meta.Name},
			MinReplicas:    ptr(replicas),
			MaxReplicas:    h.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(targetCPU))},
				},
			}},
		},
	}
}

// resources are the pod's requests and limits: limits as h says, and
// requests that are the defaults, or the limits when those are lower.
func (h *Host) resources() corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: defaultCPURequest, corev1.ResourceMemory: defaultMemoryRequest},
	}
	limit := func(name corev1.ResourceName, q *resource.Quantity) {
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[name] = *q
		if req := r.Requests[name]; q.Cmp(req) < 0 {
			r.Requests[name] = *q
		}
	}
	if h.CPUs > 0 {
		limit(corev1.ResourceCPU, resource.NewMilliQuantity(int64(math.Round(h.CPUs*1000)), resource.DecimalSI))
	}
	if h.Memory > 0 {
		limit(corev1.ResourceMemory, resource.NewQuantity(h.Memory, resource.BinarySI))
	}
	return r
}

// envVars turns KEY=VALUE entries into the container's environment.
func envVars(env []string) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("environment variable %q: use KEY=VALUE", kv)
		}
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out, nil
}

// labelValue makes s a label value: at most 63 letters, digits, -, _ and
// ., starting and ending with a letter or digit. Other characters become
// -, as flow names may hold any.
func labelValue(s string) string {
	v := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.", r)) {
			return r
		}
		return '-'
	}, s)
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}

func ptr[T any](v T) *T { return &v }

// objects returns the set's objects in the order they are applied.
func (s *Set) objects() []any {
	var objs []any
	if s.Secret != nil {
		// Before the pods that read it.
		objs = append(objs, s.Secret)
	}
	objs = append(objs, s.Deployment)
	if s.Service != nil {
		objs = append(objs, s.Service)
	}
	if s.HPA != nil {
		objs = append(objs, s.HPA)
	}
	return objs
}

// YAML returns the objects as YAML documents, separated by ---.
func (s *Set) YAML() ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range s.objects() {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// JSON returns the objects as a Kubernetes List, which kubectl takes.
func (s *Set) JSON() ([]byte, error) {
	list := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Items      []any  `json:"items"`
	}{"v1", "List", s.objects()}
	return json.MarshalIndent(list, "", "  ")
}
