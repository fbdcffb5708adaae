// Package monitor is vigil's kernel side: one node-wide set of BPF programs,
// shared by every shim, that classifies each exec in a registered container,
// kills what the container's policy forbids before it runs a single
// instruction, and reports execs and outbound connections to the shim that
// registered the container.
//
// # Contract
//
//   - Open mounts bpffs on the parent of Options.PinRoot when none is there,
//     takes an flock on Options.LockPath, and either loads and pins the
//     program set under <PinRoot>/v1-<hash of the BPF object> or reuses the
//     set already pinned there. Binaries with different objects never mix
//     sets. Each Monitor creates its own 16 KiB ring buffer.
//   - Register(cgid, Container) writes the container's state into maps keyed
//     by its cgroup v2 id (CgroupID, CgroupIDOfPID): call it between runc
//     create and start. It attaches the connect/sendmsg programs to
//     Container.CgroupV2Path. On error it leaves nothing behind.
//   - Unregister(cgid) removes every entry and attachment of cgid.
//   - Events() delivers event.Event values (Execve, Connect) of this
//     Monitor's cgroups only; KernelAction is "killed" or "denied" when the
//     kernel acted.
//   - Close closes this Monitor's descriptors; the pinned programs and the
//     registrations stay, so the kernel keeps enforcing after a shim exits.
//     Unload removes the pins (tests, uninstall).
//   - Features probes the kernel and says why a feature is missing.
//
// # Kernel side
//
// The host pays nothing per syscall: there are no syscall tracepoints. The
// exec hook is tp_btf/sched_process_exec, which returns after one hash
// lookup for processes outside registered cgroups (plus one per cgroup level
// when the lookup misses, so processes in sub-cgroups of a container are
// still attributed to it). The socket programs run only in cgroups they are
// attached to. Per exec the hook reads the comm, up to 5 ancestors' comms,
// bprm->filename, the first 512 bytes of argv, the tty, and the executed
// file's (s_dev, i_ino), then computes class bits from the per-container
// name and inode maps and from argv markers (see the Class constants), and
// sends SIGKILL when the container enforces and the class intersects its
// KillMask (the entrypoint only with KillEntrypoint). A killed exec never
// returns to user space.
//
// Facts established on the development kernel (6.18, tests in this package):
//
//   - Overlay executables: bprm->file's inode is the overlay inode. Its
//     (i_sb->s_dev, i_ino) equals stat() through the mounted overlay (st_dev
//     converted with KernelDev, st_ino) when all layers share one file system,
//     as with containerd's overlay snapshotter; with layers on different file
//     systems stat() reports per-layer pseudo devices and RootfsExes returns
//     ErrExeKeyMismatch. "Upper layer" is ovl_inode.__upperdentry != NULL
//     (reached with container_of from the vfs inode, after checking
//     s_magic == OVERLAYFS_SUPER_MAGIC), so a lower file copied up is upper
//     too. For a #! script the executed file is the interpreter.
//   - runc: with cgroup v2 unified, runc exec uses clone3(CLONE_INTO_CGROUP),
//     so "runc init" (runc re-executing a sealed memfd/overlay copy of
//     itself) execs inside the container's cgroup, while still in the host's
//     mount namespace and as a child of the runc process outside the
//     container. The hook skips exactly those execs (mount namespace differs
//     from the container's, taken from /proc/<InitTGID>/ns/mnt, and the
//     parent is outside the cgroup) and counts them in
//     KernelStats.RuntimeSkipped. A workload cannot forge both: leaving the
//     mount namespace needs CAP_SYS_ADMIN and its parent is always inside the
//     container. On a hybrid (v1 + v2) host runc joins the cgroup after that
//     exec, so the hook does not see it at all. Containers that share the
//     host's mount namespace are not supported by this rule.
//   - Refused on this kernel: fentry/fexit, fmod_ret and lsm programs fail
//     BPF_PROG_LOAD with EPERM before verification (empty verifier log;
//     active LSMs lockdown,capability,landlock,bpf; lockdown=integrity), so
//     no LSM program is shipped; Features reports it.
//   - Kernel memory: ~1.1 MiB node-wide (hash bucket arrays, sized for 4096
//     containers), and per container its map entries (~5 KiB for ~50 names
//     and 8 executables) plus its shim's ring buffer (29 KiB accounted for
//     16 KiB of data): ~34 KiB, measured by MeasureContainerMemory.
//   - Register costs one RCU grace period (~5-15 ms): updating a
//     hash-of-maps waits for running programs.
package monitor
