// Package install puts vigil on a containerd node, the way `nvidia-ctk
// runtime configure` does for NVIDIA's runtime.
//
// Configure edits a containerd configuration file's text: it appends the
// CRI runtime handler table for vigil (runtime_type io.containerd.vigil.v2)
// when it is absent and changes nothing else, so comments, ordering and
// every other setting survive byte for byte. It never re-serializes the
// file. It is idempotent: a file that already has the handler is returned
// unchanged. It understands config version 3 (containerd 2.x, the CRI
// runtime plugin io.containerd.cri.v1.runtime) and version 2 (containerd
// 1.x and 2.0 before migration, the io.containerd.grpc.v1.cri plugin); a
// version 1 file is refused (ErrUnsupportedVersion). The handler copies
// SystemdCgroup from the default runtime handler, because kubelet's cgroup
// driver must be the same for every handler, and names the policy file
// with VigilConfigPath (not ConfigPath: containerd's CRI sends a handler's
// options table only when it has no ConfigPath). Configure is pure: it
// reads and writes no file.
//
// InstallBinary and WriteDefaultPolicy do the file work: copy vigil's
// binaries atomically, and write the default policy file only when none
// exists (mode 0600, owned by root).
package install
