// Package monitor is vigil's kernel side: one node-wide set of BPF programs,
// shared by every shim, that classifies each exec in a registered container,
// kills what the container's policy forbids before it runs a single
// instruction, enforces the container's egress policy on its outbound
// connects and datagrams, isolates it from the network on request, and
// reports execs and outbound connections to the shim that registered the
// container.
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
//   - Container.Egress (see Egress for the order of the checks) is written
//     with the container's entry: its allowed ports and CIDRs in maps keyed
//     by the cgroup id, its deny files as one deny set shared node-wide by
//     every container naming the same files (id DenySetID). Register loads
//     the set when it is not loaded or its files changed, under the node
//     lock; a file that cannot be read or parsed (ParseFeed) fails Register.
//   - SyncDenySet(files) re-reads a set's files and, when their contents
//     changed, swaps the kernel's set in one map update: a connect meets the
//     old set or the new one, never a mix or an empty one. A broken file
//     leaves the old set in force. The last Unregister of a set's users
//     removes the set.
//   - SetIsolate(cgid, true) refuses every later connect/sendmsg (EPERM)
//     and, for a cgroup this Monitor registered, attaches a cgroup_skb
//     egress program that drops every packet of the container's sockets,
//     so connections opened before go silent too; when SetIsolate returns,
//     isolation is in force.
//   - Unregister(cgid) removes every entry and attachment of cgid.
//   - Events() delivers event.Event values (Execve, Connect) of this
//     Monitor's cgroups only; KernelAction is "killed" or "denied" when the
//     kernel acted, "denied-audit" for a connect an egress policy in audit
//     mode let through, and KernelReason says why a connect was refused
//     ("isolated", "deny-list", "port", "cidr").
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
//     too.
//   - #! scripts: bprm->file is the interpreter, and exec_binprm has
//     already dropped the script's own file (bprm->executable is set only
//     for binfmt_misc's open-binary mode). Its release is still pending on
//     the task's task_works (a deferred ____fput) when the hook runs, so the
//     hook walks that list (only when bprm->interp differs from
//     bprm->filename, i.e. for scripts) and judges the earliest queued file
//     opened for exec (f_flags & __FMODE_EXEC) as the script: a script
//     written into the container is drift. Only files whose last reference
//     the task dropped itself are queued; a list longer than 4096 entries
//     fails closed (the script counts as upper layer). ____fput's address
//     comes from kallsyms; where addresses are hidden, scripts are judged by
//     their interpreter only.
//   - Multi-call binaries: the argv scan decides the applet as busybox
//     does (argv[0] without one leading '-', its last path component; while
//     that names the multiplexer, "busybox*", "toybox*" or the file's own
//     name, the next argument's), so "busybox /bin/sh", "busybox busybox
//     sh" and argv[0] "-sh" or "busybox-x" are all sh.
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
//
// # Egress
//
// The connect4/6 and sendmsg4/6 programs see TCP connects, UDP connects and
// unconnected UDP datagrams of a container's sockets (the cgroup a socket was
// created in), before any packet leaves. Addresses are kept as 16 bytes,
// IPv4 as IPv4-mapped IPv6, so one trie serves both families and a connect6
// to ::ffff:a.b.c.d meets the IPv4 entries. Per call, a container with an
// egress policy costs a port hash lookup, an LPM lookup in egress_allow
// (keyed by cgroup id then address) and, with deny files, one hash-of-maps
// lookup and one LPM lookup in the set's trie. An LPM lookup visits at most
// one node per key bit, about log2(entries) for a feed of scattered
// addresses: test/bench measures it flat from 10 to 100,000 entries. A deny
// set's
// trie takes 41 bytes per entry as the kernel accounts it (4.1 MB for
// 100,000), once per node; it loads in ~150 ms.
//
// Loopback and unspecified destinations (127.0.0.0/8, ::1, 0.0.0.0, ::)
// are the container's own network namespace and always allowed; only
// isolation cuts them. A container sharing the host's network namespace
// reaches the host's loopback services this way. Datagrams of a connected
// UDP socket go where its (checked) connect said. Raw and ICMP sockets are
// not checked by the egress policy; isolation's packet hook drops their
// packets too.
package monitor
