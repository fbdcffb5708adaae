package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runRules(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeRules(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const referenceRules = "../../monitor/rules/testdata/reference_rules.yaml"

func TestRulesCheckReference(t *testing.T) {
	code, stdout, stderr := runRules(t, "rules", "check", referenceRules)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		referenceRules + `:2: rule "Shell Spawned in Container": ok`,
		referenceRules + `:17: rule "Sensitive File Access": ok`,
		referenceRules + `:60: rule "Outbound Connection to Unusual Port": ok`,
		"5 rules: 5 ok, 0 unsupported, 0 skipped, 0 errors; 4 warnings",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "warning: "+referenceRules+":4: rule 'Shell Spawned in Container': the empty list 'user_known_shell_spawn_container' is used as a condition") {
		t.Errorf("stderr lacks the empty-list warning:\n%s", stderr)
	}
}

func TestRulesCheckNoBuiltin(t *testing.T) {
	code, stdout, stderr := runRules(t, "rules", "check", "--no-builtin", referenceRules)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `rule "Shell Spawned in Container": error: Undefined macro 'spawned_process' used in filter.`) {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestRulesCheckStatuses(t *testing.T) {
	f := writeRules(t, "mixed.yaml", `- rule: good
  desc: d
  condition: spawned_process and proc.name = bash
  output: "%proc.name %proc.pcmdline"
  priority: INFO
- rule: needs pcmdline
  desc: d
  condition: spawned_process and proc.pcmdline contains x
  output: o
  priority: INFO
- rule: audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
- rule: broken
  desc: d
  condition: spawned_process and (proc.name = x
  output: o
  priority: INFO
- rule: incomplete
  desc: d
  condition: spawned_process
  priority: INFO
`)
	code, stdout, stderr := runRules(t, "rules", "check", "-v", f)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		f + `:1: rule "good": ok (output prints <NA> for proc.pcmdline)`,
		f + `:6: rule "needs pcmdline": unsupported: field proc.pcmdline`,
		f + `:11: rule "audit": skipped: source k8s_audit is not evaluated by vigil`,
		f + `:17: rule "broken": error: condition: expected a ')' token`,
		"4 rules: 1 ok, 1 unsupported, 1 skipped, 2 errors; 1 warnings",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{
		"error: " + f + ":22: rule 'incomplete': Item has no mapping for key 'output'",
		"warning: " + f + ":11: rule 'audit': Unknown source k8s_audit",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, `rule 'broken'`) {
		t.Errorf("a rule's error is printed twice:\n%s", stderr)
	}
}

func TestRulesCheckUsage(t *testing.T) {
	if code, _, stderr := runRules(t, "rules", "check"); code != 2 || !strings.Contains(stderr, "no rules file given") {
		t.Errorf("no files: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runRules(t, "rules", "check", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing file: exit %d, %s", code, stderr)
	}
	if code, _, _ := runRules(t, "rules", "check", "--bogus", referenceRules); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestRulesCheckFalcoStock(t *testing.T) {
	dir := "../../monitor/rules/testdata/falco/"
	code, stdout, stderr := runRules(t, "rules", "check", dir+"falco_rules.yaml", dir+"falco-incubating_rules.yaml", dir+"falco-sandbox_rules.yaml")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "77 rules: ") || !strings.Contains(stdout, " 0 errors") {
		t.Errorf("summary not found:\n%s", stdout)
	}
	if !strings.Contains(stdout, `rule "Read sensitive file trusted after startup": unsupported: field proc.duration`) {
		t.Errorf("stdout lacks the proc.duration rule")
	}
}

func TestRulesList(t *testing.T) {
	code, stdout, stderr := runRules(t, "rules", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "RULE") {
		t.Fatalf("output:\n%s", stdout)
	}
	for _, want := range [][]string{
		{"Shell Spawned in Container", "Warning", "alert", "ok", "container,shell"},
		{"Container Drift Detected", "Critical", "kill", "ok", "drift"},
		{"Reverse Shell", "Critical", "kill"},
		{"Outbound Connection to Unusual Port", "Notice", "alert"},
	} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, want[0]+" ") {
				found = true
				for _, w := range want[1:] {
					if !strings.Contains(l, w) {
						t.Errorf("line %q lacks %q", l, w)
					}
				}
			}
		}
		if !found {
			t.Errorf("no line for %q", want[0])
		}
	}
	// Extra files are listed on top of the built-ins.
	code, stdout, _ = runRules(t, "rules", "list", referenceRules)
	if code != 0 || !strings.Contains(stdout, "Shell Spawned in Container") {
		t.Errorf("list with reference: exit %d\n%s", code, stdout)
	}
}

func TestRulesFields(t *testing.T) {
	code, stdout, _ := runRules(t, "rules", "fields")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range [][]string{{"proc.is_exe_upper_layer", "bool"}, {"fd.sport", "number"}, {"proc.aname", "[N] (optional)"}, {"container.label", "[KEY]"}} {
		found := false
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, want[0]+" ") && strings.Contains(l, want[1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line for %s with %s:\n%s", want[0], want[1], stdout)
		}
	}
	if code, _, _ := runRules(t, "rules", "fields", "x"); code != 2 {
		t.Errorf("extra argument: exit %d", code)
	}
}
