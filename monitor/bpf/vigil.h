// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// What vigil's two exec hooks share: the records, the per-container maps and
// the exec decision. vigil.bpf.c's tp_btf/sched_process_exec kills (SIGKILL)
// after the exec; vigil_lsm.bpf.c's lsm/bprm_check_security refuses it
// (EPERM) before. Both call exec_judge, which reads the same inputs from the
// kernel and makes the same decision: only where each hook finds its inputs
// (comm, argv) differs. Each object gets its own copy of the maps below;
// user space loads the LSM object with the main object's maps in their
// place, so the two share one set.

#ifndef VIGIL_H
#define VIGIL_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#define TASK_COMM_LEN 16
#define FILENAME_LEN 256
#define ARGV_LEN 512 /* power of two: scan offsets are masked with ARGV_LEN-1 */
#define ANCESTORS 5
#define CGROUP_WALK 16
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define SIGKILL 9
#define EPERM 1
#define AF_INET 2
#define AF_INET6 10

/* Exported to Go through bpf2go -type. */

enum event_type {
	EVENT_EXEC = 1,
	EVENT_CONNECT = 2,
};

/* container_cfg.flags */
enum cfg_flags {
	CFG_ENFORCE = 1 << 0,
	CFG_AUDIT = 1 << 1,
	CFG_KILL_ENTRYPOINT = 1 << 2,
};

/* container_cfg.egress_flags */
enum egress_flags {
	EGRESS_ISOLATE = 1 << 0, /* every connect, datagram and packet refused */
	EGRESS_ENFORCE = 1 << 1, /* policy violations fail with EPERM */
	EGRESS_AUDIT = 1 << 2,   /* policy violations are only reported */
	EGRESS_PORTS = 1 << 3,   /* the destination port must be in egress_ports */
	EGRESS_CIDRS = 1 << 4,   /* the destination must be in egress_allow */
};

/* Class bits: the low 16 come from the rule set's names, the rest are
 * derived by the kernel program. */
enum class_bits {
	CLASS_SHELL = 1 << 0,
	CLASS_PKGMGR = 1 << 1,
	CLASS_MINER = 1 << 2,
	CLASS_NETTOOL = 1 << 3,
	CLASS_INTERPRETER = 1 << 4,
	CLASS_COMPILER = 1 << 5,
	CLASS_RECON = 1 << 6,
	CLASS_REVSHELL = 1 << 16,
	CLASS_DRIFT = 1 << 17,
	CLASS_MULTICALL = 1 << 18,
};

/* event flags */
enum event_flags {
	EV_UPPER = 1 << 0,
	EV_MEMFD = 1 << 1,
	EV_DELETED = 1 << 2,
	EV_ENTRYPOINT = 1 << 3,
	EV_KILLED = 1 << 4,
	EV_DENIED = 1 << 5, /* exec refused by the LSM hook, connect refused */
	EV_ARGV_TRUNCATED = 1 << 6,
	EV_SENDMSG = 1 << 7,
	EV_DENIED_AUDIT = 1 << 8, /* audit mode: the policy would have refused */
	/* why a connect was (or would have been) refused */
	EV_WHY_ISOLATED = 1 << 9,
	EV_WHY_DENY_SET = 1 << 10,
	EV_WHY_PORT = 1 << 11,
	EV_WHY_CIDR = 1 << 12,
};

/* per-CPU counters in the stats map */
enum stat_index {
	STAT_EXEC = 0,     /* execs seen in monitored containers */
	STAT_CONNECT,      /* socket hook invocations in monitored containers */
	STAT_DROPS,        /* ring buffer full */
	STAT_NO_RINGBUF,   /* container without a ring buffer */
	STAT_KILLS,        /* SIGKILL sent */
	STAT_RUNTIME,      /* container runtime's own execs (runc init), skipped */
	STAT_EGRESS_DENIED, /* connects/datagrams refused by an egress policy or isolation */
	STAT_ISOLATED_DROPS, /* packets of isolated containers dropped by the skb hook */
	STAT_EXEC_DENIED,  /* execs refused (EPERM) by the LSM hook */
	STAT_MAX,
};

struct container_cfg {
	__u32 flags;        /* enum cfg_flags */
	__u32 kill_mask;    /* classes killed in the kernel when CFG_ENFORCE */
	__u32 init_tgid;    /* host tgid of the container's init */
	__u32 egress_flags; /* enum egress_flags */
	__u32 mntns;        /* inode of the container's mount namespace */
	__u32 _pad;
	__u64 events;       /* records submitted (kernel counter) */
	__u64 drops;        /* records lost: ring buffer full (kernel counter) */
	__u64 deny_set;     /* id of the container's deny set in deny_sets, 0 for none */
	__u64 ring;         /* id of its shim's ring buffer in event_rings */
};

struct name_key {
	__u64 cgid;
	char name[TASK_COMM_LEN];
};

struct exe_key {
	__u64 cgid;
	__u64 dev; /* kernel dev_t of the inode's super block: MAJOR<<20|MINOR */
	__u64 ino;
};

struct exec_event {
	__u32 type;  /* EVENT_EXEC */
	__u32 flags; /* enum event_flags */
	__u64 cgid;
	__u64 ts;    /* bpf_ktime_get_boot_ns */
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 class; /* enum class_bits */
	__u32 tty;   /* tty_nr as in /proc/<pid>/stat, 0 without a terminal */
	__u32 argv_len;
	__u64 exe_dev;
	__u64 exe_ino;
	char comm[TASK_COMM_LEN];
	char ancestors[ANCESTORS][TASK_COMM_LEN];
	char filename[FILENAME_LEN];
	char argv[ARGV_LEN]; /* NUL-separated; only argv_len bytes are submitted */
};

enum markers {
	M_DASH_I = 1 << 0,  /* an argument equal to "-i" */
	M_DASH_E = 1 << 1,  /* an argument equal to "-e" */
	M_DEV_NET = 1 << 2, /* "/dev/tcp/" or "/dev/udp/" anywhere */
	M_STRATUM = 1 << 3, /* "stratum+tcp://" or "stratum+ssl://" anywhere */
};

/* The argv scan also finds what a multi-call binary (busybox) will run,
 * the way busybox decides it: argv[0] without one leading '-', its last
 * path component; while that names the multiplexer itself ("busybox*",
 * "toybox*", or the executed file's own name), the last path component of
 * the next argument ("busybox busybox /bin/sh -c ..." runs sh). */
struct scan_ctx {
	__u32 argi;
	__u32 arg_start;
	__u32 base;         /* start of the current argument's last path component */
	__u32 cand;         /* the argument that may name the applet */
	__u32 applet_start; /* argv[applet_start:applet_end) names the applet */
	__u32 applet_end;
	__u32 resolved;
	__u32 markers;
	__u32 argc;         /* stop after this many arguments (0: scan every byte) */
	__u32 _pad;
};

/* The exec record is built here (too big for the stack). pad keeps the
 * masked look-ahead of the argv scan and the LSM hook's second page of
 * argv inside the value. The scan state lives in the map value too: the
 * verifier does not track values in map memory, so the bpf_loop callback
 * converges at once. */
struct scratch {
	struct exec_event ev;
	char pad[ARGV_LEN];
	struct scan_ctx sc;
	char self[TASK_COMM_LEN]; /* the executed file's own name */
};

/* ---- maps ----
 * Hashes are not preallocated: an entry costs memory only while it exists.
 * The bucket arrays (16 B per max entry, rounded to a power of two) are the
 * node-wide fixed cost, about 1.1 MiB for the sizes here and in
 * vigil.bpf.c. Capacity: 4096 containers, 32768 names (~600 containers with
 * ~50 names each), 8192 executables. */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct container_cfg);
} containers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, struct name_key);
	__type(value, __u32);
} name_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct exe_key);
	__type(value, __u32);
} exe_class SEC(".maps");

struct events_rb {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__array(values, struct events_rb);
} event_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* ---- helpers ---- */

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

/* lookup_container finds the container of the current task: its own cgroup
 * first (the common case, one hash lookup), then its ancestors so that a
 * process in a sub-cgroup of a container is still attributed to it.
 * max_level bounds the walk (the current cgroup's level when known). */
static __always_inline struct container_cfg *lookup_container(__u64 *cgid, int max_level)
{
	__u64 id = bpf_get_current_cgroup_id();
	struct container_cfg *cfg = bpf_map_lookup_elem(&containers, &id);
	if (cfg) {
		*cgid = id;
		return cfg;
	}
	/* Only scalars cross iterations, so the verifier's states stay equal. */
	__u64 best = 0;
	for (int lvl = 1; lvl < CGROUP_WALK; lvl++) {
		if (lvl >= max_level)
			break;
		__u64 aid = bpf_get_current_ancestor_cgroup_id(lvl);
		if (aid == 0)
			break;
		/* deepest registered ancestor wins */
		if (bpf_map_lookup_elem(&containers, &aid))
			best = aid;
	}
	if (best == 0)
		return 0;
	*cgid = best;
	return bpf_map_lookup_elem(&containers, &best);
}

static __always_inline int submit(void *rec, __u64 size, __u64 cgid, struct container_cfg *cfg)
{
	void *rb = bpf_map_lookup_elem(&event_rings, &cfg->ring);
	if (!rb) {
		stat_inc(STAT_NO_RINGBUF);
		return -1;
	}
	if (bpf_ringbuf_output(rb, rec, size, 0) < 0) {
		stat_inc(STAT_DROPS);
		__sync_fetch_and_add(&cfg->drops, 1);
		return -1;
	}
	__sync_fetch_and_add(&cfg->events, 1);
	return 0;
}

/* ---- argv scan ---- */

/* multiplexer says whether argv[st:end) names a multi-call binary's own
 * entry point rather than an applet: a name starting with "busybox" or
 * "toybox" (both dispatch on that prefix), or the executed file's name. */
static __always_inline bool multiplexer(const char *b, __u32 st, __u32 end, const char *self)
{
	char n[TASK_COMM_LEN] = {};
#pragma unroll
	for (int j = 0; j < TASK_COMM_LEN - 1; j++) {
		__u32 idx = st + j;
		if (idx >= end)
			break;
		n[j] = b[idx & (ARGV_LEN - 1)];
	}
	if (n[0] == 'b' && n[1] == 'u' && n[2] == 's' && n[3] == 'y' && n[4] == 'b' && n[5] == 'o' && n[6] == 'x')
		return true;
	if (n[0] == 't' && n[1] == 'o' && n[2] == 'y' && n[3] == 'b' && n[4] == 'o' && n[5] == 'x')
		return true;
	if (end - st >= TASK_COMM_LEN || n[0] == 0)
		return false;
	bool eq = true;
#pragma unroll
	for (int j = 0; j < TASK_COMM_LEN; j++)
		if (n[j] != self[j])
			eq = false;
	return eq;
}

static long scan_cb(__u32 i, void *unused)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 1;
	struct scan_ctx *c = &s->sc;
	char *b = s->ev.argv;
	__u32 p = i & (ARGV_LEN - 1);
	char ch = b[p];

	if (ch == 0) {
		if (!c->resolved && c->argi == c->cand) {
			__u32 st = c->base;
			/* busybox drops one '-' from argv[0] (a login shell's "-sh") */
			if (c->argi == 0 && st == 0 && b[0] == '-')
				st = 1;
			if (multiplexer(b, st, p, s->self)) {
				c->cand = c->argi + 1;
			} else {
				c->applet_start = st;
				c->applet_end = p;
				c->resolved = 1;
			}
		}
		c->argi++;
		c->arg_start = p + 1;
		c->base = p + 1;
		/* the LSM hook's buffer goes on with the environment */
		return c->argi == c->argc;
	}
	if (ch == '/')
		c->base = p + 1;
	if (p == c->arg_start && ch == '-' && b[p + 2] == 0) {
		if (b[p + 1] == 'i')
			c->markers |= M_DASH_I;
		else if (b[p + 1] == 'e')
			c->markers |= M_DASH_E;
	}
	if (ch == '/' && b[p + 1] == 'd' && b[p + 2] == 'e' && b[p + 3] == 'v' &&
	    b[p + 4] == '/' && ((b[p + 5] == 't' && b[p + 6] == 'c') || (b[p + 5] == 'u' && b[p + 6] == 'd')) &&
	    b[p + 7] == 'p' && b[p + 8] == '/')
		c->markers |= M_DEV_NET;
	if (ch == 's' && b[p + 1] == 't' && b[p + 2] == 'r' && b[p + 3] == 'a' && b[p + 4] == 't' &&
	    b[p + 5] == 'u' && b[p + 6] == 'm' && b[p + 7] == '+' && b[p + 11] == ':' &&
	    b[p + 12] == '/' && b[p + 13] == '/' &&
	    ((b[p + 8] == 't' && b[p + 9] == 'c' && b[p + 10] == 'p') ||
	     (b[p + 8] == 's' && b[p + 9] == 's' && b[p + 10] == 'l')))
		c->markers |= M_STRATUM;
	return 0;
}

/* copy_name copies argv[start:end) (at most 15 bytes) into a zeroed key name. */
static __always_inline void copy_name(char *dst, const char *b, __u32 start, __u32 end)
{
#pragma unroll
	for (int j = 0; j < TASK_COMM_LEN - 1; j++) {
		__u32 idx = start + j;
		if (idx >= end)
			break;
		dst[j] = b[idx & (ARGV_LEN - 1)];
	}
}

static __always_inline __u32 name_lookup(__u64 cgid, const char *name)
{
	struct name_key k = {.cgid = cgid};
	__builtin_memcpy(k.name, name, TASK_COMM_LEN);
	__u32 *v = bpf_map_lookup_elem(&name_class, &k);
	return v ? *v : 0;
}

static __always_inline __u32 tty_nr(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	__u32 major = BPF_CORE_READ(tty, driver, major);
	__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	/* new_encode_dev, as /proc/<pid>/stat's tty_nr */
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

/* file_origin says where an executable file comes from: the overlay's
 * upper layer (written or copied up in the container), a memfd, or a file
 * with no name left. ovl_inode is in the overlay module's BTF when overlay
 * is a module: without it loaded there is no overlay mount to look at. */
static __always_inline __u32 file_origin(struct file *file)
{
	__u32 flags = 0;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	if (bpf_core_type_exists(struct ovl_inode) && BPF_CORE_READ(sb, s_magic) == OVERLAYFS_SUPER_MAGIC) {
		struct ovl_inode *oi = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
		if (BPF_CORE_READ(oi, __upperdentry))
			flags |= EV_UPPER;
	}
	if (BPF_CORE_READ(inode, __i_nlink) == 0)
		flags |= EV_DELETED;
	char dname[TASK_COMM_LEN] = {};
	bpf_probe_read_kernel_str(dname, sizeof(dname), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (dname[0] == 'm' && dname[1] == 'e' && dname[2] == 'm' && dname[3] == 'f' && dname[4] == 'd' &&
	    dname[5] == ':')
		flags |= EV_MEMFD;
	return flags;
}

/* The kernel's deferred-release callback for files: a file whose last
 * reference a task drops is released when the task returns to user space,
 * through ____fput queued on task->task_works. Weak: without it (kallsyms
 * hidden) scripts are judged by their interpreter only. */
extern void ____fput __ksym __weak;

#define __FMODE_EXEC 0x20 /* in f_flags: opened by exec (open_exec) */
#define TASK_WORKS_WALK 4096

/* fput queues the file's f_task_work (6.7 and later), f_rcuhead (6.0 to
 * 6.6, an anonymous union member) or f_u.fu_rcuhead (before). */
struct file___v60 {
	struct callback_head f_rcuhead;
} __attribute__((preserve_access_index));

struct file___old {
	union {
		struct llist_node fu_llist;
		struct callback_head fu_rcuhead;
	} f_u;
} __attribute__((preserve_access_index));

/* The walk's state. The callback reads kernel memory at offsets the
 * caller relocated (CO-RE relocations in a bpf_loop callback are not
 * resolved by the loader). */
struct works_walk {
	void *cb; /* struct callback_head * */
	void *script; /* struct file * */
	__u64 fput_fn;
	__u64 off_func, off_next; /* in struct callback_head */
	__u64 off_work, off_flags; /* in struct file */
};

static long works_cb(__u32 i, void *ctx)
{
	struct works_walk *w = ctx;
	if (!w->cb)
		return 1;
	__u64 fn = 0;
	bpf_probe_read_kernel(&fn, sizeof(fn), w->cb + w->off_func);
	if (fn == w->fput_fn) {
		void *f = w->cb - w->off_work;
		unsigned int flags = 0;
		bpf_probe_read_kernel(&flags, sizeof(flags), f + w->off_flags);
		if (flags & __FMODE_EXEC)
			w->script = f;
	}
	void *next = 0;
	bpf_probe_read_kernel(&next, sizeof(next), w->cb + w->off_next);
	w->cb = next;
	return 0;
}

/* script_origin is file_origin of a #! script's own file. exec_binprm
 * replaces bprm->file with the interpreter and drops the script's file
 * (bprm->executable is set only for binfmt_misc's open-binary mode); its
 * release is still pending on the task's task_works when this hook runs,
 * behind what the new image's setup released later (close-on-exec
 * descriptors, the old program's file). So the script is the earliest
 * queued file opened for exec. A script changes bprm->interp, so other
 * execs skip the walk. Only files whose last reference the task itself
 * dropped are queued; a list longer than the walk (a process that opened
 * thousands of files of its own and then ran a script) fails closed: the
 * script is taken for one in the upper layer. */
static __always_inline __u32 script_origin(struct task_struct *task, struct linux_binprm *bprm, struct file *file)
{
	struct file *script = BPF_CORE_READ(bprm, executable);
	if (script && script != file)
		return file_origin(script);
	if (BPF_CORE_READ(bprm, interp) == BPF_CORE_READ(bprm, filename))
		return 0;
	struct works_walk w = {
		.cb = BPF_CORE_READ(task, task_works),
		.fput_fn = (__u64)&____fput,
		.off_func = bpf_core_field_offset(struct callback_head, func),
		.off_next = bpf_core_field_offset(struct callback_head, next),
		.off_flags = bpf_core_field_offset(struct file, f_flags),
	};
	if (bpf_core_field_exists(struct file, f_task_work))
		w.off_work = bpf_core_field_offset(struct file, f_task_work);
	else if (bpf_core_field_exists(struct file___v60, f_rcuhead))
		w.off_work = bpf_core_field_offset(struct file___v60, f_rcuhead);
	else
		w.off_work = bpf_core_field_offset(struct file___old, f_u);
	if (!w.fput_fn)
		return 0;
	bpf_loop(TASK_WORKS_WALK, works_cb, &w, 0);
	if (w.cb)
		return EV_UPPER;
	return w.script ? file_origin(w.script) : 0;
}

/* ---- where each hook finds comm and argv ---- */

/* The exec tracepoint runs in the new image: comm is set and argv is the
 * user memory mm->arg_start..arg_end. It reads at most ARGV_LEN bytes into
 * s->ev.argv and returns the length of argv (not capped). */
static __always_inline __u64 current_argv(struct scratch *s, struct task_struct *task, __u64 *n)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 arg_start = BPF_CORE_READ(mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
	__u64 rd = len > ARGV_LEN ? ARGV_LEN : len;
	if (rd > 0 && bpf_probe_read_user(s->ev.argv, rd & (2 * ARGV_LEN - 1), (void *)arg_start) < 0)
		len = rd = 0;
	*n = rd;
	return len;
}

/* The LSM hook runs before the new image exists: the strings of argv (then
 * envp) are at bprm->p in the new mm, which is not the current one, so they
 * are read through its page tables and the kernel's direct map (x86-64, 4-
 * or 5-level paging). page_offset_base (the direct map's base, randomized
 * with CONFIG_RANDOMIZE_MEMORY) and physical_mask come from kallsyms
 * (CONFIG_KALLSYMS_ALL); without them the defaults of a kernel without
 * randomization and memory encryption are used. Every translation is
 * checked against the direct map address of the page table itself, so a
 * wrong base reads nothing rather than garbage. */
extern void page_offset_base __ksym __weak;
extern void physical_mask __ksym __weak;

#define PAGE_OFFSET_L4 0xffff888000000000ULL
#define PAGE_OFFSET_L5 0xff11000000000000ULL
#define PAGE_SIZE 4096ULL
#define _PAGE_PRESENT (1ULL << 0)
#define _PAGE_PSE (1ULL << 7)
#define USER_L4_END (1ULL << 47)

struct new_mm {
	__u64 pgd;  /* kernel address of the top-level table */
	__u64 base; /* direct map base */
	__u64 mask; /* physical address bits */
	bool l5;
};

/* pt_translate returns the direct map address of addr in m, 0 when it is
 * not mapped. */
static __always_inline __u64 pt_translate(struct new_mm *m, __u64 addr)
{
	__u64 table = m->pgd;
#pragma unroll
	for (int lvl = 0; lvl < 5; lvl++) {
		const int shift = 48 - 9 * lvl;
		if (lvl == 0 && !m->l5)
			continue;
		__u64 e = 0;
		if (bpf_probe_read_kernel(&e, sizeof(e), (void *)(table + ((addr >> shift) & 511) * 8)) < 0)
			return 0;
		if (!(e & _PAGE_PRESENT))
			return 0;
		__u64 phys = e & m->mask & ~(PAGE_SIZE - 1);
		if (shift == 12)
			return m->base + phys + (addr & (PAGE_SIZE - 1));
		if ((shift == 30 || shift == 21) && (e & _PAGE_PSE)) {
			__u64 sz = 1ULL << shift;
			return m->base + (phys & ~(sz - 1)) + (addr & (sz - 1));
		}
		table = m->base + phys;
	}
	return 0;
}

/* bprm_argv reads up to ARGV_LEN bytes of the new image's argv and envp
 * strings into s->ev.argv and returns how many it read. */
static __always_inline __u64 bprm_argv(struct scratch *s, struct linux_binprm *bprm)
{
	__u64 p = BPF_CORE_READ(bprm, p);
	__u64 end = BPF_CORE_READ(bprm, exec); /* the filename copied above envp */
	if (end <= p)
		return 0;
	__u64 n = end - p;
	if (n > ARGV_LEN)
		n = ARGV_LEN;
	struct new_mm m = {
		.pgd = (__u64)BPF_CORE_READ(bprm, mm, pgd),
		/* the stack of an exec in progress is at STACK_TOP_MAX, above
		 * 4-level paging's user space only with 5-level paging */
		.l5 = p >= USER_L4_END,
		.mask = (1ULL << 52) - 1,
	};
	m.base = m.l5 ? PAGE_OFFSET_L5 : PAGE_OFFSET_L4;
	if (&page_offset_base)
		bpf_probe_read_kernel(&m.base, sizeof(m.base), &page_offset_base);
	if (&physical_mask) {
		__u64 pm = 0;
		if (bpf_probe_read_kernel(&pm, sizeof(pm), &physical_mask) == 0 && pm)
			m.mask &= pm;
	}
	if (pt_translate(&m, m.pgd) != m.pgd)
		return 0;
	__u64 first = PAGE_SIZE - (p & (PAGE_SIZE - 1));
	if (first > n)
		first = n;
	__u64 rest = n - first;
	/* The masks below are no-ops the compiler would drop; the verifier
	 * needs them to bound the reads. */
	barrier_var(first);
	barrier_var(rest);
	__u64 k = pt_translate(&m, p);
	if (!k || bpf_probe_read_kernel(s->ev.argv, first & (2 * ARGV_LEN - 1), (void *)k) < 0)
		return 0;
	if (rest > 0) {
		/* rest > 0 only when first < n <= ARGV_LEN */
		k = pt_translate(&m, p + first);
		if (!k || bpf_probe_read_kernel(s->ev.argv + (first & (ARGV_LEN - 1)), rest & (ARGV_LEN - 1),
						(void *)k) < 0)
			return first;
	}
	return n;
}

/* kbasename's walk over bprm->filename (up to PATH_MAX), in chunks. */
#define BASE_CHUNK 64
struct base_walk {
	const char *name;
	__u32 off;  /* start of the next chunk */
	__u32 base; /* offset after the last '/' */
	char buf[BASE_CHUNK + 1];
};

static long base_cb(__u32 i, void *ctx)
{
	struct base_walk *w = ctx;
	if (bpf_probe_read_kernel_str(w->buf, sizeof(w->buf), w->name + w->off) < 0)
		return 1;
#pragma unroll
	for (int j = 0; j < BASE_CHUNK; j++) {
		char c = w->buf[j];
		if (c == 0)
			return 1;
		if (c == '/')
			w->base = w->off + j + 1;
	}
	w->off += BASE_CHUNK;
	return 0;
}

/* bprm_comm is the comm begin_new_exec will give the task: the executed
 * file's dentry name for an execveat of a descriptor with an empty path
 * (comm_from_dentry: 6.14, and stable kernels it was backported to, such
 * as Debian's 6.1), otherwise kbasename(bprm->filename). comm must be
 * zeroed. */
static __always_inline void bprm_comm(char *comm, struct linux_binprm *bprm, struct file *file)
{
	if (bpf_core_field_exists(bprm->comm_from_dentry) && BPF_CORE_READ_BITFIELD_PROBED(bprm, comm_from_dentry)) {
		bpf_probe_read_kernel_str(comm, TASK_COMM_LEN, BPF_CORE_READ(file, f_path.dentry, d_name.name));
		return;
	}
	struct base_walk w = {.name = BPF_CORE_READ(bprm, filename)};
	bpf_loop(4096 / BASE_CHUNK, base_cb, &w, 0);
	bpf_probe_read_kernel_str(comm, TASK_COMM_LEN, w.name + w.base);
}

/* elf_image: the LSM hook runs once per binary handler round (a script,
 * then its interpreter; a binfmt_misc file, then its interpreter). The
 * round that loads an ELF image is the one the tracepoint sees after the
 * exec, with the same file, comm and argv: judge that one only. */
static __always_inline bool elf_image(struct linux_binprm *bprm)
{
	__u32 magic = 0;
	BPF_CORE_READ_INTO(&magic, bprm, buf);
	return magic == 0x464c457f; /* "\x7fELF" */
}

/* ---- the decision ---- */

enum exec_hook {
	HOOK_TRACEPOINT, /* tp_btf/sched_process_exec: SIGKILL after the exec */
	HOOK_LSM,        /* lsm/bprm_check_security: EPERM before it */
};

/* exec_judge classifies an exec of task in a registered container and
 * decides whether the container's policy forbids it (CFG_ENFORCE, a class
 * in kill_mask, the entrypoint only with CFG_KILL_ENTRYPOINT). The
 * tracepoint kills what is forbidden and reports every exec; the LSM hook
 * refuses what is forbidden (returns -EPERM) and reports only that, since
 * the tracepoint reports the execs it lets through. hook is a constant:
 * each program is compiled with its branches only. */
static __always_inline int exec_judge(struct task_struct *task, struct linux_binprm *bprm, const enum exec_hook hook)
{
	int level = BPF_CORE_READ(task, cgroups, dfl_cgrp, level);
	__u64 cgid = 0;
	struct container_cfg *cfg = lookup_container(&cgid, level);
	if (!cfg)
		return 0;
	if (hook == HOOK_LSM && !elf_image(bprm))
		return 0;
	if (hook == HOOK_TRACEPOINT)
		stat_inc(STAT_EXEC);

	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	/* The container runtime's own exec (runc re-executing its sealed copy
	 * as "runc init" for runc exec, already placed in the container's
	 * cgroup) happens before the process joins the container's mount
	 * namespace and is started by a parent outside the container. A
	 * workload process can't arrange both: leaving the mount namespace
	 * needs CAP_SYS_ADMIN and its parent is always inside the container
	 * (orphans are re-parented to the container's init). */
	if (cfg->mntns && mntns != cfg->mntns) {
		__u64 pcg = BPF_CORE_READ(parent, cgroups, dfl_cgrp, kn, id);
		if (pcg != cgid) {
			if (hook == HOOK_TRACEPOINT)
				stat_inc(STAT_RUNTIME);
			return 0;
		}
	}

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	struct exec_event *ev = &s->ev;

	ev->type = EVENT_EXEC;
	ev->flags = 0;
	ev->cgid = cgid;
	ev->ts = bpf_ktime_get_boot_ns();
	ev->tgid = tgid;
	ev->ppid = BPF_CORE_READ(parent, tgid);
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->class = 0;
	ev->tty = tty_nr(task);

	struct task_struct *a = parent;
#pragma unroll
	for (int i = 0; i < ANCESTORS; i++) {
		ev->ancestors[i][0] = 0;
		if (!a)
			continue;
		if (BPF_CORE_READ(a, tgid) == 0) {
			a = 0;
			continue;
		}
		BPF_CORE_READ_INTO(&ev->ancestors[i], a, comm);
		a = BPF_CORE_READ(a, real_parent);
	}

	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), BPF_CORE_READ(bprm, filename));

	/* The executable actually mapped: for a script this is the interpreter. */
	struct file *file = BPF_CORE_READ(bprm, file);
	/* comm is a name_class key: NUL-padded, as the kernel pads task->comm
	 * (bpf_get_current_comm pads only since 6.x; on 6.1 the bytes after
	 * the NUL would be the previous exec's) */
	__builtin_memset(ev->comm, 0, sizeof(ev->comm));
	if (hook == HOOK_LSM)
		bprm_comm(ev->comm, bprm, file);
	else
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	ev->exe_dev = BPF_CORE_READ(sb, s_dev);
	ev->exe_ino = BPF_CORE_READ(inode, i_ino);
	ev->flags |= file_origin(file);
	__builtin_memset(s->self, 0, sizeof(s->self));
	bpf_probe_read_kernel_str(s->self, sizeof(s->self), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	/* A script's own file: a script written into the container and run
	 * directly is drift even though its interpreter comes from the image. */
	ev->flags |= script_origin(task, bprm, file);
	if (tgid == cfg->init_tgid)
		ev->flags |= EV_ENTRYPOINT;

	/* argv: rd bytes read into ev->argv; len is argv's length */
	__u64 rd = 0, len = 0;
	if (hook == HOOK_LSM)
		rd = bprm_argv(s, bprm);
	else
		len = current_argv(s, task, &rd);
	/* terminator for the scan's look-ahead (the pad when the buffer is full) */
	if (rd < ARGV_LEN)
		ev->argv[rd & (ARGV_LEN - 1)] = 0;
	else
		s->pad[0] = 0;
	__builtin_memset(&s->sc, 0, sizeof(s->sc));
	if (hook == HOOK_LSM)
		/* argv's strings are followed by envp's: stop after argc */
		s->sc.argc = BPF_CORE_READ(bprm, argc);
	bpf_loop(rd, scan_cb, 0, 0);
	struct scan_ctx sc = s->sc;
	if (hook == HOOK_LSM)
		/* argv ends at its argc-th NUL, or is longer than the buffer */
		len = sc.argc && sc.argi == sc.argc ? sc.arg_start : ARGV_LEN + 1;
	if (len > ARGV_LEN) {
		len = ARGV_LEN;
		ev->flags |= EV_ARGV_TRUNCATED;
	}
	if (len > rd)
		len = rd;
	ev->argv_len = len;

	/* classes */
	__u32 class = name_lookup(cgid, ev->comm);
	struct exe_key ek = {.cgid = cgid, .dev = ev->exe_dev, .ino = ev->exe_ino};
	__u32 *exe_cls = bpf_map_lookup_elem(&exe_class, &ek);
	if (exe_cls) {
		__u32 ec = *exe_cls;
		class |= ec & ~CLASS_MULTICALL;
		if ((ec & CLASS_MULTICALL) && sc.resolved) {
			/* busybox-like: the applet the scan found (see scan_ctx) */
			char applet[TASK_COMM_LEN] = {};
			copy_name(applet, ev->argv, sc.applet_start, sc.applet_end);
			class |= name_lookup(cgid, applet);
		}
	}
	if ((sc.markers & M_DASH_I) && (class & CLASS_SHELL))
		class |= CLASS_REVSHELL;
	if ((sc.markers & M_DASH_E) && (class & CLASS_NETTOOL))
		class |= CLASS_REVSHELL;
	if (sc.markers & M_DEV_NET)
		class |= CLASS_REVSHELL;
	if (sc.markers & M_STRATUM)
		class |= CLASS_MINER;
	if (ev->flags & (EV_UPPER | EV_MEMFD | EV_DELETED))
		class |= CLASS_DRIFT;
	ev->class = class;

	bool forbidden = (cfg->flags & CFG_ENFORCE) && (class & cfg->kill_mask) &&
			 (!(ev->flags & EV_ENTRYPOINT) || (cfg->flags & CFG_KILL_ENTRYPOINT));
	int ret = 0;
	if (hook == HOOK_LSM) {
		if (!forbidden)
			return 0;
		ev->flags |= EV_DENIED;
		stat_inc(STAT_EXEC_DENIED);
		ret = -EPERM;
	} else if (forbidden && bpf_send_signal(SIGKILL) == 0) {
		ev->flags |= EV_KILLED;
		stat_inc(STAT_KILLS);
	}

	__u64 size = offsetof(struct exec_event, argv) + (len & (2 * ARGV_LEN - 1));
	if (size > sizeof(struct exec_event))
		size = sizeof(struct exec_event);
	submit(ev, size, cgid, cfg);
	return ret;
}

#endif /* VIGIL_H */
