package kubernetes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/container"
)

// Host deploys to a Kubernetes cluster with the user's kubeconfig. The
// zero value is ready for Status, Logs and Delete, which find the cluster
// in the deployment's state; Deploy needs Image. A Host is safe for
// concurrent use: its methods read its fields and never change them.
type Host struct {
	// Image is where the deployment's image is pushed:
	// REGISTRY/REPOSITORY[:TAG]. The pods run it by digest.
	Image string
	// Binary is the static weir binary the image ships: a static Linux
	// executable for Arch; the running one when empty.
	Binary string
	// Arch is the image's architecture, as GOARCH: amd64 when empty.
	Arch string
	// Namespace is where the objects go: the kubeconfig context's, else
	// "default".
	Namespace string
	// Replicas is how many pods run (1), and the autoscaler's minimum.
	Replicas int32
	// MaxReplicas is the autoscaler's maximum; there is no autoscaler
	// when it is not above Replicas.
	MaxReplicas int32
	// GRPCPort, when not 0, makes weir serve serve its gRPC API on this
	// port of the pods too (--grpc-addr), which the Service exposes as
	// "grpc" and the readiness probe checks with gRPC health. 0 serves
	// HTTP alone.
	GRPCPort int32
	// CPUs and Memory (bytes) limit each pod; 0 is no limit.
	CPUs   float64
	Memory int64
	// Env is added to weir serve's environment, as KEY=VALUE, in the
	// pod spec: never in the image, which a registry shares more widely.
	Env []string
	// Kubeconfig is the kubeconfig file: $KUBECONFIG or ~/.kube/config
	// when empty. Context is its context to use: its current one when
	// empty.
	Kubeconfig, Context string
	// ReadyTimeout bounds the wait for a ready pod (5m: pulling the image
	// may take a while).
	ReadyTimeout time.Duration
}

// Keys of Deployment.State.
const (
	stateKubeconfig = "kubeconfig"
	stateContext    = "context"
	stateNamespace  = "namespace"
	stateImage      = "image"
)

// Name returns "kubernetes".
func (h *Host) Name() string { return "kubernetes" }

func (h *Host) namespace() string { return cmp.Or(h.Namespace, "default") }

var errNoImage = errors.New("no image to push to: give REGISTRY/REPOSITORY[:TAG] with --image, a registry the cluster can pull from")

// image builds the deployment's image and returns it with its reference
// by digest in the repository of h.Image.
func (h *Host) image(req hosts.DeployRequest) (v1.Image, string, error) {
	if h.Image == "" {
		return nil, "", errNoImage
	}
	parsed, err := name.ParseReference(h.Image)
	if err != nil {
		return nil, "", fmt.Errorf("image %q: give REGISTRY/REPOSITORY[:TAG], lower-case, like registry.example.com/flows/hello:v1", h.Image)
	}
	if _, ok := parsed.(name.Digest); ok {
		return nil, "", fmt.Errorf("image %q: give a tag or none, not a digest: the image's digest is its own, and the pods run it by that", h.Image)
	}
	ch := &container.Host{Binary: h.Binary}
	img, err := ch.Image(req, cmp.Or(h.Arch, "amd64"))
	if err != nil {
		return nil, "", err
	}
	ref, err := container.ByDigest(img, h.Image)
	if err != nil {
		return nil, "", err
	}
	return img, ref, nil
}

// Render returns the manifests of req without pushing or applying
// anything, for a dry run: the image is built for its digest only, and the
// cluster is not contacted. Without h.Image the manifests name the image
// in PlaceholderRepository. The namespace is h.Namespace, else the
// kubeconfig context's when there is a kubeconfig, else "default"; a
// kubeconfig or context named in h that cannot be read is an error.
func (h *Host) Render(req hosts.DeployRequest) (*Set, error) {
	hi := *h
	if hi.Image == "" {
		hi.Image = PlaceholderRepository + "/" + req.Name
	}
	_, ref, err := hi.image(req)
	if err != nil {
		return nil, fmt.Errorf("manifests of %q: %w", req.Name, err)
	}
	hh := *h
	if hh.Namespace == "" {
		c, err := connect(h.Kubeconfig, h.Context)
		switch {
		case err == nil:
			hh.Namespace = c.namespace
		case h.Kubeconfig != "" || h.Context != "":
			return nil, fmt.Errorf("manifests of %q: %w", req.Name, err)
		}
	}
	set, err := hh.Manifests(req, ref)
	if err != nil {
		return nil, fmt.Errorf("manifests of %q: %w", req.Name, err)
	}
	return set, nil
}

// PlaceholderRepository is where the image of a dry run without Image is
// said to be: a domain reserved never to resolve (.invalid), so that
// manifests applied as they are fail to pull at once.
const PlaceholderRepository = "registry.invalid/weir"

// Deploy pushes the image, applies the manifests with server-side apply
// (field manager "weir": objects of the name that weir made are updated in
// place, and an autoscaler no longer wanted is removed), and waits until a
// pod of the new version is ready. Objects of the name that weir did not
// make are left alone and fail the deploy. When applying or the wait
// fails, what was applied is deleted again.
//
// The URL is the Service's address inside the cluster,
// http://NAME.NAMESPACE.svc.cluster.local (port 80): it resolves only from
// pods of the cluster; from outside, use kubectl port-forward or an
// Ingress. A worker has no Service, and no URL.
func (h *Host) Deploy(ctx context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	fail := func(err error) (hosts.Deployment, error) {
		return hosts.Deployment{}, fmt.Errorf("deploy %q on kubernetes: %w", req.Name, err)
	}
	if h.Image == "" {
		return fail(errNoImage) // before the cluster is asked anything
	}
	c, err := connect(h.Kubeconfig, h.Context)
	if err != nil {
		return fail(err)
	}
	ns := cmp.Or(h.Namespace, c.namespace)
	hh := *h
	hh.Namespace = ns
	img, ref, err := hh.image(req)
	if err != nil {
		return fail(err)
	}
	set, err := hh.Manifests(req, ref)
	if err != nil {
		return fail(err)
	}
	if err := c.checkManaged(ctx, ns, req.Name); err != nil {
		return fail(err)
	}
	if err := container.Push(ctx, img, h.Image); err != nil {
		return fail(err)
	}
	// From here on a failure deletes what was applied, even when ctx is
	// done.
	cleanup := func() { _ = c.remove(context.WithoutCancel(ctx), ns, req.Name) }
	if err := c.applySet(ctx, set); err != nil {
		cleanup()
		return fail(err)
	}
	if err := c.waitAvailable(ctx, ns, req.Name, cmp.Or(h.ReadyTimeout, 5*time.Minute)); err != nil {
		cleanup()
		return fail(err)
	}
	d := hosts.Deployment{
		Name:    req.Name,
		Host:    h.Name(),
		URL:     fmt.Sprintf("http://%s.%s.svc.cluster.local", req.Name, ns),
		Flow:    req.Flow,
		Version: req.Version,
		Digest:  req.Digest,
		Created: time.Now().UTC(),
		State: map[string]string{
			stateKubeconfig: c.kubeconfig, stateContext: c.context,
			stateNamespace: ns, stateImage: ref,
		},
	}
	if req.Worker != nil {
		d.URL = "" // a worker has no Service
		d.State["pool"] = req.Worker.Pool
	}
	return d, nil
}

// connectTo returns a client of the cluster of d.
func (h *Host) connectTo(d hosts.Deployment) (*client, string, error) {
	c, err := connect(cmp.Or(h.Kubeconfig, d.State[stateKubeconfig]), cmp.Or(h.Context, d.State[stateContext]))
	if err != nil {
		return nil, "", err
	}
	return c, cmp.Or(h.Namespace, d.State[stateNamespace], c.namespace), nil
}

// Status reports how many of the Deployment's pods are ready.
func (h *Host) Status(ctx context.Context, d hosts.Deployment) (hosts.Status, error) {
	c, ns, err := h.connectTo(d)
	if err != nil {
		return hosts.Status{}, fmt.Errorf("status of %q: %w", d.Name, err)
	}
	var dep appsv1.Deployment
	err = c.get(ctx, deploymentPath(ns, d.Name), &dep)
	if isNotFound(err) {
		return hosts.Status{Detail: fmt.Sprintf("no Deployment %s in namespace %s", d.Name, ns)}, nil
	}
	if err != nil {
		return hosts.Status{}, fmt.Errorf("status of %q: %w", d.Name, err)
	}
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	detail := fmt.Sprintf("Deployment %s/%s: %d of %d pods ready", ns, d.Name, dep.Status.ReadyReplicas, want)
	return hosts.Status{Ready: dep.Status.ReadyReplicas > 0, Detail: detail}, nil
}

// Logs writes the logs of each pod of the deployment, under a line that
// names the pod.
func (h *Host) Logs(ctx context.Context, d hosts.Deployment, w io.Writer) error {
	c, ns, err := h.connectTo(d)
	if err != nil {
		return fmt.Errorf("logs of %q: %w", d.Name, err)
	}
	pods, err := c.pods(ctx, ns, d.Name)
	if err != nil {
		return fmt.Errorf("logs of %q: %w", d.Name, err)
	}
	if len(pods) == 0 {
		return fmt.Errorf("logs of %q: no pods in namespace %s", d.Name, ns)
	}
	for _, p := range pods {
		fmt.Fprintf(w, "== pod %s ==\n", p.Name)
		if err := c.copyLog(ctx, ns, p.Name, w); err != nil {
			return fmt.Errorf("logs of %q: pod %s: %w", d.Name, p.Name, err)
		}
	}
	return nil
}

// Delete removes the autoscaler, the Service and the Deployment; what is
// already gone is not an error.
func (h *Host) Delete(ctx context.Context, d hosts.Deployment) error {
	c, ns, err := h.connectTo(d)
	if err != nil {
		return fmt.Errorf("delete %q: %w", d.Name, err)
	}
	if err := c.remove(ctx, ns, d.Name); err != nil {
		return fmt.Errorf("delete %q: %w", d.Name, err)
	}
	return nil
}

// objectPaths are the API paths of the objects of the deployment called
// name, in the order they are deleted: the autoscaler first, so that it
// does not scale what goes.
func objectPaths(ns, name string) []string {
	return []string{hpaPath(ns, name), servicePath(ns, name), deploymentPath(ns, name), secretPath(ns, name)}
}

// checkManaged returns an error when an object of the deployment's name
// exists that weir did not make: applying would take it over.
func (c *client) checkManaged(ctx context.Context, ns, name string) error {
	for _, path := range objectPaths(ns, name) {
		var obj metav1.PartialObjectMetadata
		err := c.get(ctx, path, &obj)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if obj.Labels[LabelManagedBy] != "weir" {
			return fmt.Errorf("a %s %s that weir did not make is in namespace %s; deploy with another --name or --namespace", obj.Kind, name, ns)
		}
	}
	return nil
}

// applySet applies the objects of set, and deletes the autoscaler when set
// has none: one left by an earlier deploy would still scale the
// Deployment.
func (c *client) applySet(ctx context.Context, set *Set) error {
	for _, obj := range set.objects() {
		if err := c.apply(ctx, obj); err != nil {
			return err
		}
	}
	if set.HPA != nil {
		return nil
	}
	d := set.Deployment
	if err := c.delete(ctx, hpaPath(d.Namespace, d.Name)); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove the autoscaler of an earlier deploy: %w", err)
	}
	return nil
}

// remove deletes the objects of the deployment called name; what is
// already gone is not an error.
func (c *client) remove(ctx context.Context, ns, name string) error {
	for _, path := range objectPaths(ns, name) {
		if err := c.delete(ctx, path); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// waitAvailable polls the Deployment until its current version has a
// ready pod, and says why not at the timeout.
func (c *client) waitAvailable(ctx context.Context, ns, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var dep appsv1.Deployment
		err := c.get(ctx, deploymentPath(ns, name), &dep)
		if err == nil && rolledOut(&dep) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("no pod of Deployment %s/%s is ready after %s%s", ns, name, timeout, c.podProblems(ns, name))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// rolledOut reports whether the Deployment's newest spec has a ready pod
// and no pod of an older one is left.
func rolledOut(d *appsv1.Deployment) bool {
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas > 0 && s.AvailableReplicas > 0 && s.Replicas == s.UpdatedReplicas
}

// podProblems describes why the deployment's pods are not ready, as
// "; pod NAME: ImagePullBackOff: ...".
func (c *client) podProblems(ns, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := c.pods(ctx, ns, name)
	if err != nil || len(pods) == 0 {
		return "; it has no pods"
	}
	var out string
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if wait := cs.State.Waiting; wait != nil {
				out += fmt.Sprintf("; pod %s: %s: %s", p.Name, wait.Reason, wait.Message)
			} else if term := cs.State.Terminated; term != nil {
				out += fmt.Sprintf("; pod %s: exited with %d: %s", p.Name, term.ExitCode, term.Reason)
			}
		}
	}
	return out
}

// pods lists the pods of the deployment called name.
func (c *client) pods(ctx context.Context, ns, name string) ([]corev1.Pod, error) {
	var list corev1.PodList
	q := url.Values{"labelSelector": {LabelName + "=" + name}}
	if err := c.get(ctx, "/api/v1/namespaces/"+ns+"/pods?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// copyLog copies the log of the pod called pod to w.
func (c *client) copyLog(ctx context.Context, ns, pod string, w io.Writer) error {
	body, err := c.open(ctx, "/api/v1/namespaces/"+ns+"/pods/"+pod+"/log")
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(w, body)
	return err
}

func deploymentPath(ns, name string) string {
	return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name
}

func servicePath(ns, name string) string {
	return "/api/v1/namespaces/" + ns + "/services/" + name
}

func secretPath(ns, name string) string {
	return "/api/v1/namespaces/" + ns + "/secrets/" + name
}

func hpaPath(ns, name string) string {
	return "/apis/autoscaling/v2/namespaces/" + ns + "/horizontalpodautoscalers/" + name
}

// pathOf returns the API path of a manifest.
func pathOf(obj any) (string, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return deploymentPath(o.Namespace, o.Name), nil
	case *corev1.Service:
		return servicePath(o.Namespace, o.Name), nil
	case *corev1.Secret:
		return secretPath(o.Namespace, o.Name), nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		return hpaPath(o.Namespace, o.Name), nil
	}
	return "", fmt.Errorf("no API path for %T", obj)
}

var _ hosts.Host = (*Host)(nil)
