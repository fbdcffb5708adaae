//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// vigil's node-wide kernel programs: one exec hook (tp_btf, no syscall
// tracepoint), four cgroup socket hooks that report and filter outbound
// connects and datagrams, and one cgroup_skb egress hook attached to isolated
// containers only. Per-container state lives in maps keyed by the cgroup v2
// id; the programs are loaded once per node and shared by every shim. Where
// the kernel allows BPF LSM, vigil_lsm.bpf.c adds a hook that refuses
// forbidden execs before they happen (see vigil.h).

#include "vigil.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Egress records and keys, exported to Go through bpf2go -type. */

/* Destination addresses are 16 bytes, IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), so one trie serves both families and a connect6 to a
 * mapped address meets the same entries as a connect4. */

/* Key of a deny set trie: prefixlen counts the bits of addr. */
struct deny_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Key of egress_allow: prefixlen is 64 (the cgroup id) plus the bits of
 * addr. cgid is a byte array so the key has no padding. */
struct allow_key {
	__u32 prefixlen;
	__u8 cgid[8];
	__u8 addr[16];
};

struct port_key {
	__u64 cgid;
	__u16 port;
	__u16 _pad[3];
};

/* What user space knows about a loaded deny set (the kernel never reads
 * it): the SHA-256 of its files' contents, so shims reload only on change. */
struct deny_set_meta {
	__u8 sum[32];
	__u32 entries;
	__u32 _pad;
	__u64 loaded_ns;
};

struct conn_event {
	__u32 type;  /* EVENT_CONNECT */
	__u32 flags; /* EV_DENIED, EV_SENDMSG */
	__u64 cgid;
	__u64 ts;
	__u32 tgid;
	__u32 uid;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 proto;  /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 dport;  /* host order */
	__u16 _pad;
	__u8 daddr[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
	char comm[TASK_COMM_LEN];
};

/* ---- egress maps ---- */

/* Egress policy. Allowed ports and CIDRs are per container; a deny set (a
 * threat feed) is shared by every container that names the same files and is
 * replaced as a whole (one update of deny_sets) when its files change. Tries
 * are not preallocated either: max_entries is a bound, not a cost. */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct port_key);
	__type(value, __u8);
} egress_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct allow_key);
	__type(value, __u8);
} egress_allow SEC(".maps");

struct deny_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, struct deny_key);
	__type(value, __u8);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__array(values, struct deny_trie);
} deny_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct deny_set_meta);
} deny_meta SEC(".maps");

/* Force bpf2go to emit the Go types of records that no map names. */
const struct exec_event *unused_exec_event __attribute__((unused));
const struct conn_event *unused_conn_event __attribute__((unused));
const enum event_type *unused_event_type __attribute__((unused));
const enum cfg_flags *unused_cfg_flags __attribute__((unused));
const enum egress_flags *unused_egress_flags __attribute__((unused));
const enum class_bits *unused_class_bits __attribute__((unused));
const enum event_flags *unused_event_flags __attribute__((unused));
const enum stat_index *unused_stat_index __attribute__((unused));
const struct deny_key *unused_deny_key __attribute__((unused));

/* ---- exec ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	exec_judge(task, bprm, HOOK_TRACEPOINT);
	return 0;
}

/* ---- cgroup socket hooks ---- */

/* is_local: loopback and unspecified destinations stay inside the
 * container's own network namespace (connecting to 0.0.0.0 or :: reaches a
 * local address). addr is in the 16-byte form. */
static __always_inline bool is_local(const __u8 *a)
{
	__u32 w0, w1, w2, w3;
	__builtin_memcpy(&w0, a, 4);
	__builtin_memcpy(&w1, a + 4, 4);
	__builtin_memcpy(&w2, a + 8, 4);
	__builtin_memcpy(&w3, a + 12, 4);
	if (w0 != 0 || w1 != 0)
		return false;
	if (w2 == 0)
		/* :: and ::1 */
		return w3 == 0 || w3 == bpf_htonl(1);
	if (w2 == bpf_htonl(0xffff))
		/* ::ffff:0.0.0.0 and ::ffff:127.0.0.0/8 */
		return w3 == 0 || a[12] == 127;
	return false;
}

/* egress_check returns the EV_WHY_* reason the container's policy refuses
 * the destination for, 0 when it is allowed. */
static __always_inline __u32 egress_check(struct container_cfg *cfg, __u64 cgid, const __u8 *addr, __u16 dport)
{
	if (is_local(addr))
		return 0;
	if (cfg->deny_set) {
		void *trie = bpf_map_lookup_elem(&deny_sets, &cfg->deny_set);
		if (trie) {
			struct deny_key dk = {.prefixlen = 128};
			__builtin_memcpy(dk.addr, addr, 16);
			if (bpf_map_lookup_elem(trie, &dk))
				return EV_WHY_DENY_SET;
		}
	}
	if (cfg->egress_flags & EGRESS_PORTS) {
		struct port_key pk = {.cgid = cgid, .port = dport};
		if (!bpf_map_lookup_elem(&egress_ports, &pk))
			return EV_WHY_PORT;
	}
	if (cfg->egress_flags & EGRESS_CIDRS) {
		struct allow_key ak = {.prefixlen = 64 + 128};
		__builtin_memcpy(ak.cgid, &cgid, 8);
		__builtin_memcpy(ak.addr, addr, 16);
		if (!bpf_map_lookup_elem(&egress_allow, &ak))
			return EV_WHY_CIDR;
	}
	return 0;
}

static __always_inline int sock_hook(struct bpf_sock_addr *ctx, int family, __u32 ev_flags)
{
	__u64 cgid = 0;
	struct container_cfg *cfg = lookup_container(&cgid, CGROUP_WALK);
	if (!cfg)
		return 1;
	stat_inc(STAT_CONNECT);

	struct conn_event e = {};
	e.type = EVENT_CONNECT;
	e.cgid = cgid;
	e.ts = bpf_ktime_get_boot_ns();
	__u64 pt = bpf_get_current_pid_tgid();
	e.tgid = pt >> 32;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.family = family;
	e.proto = ctx->protocol;
	e.dport = bpf_ntohs((__u16)ctx->user_port);
	if (family == AF_INET) {
		/* IPv4-mapped: ::ffff:a.b.c.d */
		__u32 a4 = ctx->user_ip4;
		e.daddr[10] = 0xff;
		e.daddr[11] = 0xff;
		__builtin_memcpy(e.daddr + 12, &a4, 4);
	} else {
		__u32 a6[4];
		a6[0] = ctx->user_ip6[0];
		a6[1] = ctx->user_ip6[1];
		a6[2] = ctx->user_ip6[2];
		a6[3] = ctx->user_ip6[3];
		__builtin_memcpy(e.daddr, a6, 16);
	}

	int verdict = 1;
	__u32 eflags = cfg->egress_flags;
	if (eflags & EGRESS_ISOLATE) {
		ev_flags |= EV_DENIED | EV_WHY_ISOLATED;
		verdict = 0; /* connect()/sendmsg() fail with EPERM */
	} else if (eflags & (EGRESS_ENFORCE | EGRESS_AUDIT)) {
		__u32 why = egress_check(cfg, cgid, e.daddr, e.dport);
		if (why) {
			ev_flags |= why;
			if (eflags & EGRESS_ENFORCE) {
				ev_flags |= EV_DENIED;
				verdict = 0;
			} else {
				ev_flags |= EV_DENIED_AUDIT;
			}
		}
	}
	if (verdict == 0)
		stat_inc(STAT_EGRESS_DENIED);

	e.flags = ev_flags;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	submit(&e, sizeof(e), cgid, cfg);
	return verdict;
}

SEC("cgroup/connect4")
int vigil_connect4(struct bpf_sock_addr *ctx)
{
	return sock_hook(ctx, AF_INET, 0);
}

SEC("cgroup/connect6")
int vigil_connect6(struct bpf_sock_addr *ctx)
{
	return sock_hook(ctx, AF_INET6, 0);
}

SEC("cgroup/sendmsg4")
int vigil_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_hook(ctx, AF_INET, EV_SENDMSG);
}

SEC("cgroup/sendmsg6")
int vigil_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_hook(ctx, AF_INET6, EV_SENDMSG);
}

/* ---- isolation of established flows ----
 *
 * The socket hooks above only see new connects and unconnected datagrams. An
 * isolated container's connections opened before isolation would keep
 * talking, so this hook, attached to a container's cgroup when it is first
 * isolated, drops every packet its sockets send while EGRESS_ISOLATE is set
 * (loopback included: an isolated container has no network). The socket's
 * cgroup is the one it was created in, so a dying process's FIN is dropped
 * too. Containers that were never isolated do not run it. */

SEC("cgroup_skb/egress")
int vigil_skb_egress(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	struct container_cfg *cfg = bpf_map_lookup_elem(&containers, &id);
	if (!cfg) {
		/* a socket of a sub-cgroup: deepest registered ancestor wins */
		__u64 best = 0;
		for (int lvl = 1; lvl < CGROUP_WALK; lvl++) {
			__u64 aid = bpf_skb_ancestor_cgroup_id(skb, lvl);
			if (aid == 0)
				break;
			if (bpf_map_lookup_elem(&containers, &aid))
				best = aid;
		}
		if (best == 0)
			return 1;
		cfg = bpf_map_lookup_elem(&containers, &best);
		if (!cfg)
			return 1;
	}
	if (cfg->egress_flags & EGRESS_ISOLATE) {
		stat_inc(STAT_ISOLATED_DROPS);
		return 0;
	}
	return 1;
}
