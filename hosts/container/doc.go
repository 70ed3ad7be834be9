// Package container deploys bundles as containers: it builds an OCI image
// with no base image (the static weir binary and the bundle, weir serve as
// the entrypoint), writes it as a tarball for any registry, or loads it
// into the local Docker engine and runs it through the Engine API.
package container
