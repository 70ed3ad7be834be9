// Package hosts is where weir's engine is deployed: a local process, a
// container, a VM, a remote endpoint or Kubernetes. Each host deploys the
// same static weir binary and a content-addressed bundle of a flow and its
// plugins (package bundle), running `weir serve` (package endpoint), and
// reaches the engine only through its public API.
//
// Host is what every host implements: deploy a bundle and wait until it is
// ready, report its status, show its logs, delete it; an Exporter also
// writes what it would deploy instead (an image, manifests, cloud-init).
// Store keeps what was deployed, one JSON file per deployment, and
// Store.Deploy deploys and records as one step that leaves nothing behind
// when it fails; BuildBundle and OpenBundle give it the bundle. The hosts
// are in the packages below this one: local, container, vm, kubernetes and
// endpoint, each with a Kind that a Registry, built per use, makes hosts of
// by name from Settings. A host ships only a weir binary that can run on
// a machine that has nothing else: static, Linux, the right architecture.
package hosts
