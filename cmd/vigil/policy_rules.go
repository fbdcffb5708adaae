package main

import (
	"os"
	"strings"

	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// policyReadRulesFile reads a policy's extra rule file; tests replace it.
var policyReadRulesFile = os.ReadFile

func init() {
	// A policy's extra rule files must load on top of the built-ins (the
	// shim refuses the container otherwise), and its kill and alertOnly
	// selectors must name rules that exist.
	extraPolicyChecks = append(extraPolicyChecks, func(cfg *policy.Config) []error {
		var errs []error
		for _, p := range cfg.Policies {
			m := p.Monitor
			var extra []rules.Source
			bad := false
			for _, f := range m.Rules {
				b, err := policyReadRulesFile(f)
				if err != nil {
					errs = append(errs, m.Pos.Errorf("policy %q: rules: %v", p.Name, err))
					bad = true
					continue
				}
				extra = append(extra, rules.Source{Name: f, Data: b})
			}
			if bad {
				continue
			}
			rs, _, err := rules.LoadBuiltin(extra...)
			if err != nil {
				errs = append(errs, m.Pos.Errorf("policy %q: rules: %v", p.Name, err))
				continue
			}
			for _, sel := range append(append([]string{}, m.Kill...), m.AlertOnly...) {
				if !selectsAny(rs, sel) {
					errs = append(errs, m.Pos.Errorf("policy %q: %q selects no rule (a rule name, or tag:<tag>)", p.Name, sel))
				}
			}
		}
		return errs
	})
}

func selectsAny(rs *rules.Ruleset, sel string) bool {
	tag, isTag := strings.CutPrefix(sel, "tag:")
	for _, r := range rs.Rules() {
		if isTag && r.HasTag(tag) || !isTag && r.Name() == sel {
			return true
		}
	}
	return false
}
