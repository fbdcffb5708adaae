// Package shim is vigil's containerd shim v2: it wraps the upstream runc task
// service (github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2)
// and adds behaviour around it, the way containerd's own failpoint shim does.
//
// On Create it gathers the container's facts (image, labels, namespace) from
// containerd's records and the OCI annotations, lets package policy decide,
// lets package profiles turn the decision into spec edits, rewrites
// <bundle>/config.json atomically and only then calls the inner Create. Between
// Create and Start it registers the container with the node's monitor, so the
// workload's first instruction is already watched, with its egress policy
// (deny files are watched and reloaded when they change). On Delete it
// unregisters.
//
// Each rule match is an alert; the policy's response section adds actions
// by priority, carried out in the order forensics (a bundle written by
// package monitor/response before anything else happens), isolate (no
// network, the container keeps running), kill, then alert delivery. Without
// a response section a match kills when rules.Decide says so, as before. A
// connect the egress policy refuses is an "Egress Denied by Policy" alert.
//
// It is the only package that knows containerd's task API.
package shim
