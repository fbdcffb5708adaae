package seccomp

import (
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The syscalls runc 1.5 makes in the container's init process after it has
// installed the seccomp filter and before it execs the workload. A profile
// that denies any of them stops every container before its first instruction.
//
// Found empirically with runc 1.5.3 (libseccomp 2.5.4, linux/amd64, kernel
// 6.18): a busybox-static bundle from `runc spec`, the reference document's
// Pattern 2 profile as linux.seccomp, `runc run` of /bin/true, adding one
// syscall per failure until it ran (TestRuncRuntimeNeeds re-proves each one
// is necessary and that together they suffice):
//
//   - statx: "reopen exec fifo: get safe /proc/thread-self/fd handle: check
//     "thread-self" component is not overmounted: get root mount id:
//     statx(STATX_MNT_ID_...) fsmount:fscontext:proc/: could not get mount
//     id: function not implemented"
//   - readlinkat: "reopen exec fifo: get safe /proc/thread-self/fd handle:
//     readlinkat fsmount:fscontext:proc/thread-self/: operation not permitted"
//
// With process.noNewPrivileges false (CRI's default: Kubernetes sets it only
// for allowPrivilegeEscalation: false; containerd's own default spec and
// `runc spec` set it true) runc installs the filter before it switches user
// (statx and readlinkat then fail earlier, in "error closing exec fds: get
// handle to /proc/thread-self/fd: ..."), and it also needs:
//
//   - setgroups: "unable to start container process: error during container
//     init: unable to setup user: setgroups: operation not permitted"
//
// `runc exec` into such a container works with the same set (setgroups is
// needed when the exec'd process has noNewPrivileges false; containerd and CRI
// derive exec processes from the container's process, so spec decides), and
// so does a container with a terminal.
var (
	runtimeNeedsAlways = []string{"statx", "readlinkat"}
	runtimeNeedsNoNNP  = []string{"setgroups"}
)

// RuntimeNeeds returns the syscalls runc needs to be allowed for a container
// with spec (nil spec or process: assume noNewPrivileges is false, which
// needs the most).
func RuntimeNeeds(spec *specs.Spec) []string {
	needs := slices.Clone(runtimeNeedsAlways)
	if spec == nil || spec.Process == nil || !spec.Process.NoNewPrivileges {
		needs = append(needs, runtimeNeedsNoNNP...)
	}
	return needs
}

// EnsureRuntimeNeeds adds to p one SCMP_ACT_ALLOW rule for the syscalls in
// RuntimeNeeds(spec) that p does not allow, when p's default action denies,
// and returns the names added (nil when nothing was). It adds nothing to an
// allow-by-default profile or a nil one. A profile that explicitly denies a
// needed syscall with an unconditional rule is not overridden: that is an
// error matching ErrRuntimeNeedDenied.
func EnsureRuntimeNeeds(p *specs.LinuxSeccomp, spec *specs.Spec) ([]string, error) {
	if p == nil {
		return nil, nil
	}
	var added []string
	for _, name := range RuntimeNeeds(spec) {
		switch decision(p, name) {
		case allowed:
		case denied:
			return nil, fmt.Errorf("%w: %s is denied by an explicit rule, but runc needs it after installing the filter (the container could not start)",
				ErrRuntimeNeedDenied, name)
		case byDefault:
			if !allowing(p.DefaultAction) {
				added = append(added, name)
			}
		}
	}
	if len(added) > 0 {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: added, Action: specs.ActAllow})
	}
	return added, nil
}

type ruling int

const (
	byDefault ruling = iota // no unconditional rule names the syscall
	allowed
	denied
)

// decision is what p's unconditional rules say about name. Conditional rules
// do not count: runc's own calls must pass whatever their arguments.
func decision(p *specs.LinuxSeccomp, name string) ruling {
	r := byDefault
	for _, sc := range p.Syscalls {
		if len(sc.Args) > 0 || !slices.Contains(sc.Names, name) {
			continue
		}
		if !allowing(sc.Action) {
			return denied
		}
		r = allowed
	}
	return r
}

// allowing reports whether a lets the syscall run.
func allowing(a specs.LinuxSeccompAction) bool {
	return a == specs.ActAllow || a == specs.ActLog
}
