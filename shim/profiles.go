package shim

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/profiles/seccomp"
)

// applyProfiles edits spec so it carries the policy's seccomp, AppArmor and
// SELinux settings. The administrator's policy wins over whatever the client
// put in the spec. A profile the policy does not set is left as it is.
func applyProfiles(ctx context.Context, cfg *policy.Config, pol *policy.Policy, spec *specs.Spec, p *plan) error {
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if pol.Seccomp != nil {
		name := pol.Seccomp.Profile
		if pol.Seccomp.File != "" {
			name = pol.Seccomp.File
		}
		r, err := seccomp.Resolve(name, cfg.Profiles.Dir, spec)
		if err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
		spec.Linux.Seccomp = r.Seccomp
		p.applied[annSeccomp] = r.Source
		if len(r.Added) > 0 {
			p.notes = append(p.notes, fmt.Sprintf("seccomp profile %s lacks syscalls runc needs to start the container; allowed only those: %s", r.Source, strings.Join(r.Added, ", ")))
		}
		for _, w := range r.Warnings {
			log.G(ctx).WithField("seccomp", r.Source).Debug(w)
		}
	}
	return applyMAC(ctx, cfg, pol, spec, p)
}
