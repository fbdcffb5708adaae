// Package shim is vigil's containerd shim v2: it wraps the upstream runc task
// service (github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2)
// and adds behaviour around it, the way containerd's own failpoint shim does.
//
// On Create it gathers the container's facts (image, labels, namespace) from
// containerd's records and the OCI annotations, lets package policy decide,
// lets package profiles turn the decision into spec edits, rewrites
// <bundle>/config.json atomically and only then calls the inner Create. Between
// Create and Start it registers the container with the node's monitor, so the
// workload's first instruction is already watched. On Delete it unregisters.
//
// It is the only package that knows containerd's task API.
package shim
