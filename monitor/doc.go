// Package monitor is vigil's kernel side: one node-wide set of BPF programs,
// shared by every shim, that classifies each exec in a registered container,
// stops what the container's policy forbids before it runs a single
// instruction (refused with EPERM where the kernel allows BPF LSM, killed
// otherwise), enforces the container's egress policy on its outbound
// connects and datagrams, isolates it from the network on request, and
// reports execs and outbound connections to the shim that registered the
// container.
//
// # Contract
//
//   - Open mounts bpffs on the parent of Options.PinRoot when none is there,
//     takes an flock on Options.LockPath, and either loads and pins the
//     program set under <PinRoot>/v1-<hash of the BPF objects> or reuses the
//     set already pinned there. Binaries with different objects never mix
//     sets. Each Monitor creates its own 16 KiB ring buffer and enters it in
//     event_rings under its ring id (the process id in the high 32 bits) at
//     Open, so the RCU grace period that entering it costs (a map-in-map
//     update waits for running programs) is paid once per shim, in Open,
//     and never by Register. The loader
//     attaches the LSM exec hook too when the kernel allows it (see Exec
//     enforcement); when it does not, Open still succeeds and Options.Logf
//     says why, once per process.
//   - ExecEnforcement reports the set's exec path: ExecLSM ("lsm") or
//     ExecTracepoint ("tracepoint"); ExecEnforcementReason why it is not
//     LSM. FeatureReport.ExecEnforcement predicts it without a Monitor.
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
//     Monitor's cgroups only; KernelAction is "killed" (exec, tracepoint) or
//     "denied" (exec refused by the LSM hook, connect) when the kernel
//     acted, "denied-audit" for a connect an egress policy in audit
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
// returns to user space. Where the kernel allows it, an LSM hook refuses
// those execs before they happen instead (next section).
//
// # Exec enforcement
//
// With BPF LSM (CONFIG_BPF_LSM, "bpf" among the active LSMs, no lockdown
// refusing LSM programs), the loader adds lsm/bprm_check_security from a
// second object (monitor/bpf/vigil_lsm.bpf.c) loaded on the set's maps and
// pinned beside it (link_lsm): still one program set per node. It makes the
// tracepoint's decision, with the same code (exec_judge in
// monitor/bpf/vigil.h) on the same inputs, before the exec: a forbidden
// exec fails with EPERM, the calling process keeps running (a shell gets
// "Operation not permitted"), the new program never exists, and the event
// says KernelAction "denied" (KernelStats.ExecsDenied counts them). Audit
// mode and allowed execs are unchanged: the hook reports only what it
// refuses, and the tracepoint, which stays attached, reports every exec
// that happens and still kills whatever the hook let through. A refused
// exec never completes, so the tracepoint never sees it.
//
// What is refused and what is killed:
//
//   - LSM path: every exec the policy forbids is refused (EPERM), the
//     container's entrypoint with KillEntrypoint included (runc start then
//     fails instead of the container dying). The tracepoint kills an exec
//     only when the hook saw less than it does: argv unreadable (below).
//   - Tracepoint path (no BPF LSM): every exec the policy forbids is killed
//     (SIGKILL) after it replaced the image, before its first instruction.
//
// Where the hook finds what the tracepoint reads from the new image:
//
//   - The hook runs once per binary handler round (a #! script, then its
//     interpreter). It judges the round that loads an ELF image, the one
//     the tracepoint sees: same bprm->file, filename and interp, and the
//     script's pending ____fput on task_works (see #! scripts below).
//   - comm is the one begin_new_exec will set: kbasename(bprm->filename),
//     or the file's dentry name when bprm->comm_from_dentry (execveat of a
//     descriptor with an empty path; 6.14, backported to Debian's 6.1).
//   - argv: the strings are at bprm->p in the new mm, which is not current
//     yet, so the hook reads them through the new mm's page tables and the
//     direct map (x86-64; 5-level paging when bprm->p is above 4-level's
//     user space; page_offset_base and physical_mask from kallsyms, which
//     needs CONFIG_KALLSYMS_ALL where memory is randomized). It stops at
//     the argc-th string, so argv and its 512-byte cut are the tracepoint's.
//     Every translation is checked against the page table's own direct map
//     address; when it fails the hook judges without argv, which can only
//     drop classes (classes only add up), and the tracepoint kills.
//   - AT_EXECVE_CHECK (6.14) asks the LSMs without executing: a forbidden
//     file is reported "denied" and the check fails with EPERM.
//
// Features().LSM gates the hook: an allow-all program must load and attach
// to bprm_check_security, and a program on lsm/bpf must run on the next
// bpf(2) call (a kernel built with BPF LSM attaches LSM programs even when
// "bpf" is not active, and then never calls them). Then the real object
// must pass the verifier and attach; any failure leaves the tracepoint
// alone (ExecEnforcementReason, logged once). TestLSMHookVerifies runs the
// hook through the verifier even where LSM programs are refused (as a
// tp_btf program, never attached).
//
// Tested in a VM (test/vm, TestLSMExecEnforcementOnDebianKernel): Debian
// 12's kernel 6.1.0-57-amd64 (6.1.192-3, CONFIG_BPF_LSM=y,
// CONFIG_KALLSYMS_ALL=y, memory randomization on) booted by qemu 7.2 with
// "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1
// oops=panic quiet loglevel=4", once with 5-level paging (TCG's max CPU has
// la57), once with no5lvl (4-level), and once without bpf in lsm= (the
// monitor falls back to the tracepoint and the kill tests pass). On the
// development machine /dev/kvm is PVM, which cannot boot a stock kernel
// (the boot emulates most instructions and dies on lock cmpxchg16b and
// xrstor), so qemu runs under TCG there; elsewhere it uses KVM. Measured
// there (TCG, so slower than native):
//
//   - a refused execve returns EPERM 0.4-1.7 ms after the call (median
//     0.7-0.9 ms over runs); from the call to the parent's wait returning,
//     a median of 3.4-4.1 ms on the LSM path against 4.6-5.6 ms for the
//     tracepoint's kill, each in its own boot of the same VM. On the
//     development kernel (native, tracepoint) that is 0.9-1.4 ms.
//   - the LSM hook runs ~180 µs per exec in a container (bpf stats, TCG),
//     as long as the tracepoint there (~170 µs; ~24 µs natively on 6.18):
//     the page table walk costs little next to the rest of the judgment.
//   - the hook's view equals the tracepoint's for shells by name, argv
//     markers, argv cut at 512 bytes and of exactly 512 bytes, paths longer
//     than 256 bytes, memfd execs, upper-layer binaries and scripts, and
//     busybox applets (TestLSMSameDecisionAsTracepoint), with 4- and 5-level
//     paging.
//
// The main set loads on 6.1 too: fput's task_works entry is f_task_work
// from 6.7, f_rcuhead (an anonymous union member) from 6.0 and f_u
// before, chosen by CO-RE; ovl_inode comes from the overlay module's BTF
// when overlay is a module (without it there is no overlay mount to judge);
// and comm is NUL-padded before bpf_get_current_comm, which pads only on
// newer kernels (on 6.1 the previous exec's bytes made name lookups miss).
// The package's tests pass there with the tracepoint path (test/vm's
// TestMonitorSuiteOnDebianKernel, opt-in), except two that need what the
// guest lacks: TestKernelMemoryPerContainer (6.1 reports no map memory use)
// and TestEgressPolicy (iproute2's ip).
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
//     the LSM exec hook is not attached: ExecEnforcement is "tracepoint",
//     Features reports why (TestExecEnforcementPath).
//   - Kernel memory: ~1.1 MiB node-wide (hash bucket arrays, sized for 4096
//     containers; each exec hook adds a 1.5 KiB per-CPU scratch), and per
//     container its map entries (~5 KiB for ~50 names
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
