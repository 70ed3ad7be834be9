// Package kubernetes deploys bundles to a Kubernetes cluster: it builds
// the container host's image, pushes it to a registry the cluster pulls
// from, and applies typed manifests built from the Kubernetes API types (a
// Deployment of weir serve with readiness, liveness and startup probes,
// resources and a locked-down security context; a Service; a
// HorizontalPodAutoscaler) with server-side apply and the user's
// kubeconfig. The pods run the image by digest, so a dry run (Render)
// shows the digest that the push will make.
//
// The client is client-go's kubeconfig loading and authenticated
// transport (certificates, tokens, exec plugins) with a few REST calls on
// top, not client-go's typed clients: those pull in the apply
// configurations and OpenAPI models of every API group, about 15 MB more
// in a weir binary that ships inside every image.
//
// What is tested here and what is not: no cluster runs on the machines
// that test weir. The manifests are checked through the API types (read
// back by client-go's decoder; probes, labels, selector, image by digest,
// resources, security context, autoscaler), the push goes to a real
// registry served on loopback, and the client's requests (server-side
// apply, rollout wait, cleanup of a failed rollout, removal of an
// autoscaler no longer wanted, refusal to take over objects weir did not
// make, status, logs, delete, kubeconfig and context loading) are checked
// against a stand-in API server over TLS on loopback. Not run: a real API
// server (its validation, admission, server-side apply merging and RBAC),
// a rollout on real nodes (pulling the image, the probes against a
// running weir serve, the read-only root file system), the autoscaler
// scaling, and kubeconfigs that authenticate with exec plugins or client
// certificates.
package kubernetes
