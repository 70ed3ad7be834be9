// Package kubernetes deploys bundles to a Kubernetes cluster: it builds
// the container host's image, pushes it to a registry the cluster pulls
// from, and applies typed manifests built from the Kubernetes API types (a
// Deployment of weir serve with readiness, liveness and startup probes,
// resources and a locked-down security context; a Service; a
// HorizontalPodAutoscaler) with server-side apply and the user's
// kubeconfig.
//
// What is tested here and what is not: no cluster runs on the machines
// that test weir. The manifests are checked through the API types (probes,
// labels, selector, image by digest, resources, security context,
// autoscaler), the push goes to a real registry served on loopback, and
// the client's requests (server-side apply, rollout wait, status, logs,
// delete, kubeconfig and context loading) are checked against a stand-in
// API server on loopback. Applying to a real API server, its admission
// and a rollout on real nodes are not run.
package kubernetes
