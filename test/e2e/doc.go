// Package e2e holds vigil's end-to-end tests: a private containerd (package
// harness) running real containers under io.containerd.vigil.v2 with runc
// 1.5, on this kernel. They need root; they skip with the reason otherwise.
package e2e
