// Package hosts is where weir's engine is deployed: a local process, a
// container, a VM, a remote endpoint or Kubernetes. Each host deploys the
// same static weir binary and a content-addressed bundle of a flow and its
// plugins (package bundle), running `weir serve` (package endpoint), and
// reaches the engine only through its public API.
//
// Host is what every host implements: deploy a bundle and wait until it is
// ready, report its status, show its logs, delete it. Store keeps what the
// command line deployed, one JSON file per deployment. The hosts are in the
// packages below this one: local, container, vm, kubernetes and endpoint.
// ShippableBinary checks that a weir binary can run on a machine that has
// nothing else: static, Linux, the right architecture.
package hosts
