package harden

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/profiles/apparmor"
	"github.com/vigil-dev/vigil/profiles/seccomp"
	"github.com/vigil-dev/vigil/profiles/selinux"
)

// Annotation keys vigil records on a container it hardened.
const (
	AnnPolicy   = "vigil.dev/policy"
	AnnSeccomp  = "vigil.dev/seccomp"
	AnnAppArmor = "vigil.dev/apparmor"
	AnnSELinux  = "vigil.dev/selinux"
	AnnNotes    = "vigil.dev/notes"
)

// Hosts are the host probes the MAC settings need.
type Hosts struct {
	AppArmor apparmor.Host
	SELinux  selinux.Host
}

// SystemHosts probes this machine.
func SystemHosts() Hosts {
	return Hosts{AppArmor: &apparmor.SystemHost{}, SELinux: &selinux.SystemHost{}}
}

// Result is what applying a policy did.
type Result struct {
	// Applied maps an annotation key (AnnSeccomp, ...) to what was applied.
	Applied map[string]string
	// Notes are findings worth recording on the container: syscalls allowed
	// for the runtime, profiles skipped best-effort.
	Notes []string
	// Debug are findings only worth a debug log line.
	Debug []string
	// DenyRules are an emulated AppArmor profile's exec/write denials, for
	// the monitor.
	DenyRules []apparmor.DenyRule
}

// Apply edits spec so it carries pol's seccomp, AppArmor and SELinux
// settings; the policy wins over whatever the client put in the spec, and a
// setting the policy leaves out leaves the spec's own alone. An error names
// the policy setting's file and line; the caller decides by onError whether
// it refuses the container.
func Apply(spec *specs.Spec, cfg *policy.Config, pol *policy.Policy, h Hosts) (*Result, error) {
	r := &Result{Applied: map[string]string{AnnPolicy: pol.Name}}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if s := pol.Seccomp; s != nil {
		name := s.Profile
		if s.File != "" {
			name = s.File
		}
		res, err := seccomp.Resolve(name, cfg.Profiles.Dir, spec)
		if err != nil {
			return r, fmt.Errorf("%s: seccomp: %w", s.Pos, err)
		}
		spec.Linux.Seccomp = res.Seccomp
		r.Applied[AnnSeccomp] = res.Source
		if len(res.Added) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("seccomp profile %s lacks syscalls runc needs to start the container; allowed only those: %s", res.Source, strings.Join(res.Added, ", ")))
		}
		r.Debug = append(r.Debug, res.Warnings...)
	}
	if a := pol.AppArmor; a != nil {
		out, err := apparmor.Apply(spec, a.Profile, string(a.Mode), cfg.Profiles.Dir, h.AppArmor)
		if err != nil {
			return r, fmt.Errorf("%s: AppArmor profile %s (mode %s): %w", a.Pos, a.Profile, modeOr(string(a.Mode)), err)
		}
		switch {
		case out.Applied:
			r.Applied[AnnAppArmor] = out.Profile
		case out.Skipped != "":
			r.Applied[AnnAppArmor] = "none (" + out.Skipped + ")"
			r.Notes = append(r.Notes, fmt.Sprintf("AppArmor profile %s (best-effort) %s", a.Profile, out.Skipped))
		case len(out.DenyRules) > 0:
			r.Applied[AnnAppArmor] = "emulated " + out.Profile
			r.DenyRules = out.DenyRules
		}
	}
	if l := pol.SELinux; l != nil {
		out, err := selinux.Apply(spec, l.Label, string(l.Mode), h.SELinux)
		if err != nil {
			return r, fmt.Errorf("%s: SELinux label %s (mode %s): %w", l.Pos, l.Label, modeOr(string(l.Mode)), err)
		}
		switch {
		case out.Applied:
			r.Applied[AnnSELinux] = out.Label
		case out.Skipped != "":
			r.Applied[AnnSELinux] = "none (" + out.Skipped + ")"
			r.Notes = append(r.Notes, fmt.Sprintf("SELinux label %s (best-effort) %s", l.Label, out.Skipped))
		}
	}
	return r, nil
}

func modeOr(m string) string {
	if m == "" {
		return "best-effort"
	}
	return m
}
