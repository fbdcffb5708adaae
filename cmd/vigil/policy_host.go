package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/profiles"
	"github.com/vigil-dev/vigil/profiles/harden"
)

// policyHosts are the host probes `policy check` and `explain` resolve
// profiles against; tests replace them.
var policyHosts = harden.SystemHosts()

// policyHostOut is what applying a policy on this host gives: the same
// package the shim uses on Create, so the CLI says what the shim will do.
type policyHostOut struct {
	Applied map[string]string `json:"applied"`
	Notes   []string          `json:"notes"`
	// Refused is why a container under this policy is refused on this host.
	Refused string `json:"refused,omitempty"`
	// StartsWithLess is set when the policy cannot be applied and says
	// onError: allow.
	StartsWithLess string `json:"startsWithLess,omitempty"`
	// ExecStop says how the monitor stops a forbidden exec on this host
	// (policies whose monitor is not off).
	ExecStop string `json:"execStop,omitempty"`
}

// monitorExecStop says how this kernel stops a forbidden exec: refused
// by the BPF LSM hook, or killed from the exec tracepoint and why the LSM
// hook is not used. Tests replace it.
var monitorExecStop = sync.OnceValue(func() string {
	if os.Geteuid() != 0 {
		return "unknown: probing the kernel's eBPF features needs root"
	}
	r := monitor.Features()
	if r.ExecEnforcement() == monitor.ExecLSM {
		return "refused before it runs (EPERM) by the BPF LSM hook lsm/bprm_check_security"
	}
	return "killed before its first instruction (SIGKILL) from tp_btf/sched_process_exec; the BPF LSM hook is unavailable: " + r.LSM.Reason
})

// policyProbeSpec is the spec profiles are resolved against: no
// noNewPrivileges, as a Kubernetes pod without allowPrivilegeEscalation:
// false, so the runtime's needs shown are the widest.
func policyProbeSpec() *specs.Spec {
	return &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{}}
}

func policyOnHost(cfg *policy.Config, p *policy.Policy) (*policyHostOut, error) {
	res, err := harden.Apply(policyProbeSpec(), cfg, p, policyHosts)
	out := &policyHostOut{Applied: res.Applied, Notes: policyNonNil(res.Notes)}
	if p.Monitor.Mode != policy.ModeOff {
		out.ExecStop = monitorExecStop()
	}
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, profiles.ErrUnavailable) {
		// A missing or invalid profile: the configuration is wrong.
		return out, err
	}
	if p.OnError == policy.OnErrorAllow {
		out.StartsWithLess = err.Error()
	} else {
		out.Refused = err.Error()
	}
	return out, nil
}

func init() {
	// Profile files must exist and be valid, wherever vigil runs.
	extraPolicyChecks = append(extraPolicyChecks, func(cfg *policy.Config) []error {
		var errs []error
		for _, p := range cfg.Policies {
			if _, err := policyOnHost(cfg, p); err != nil {
				errs = append(errs, err)
			}
		}
		return errs
	})
}

// printPolicyHostWarnings prints what each policy means on this host:
// syscalls added for the runtime, profiles skipped, containers refused.
func printPolicyHostWarnings(w io.Writer, cfg *policy.Config) {
	for _, p := range cfg.Policies {
		out, err := policyOnHost(cfg, p)
		if err != nil {
			continue // reported as an error already
		}
		for _, n := range out.Notes {
			fmt.Fprintf(w, "warning: %s: policy %q: %s\n", p.Pos, p.Name, n)
		}
		if out.Refused != "" {
			fmt.Fprintf(w, "warning: policy %q refuses containers on this host: %s\n", p.Name, out.Refused)
		}
		if out.StartsWithLess != "" {
			fmt.Fprintf(w, "warning: policy %q starts containers with less protection on this host (onError: allow): %s\n", p.Name, out.StartsWithLess)
		}
	}
}

func printPolicyHost(w io.Writer, h *policyHostOut) {
	if h == nil {
		return
	}
	fmt.Fprintln(w, "on this host:")
	keys := make([]string, 0, len(h.Applied))
	for k := range h.Applied {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-20s%s\n", k+":", h.Applied[k])
	}
	if h.ExecStop != "" {
		fmt.Fprintf(w, "  %-20s%s\n", "forbidden exec:", h.ExecStop)
	}
	for _, n := range h.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if h.Refused != "" {
		fmt.Fprintf(w, "  REFUSED: %s\n", h.Refused)
	}
	if h.StartsWithLess != "" {
		fmt.Fprintf(w, "  starts with less protection (onError: allow): %s\n", h.StartsWithLess)
	}
}
