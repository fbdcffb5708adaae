//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// vigil's optional exec hook: where the kernel allows BPF LSM programs
// (CONFIG_BPF_LSM and "bpf" in the active LSMs, no lockdown refusing them),
// lsm/bprm_check_security refuses an exec its container's policy forbids
// with EPERM, before the new program exists: execve returns -1/EPERM to
// the caller, which keeps running. It makes exec_judge's decision (vigil.h)
// on the maps of the main object (vigil.bpf.c), which user space passes in
// place of this object's own. The tracepoint stays attached: it reports the
// execs this hook lets through and still kills what it would kill.

#include "vigil.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("lsm/bprm_check_security")
int BPF_PROG(vigil_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret; /* an earlier BPF LSM program already refused */
	return exec_judge(bpf_get_current_task_btf(), bprm, HOOK_LSM);
}
