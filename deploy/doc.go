// Package deploy holds vigil's Kubernetes manifests: the vigil-system
// namespace, the RuntimeClass "vigil", the ConfigMap with the policy file
// and extra Falco rules, and the installer DaemonSet that puts vigil on
// every node (see docs/kubernetes.md). Manifests embeds them so tools can
// print or apply them; the package test decodes each one strictly with the
// Kubernetes API types and loads the ConfigMap's policy and rules with
// vigil's own loaders.
package deploy

import "embed"

// Manifests holds every *.yaml file of this directory.
//
//go:embed *.yaml
var Manifests embed.FS
