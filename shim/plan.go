package shim

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/profiles/apparmor"
	"github.com/vigil-dev/vigil/profiles/harden"
)

// annMonitor records the monitor mode; the other vigil.dev/ keys are
// package harden's.
const annMonitor = "vigil.dev/monitor"

// plan is the one policy decision for a container and what applying it did.
type plan struct {
	cfg     *policy.Config
	policy  *policy.Policy
	facts   policy.Facts
	reasons []string
	// applied maps a vigil.dev/ annotation to what was applied.
	applied map[string]string
	// notes are warnings worth recording: profiles skipped best-effort,
	// syscalls added for the runtime, records that could not be read.
	notes []string
	// denyRules are an emulated AppArmor profile's denials.
	denyRules []apparmor.DenyRule
}

// hosts are this machine's AppArmor and SELinux probes.
var hosts = harden.SystemHosts()

// decide loads the policy file, chooses the container's policy and edits the
// spec to apply it. An error means the container must not start.
func decide(ctx context.Context, facts policy.Facts, optionPath string, spec *specs.Spec) (*plan, error) {
	cfg := policy.Default()
	if path, found := policy.Locate(optionPath); found {
		c, err := policy.Load(path)
		if err != nil {
			// A policy that cannot be read cannot say onError: allow.
			return nil, fmt.Errorf("%w: vigil refused container %s: %v", errdefs.ErrFailedPrecondition, facts.ContainerID, err)
		}
		cfg = c
	}
	d := cfg.Decide(facts)
	pol := d.Policy
	if pol == nil {
		pol = policy.DefaultPolicy()
	}
	p := &plan{cfg: cfg, policy: pol, facts: facts, reasons: d.Reasons}
	res, err := harden.Apply(spec, cfg, pol, hosts)
	p.applied, p.notes, p.denyRules = res.Applied, res.Notes, res.DenyRules
	for _, m := range res.Debug {
		log.G(ctx).Debug(m)
	}
	if err != nil {
		if pol.OnError != policy.OnErrorAllow {
			return nil, fmt.Errorf("%w: vigil refused container %s: policy %q: %v", errdefs.ErrFailedPrecondition, facts.ContainerID, pol.Name, err)
		}
		p.notes = append(p.notes, fmt.Sprintf("policy %q could not be applied and says onError: allow, started with less protection: %v", pol.Name, err))
	}
	p.applied[annMonitor] = string(pol.Monitor.Mode)
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	for k, v := range p.applied {
		spec.Annotations[k] = v
	}
	if len(p.notes) > 0 {
		spec.Annotations[harden.AnnNotes] = strings.Join(p.notes, "; ")
	}
	return p, nil
}

// log writes the decision once, with its reasons: the same explanation
// `vigil policy explain` prints.
func (p *plan) log(ctx context.Context) {
	e := log.G(ctx).WithField("policy", p.policy.Name).WithField("reasons", p.reasons)
	for k, v := range p.applied {
		e = e.WithField(strings.TrimPrefix(k, "vigil.dev/"), v)
	}
	if len(p.notes) > 0 {
		e.WithField("notes", p.notes).Warn("vigil policy applied with notes")
		return
	}
	e.Info("vigil policy applied")
}
