// Package harness runs vigil for real: it builds containerd, ctr and runc at
// the versions go.mod pins, builds vigil's own binaries, builds a busybox OCI
// image from Debian's busybox-static, and starts a private containerd in a
// temporary root that is removed afterwards. The end-to-end tests, `make
// demo` and `make bench` all stand on it.
package harness
