// Package hosts is where weir's engine is deployed: a local process, a
// container, a VM, a remote endpoint or Kubernetes. Each host deploys the
// same static weir binary and a content-addressed bundle of a flow and its
// plugins, and reaches the engine only through its public API.
//
// The runtime server and the hosts come in the packages below this one.
package hosts
