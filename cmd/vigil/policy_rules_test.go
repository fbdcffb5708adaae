package main

import (
	"os"
	"strings"
	"testing"
)

func init() {
	// full.yaml names /etc/vigil/rules/custom.yaml: give it one rule.
	policyReadRulesFile = func(name string) ([]byte, error) {
		if name == "/etc/vigil/rules/custom.yaml" {
			return []byte("- rule: Custom\n  desc: d\n  condition: spawned_process and proc.name = nmap\n  output: nmap (%proc.cmdline)\n  priority: ERROR\n"), nil
		}
		return os.ReadFile(name)
	}
}

func TestPolicyCheckRules(t *testing.T) {
	dir := t.TempDir()
	broken := dir + "/broken.yaml"
	if err := os.WriteFile(broken, []byte("- rule: Broken\n  desc: d\n  condition: proc.name = (\n  output: x\n  priority: ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, monitor string
		code          int
		stderrHas     []string
	}{
		{"builtin selectors", `{kill: ["tag:shell", "Sensitive File Access"]}`, 0, nil},
		{"unknown rule name", `{kill: ["Shell Spawned"]}`, 1, []string{`config.yaml:4:14: policies[0].monitor: policy "p": "Shell Spawned" selects no rule`}},
		{"unknown tag", `{alertOnly: ["tag:nope"]}`, 1, []string{`"tag:nope" selects no rule`}},
		{"missing rules file", `{rules: [/nonexistent/rules.yaml]}`, 1, []string{"policies[0].monitor: policy \"p\": rules:", "/nonexistent/rules.yaml"}},
		{"broken rules file", `{rules: [` + broken + `]}`, 1, []string{"rules:", "broken.yaml:3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeTemp(t, "policies:\n  - name: p\n    match: {}\n    monitor: "+tt.monitor+"\n")
			code, _, stderr := run(t, "policy", "check", "--config", cfg)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}
