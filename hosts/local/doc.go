// Package local deploys a bundle as a `weir serve` child process on this
// machine: the host that needs nothing else, for trying a deployment out
// and for tests.
package local
