package harness

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/alerts"
)

func alertOf(rule string, action alerts.Action, kernel string) alerts.Alert {
	return alerts.Alert{Rule: rule, Vigil: &alerts.Vigil{Action: action, KernelAction: kernel}}
}

var sentinelAlert = alerts.Alert{Rule: RulePkg, OutputFields: map[string]any{"proc.cmdline": "apk --version"}, Vigil: &alerts.Vigil{Action: alerts.ActionAlert}}

func TestJudge(t *testing.T) {
	kill := Attack{Name: "k", Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"}
	anyKill := Attack{Name: "k2", Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift}
	alert := Attack{Name: "a", Marker: "PWNED", Expect: ExpectAlert, Rule: RuleShell}
	nothing := Attack{Name: "n", Cmd: []string{"true"}, Expect: ExpectNothing}
	tests := []struct {
		name   string
		a      Attack
		o      Outcome
		ok     bool
		reason string
	}{
		{"kill caught", kill, Outcome{TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, "killed")}}, true, ""},
		{"kill but the attack ran", kill, Outcome{Output: "PWNED\n", TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, "killed")}}, false, "the attack ran"},
		{"kill without the kernel", kill, Outcome{TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, "")}}, false, `kernelAction "", want "killed"`},
		{"kill only alerted", kill, Outcome{TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionAlert, "")}}, false, "action alert, want kill"},
		{"kill, task left running", kill, Outcome{TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, "killed")}}, false, "task exit none (still running), want 137"},
		{"kill, no alert", kill, Outcome{TaskExit: 137}, false, `no "Shell Spawned in Container" alert`},
		{"kill, a later alert is the kernel's", kill, Outcome{TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, ""), alertOf(RuleShell, alerts.ActionKill, "killed")}}, true, ""},
		{"kill by either sensor", anyKill, Outcome{TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleDrift, alerts.ActionKill, "")}}, true, ""},
		{"alert caught", alert, Outcome{Output: "PWNED\n", TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionAlert, "")}}, true, ""},
		{"alert but killed", alert, Outcome{TaskExit: 137, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionKill, "killed")}}, false, "the attack did not run"},
		{"alert, but another rule killed", alert, Outcome{Output: "PWNED\n", TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionAlert, ""), alertOf(RuleDrift, alerts.ActionKill, "")}}, false, "only alerts are expected"},
		{"alert of another rule", alert, Outcome{Output: "PWNED", TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleDrift, alerts.ActionAlert, "")}}, false, `no "Shell Spawned in Container" alert`},
		{"nothing", nothing, Outcome{TaskExit: -1, Alerts: []alerts.Alert{sentinelAlert}}, true, ""},
		{"nothing, but a shell alert", nothing, Outcome{TaskExit: -1, Alerts: []alerts.Alert{alertOf(RuleShell, alerts.ActionAlert, ""), sentinelAlert}}, false, `unexpected "Shell Spawned in Container" alert`},
		{"nothing, sentinel missing", nothing, Outcome{TaskExit: -1}, false, "sentinel's alert never came"},
		{"nothing, another package alert is no sentinel", nothing, Outcome{TaskExit: -1, Alerts: []alerts.Alert{alertOf(RulePkg, alerts.ActionAlert, "")}}, false, "sentinel's alert never came"},
		{"nothing, exec failed", nothing, Outcome{ExitCode: 1, TaskExit: -1, Alerts: []alerts.Alert{sentinelAlert}}, false, "exit 1, want 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := tt.a.Judge(tt.o)
			if ok != tt.ok || !strings.Contains(why, tt.reason) || (tt.ok && why != "") {
				t.Errorf("Judge = %v, %q; want %v with %q", ok, why, tt.ok, tt.reason)
			}
		})
	}
}

func TestUnstamp(t *testing.T) {
	def := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := time.Date(2026, 12, 3, 19, 59, 27, 756133091, time.UTC)
	tests := []struct {
		in, out string
		start   time.Time
	}{
		{"memexec-start 2026-12-03T19:59:27.756133091Z\nPWNED\n", "PWNED\n", at},
		{"a\nmemexec-start 2026-12-03T19:59:27.756133091Z\n", "a\n", at},
		{"PWNED\n", "PWNED\n", def},
		{"memexec-start garbage\n", "memexec-start garbage\n", def},
		{"", "", def},
	}
	for _, tt := range tests {
		out, start := unstamp(tt.in, def)
		if out != tt.out || !start.Equal(tt.start) {
			t.Errorf("unstamp(%q) = %q, %v; want %q, %v", tt.in, out, start, tt.out, tt.start)
		}
	}
}

// The launcher carries the attack's argument vector encoded, exactly.
func TestStamped(t *testing.T) {
	cmd := []string{"sh", "-c", "echo PWNED; cat </dev/tcp/127.0.0.1/9", ""}
	got := stamped(cmd)
	if len(got) != 5 || got[0] != MemexecPath || got[3] != "-argv" {
		t.Fatalf("stamped = %q", got)
	}
	for _, a := range got {
		if strings.Contains(a, "/dev/tcp/") {
			t.Fatalf("the launcher's own argv carries the attack's marker: %q", got)
		}
	}
	b, err := base64.StdEncoding.DecodeString(got[4])
	if err != nil {
		t.Fatal(err)
	}
	if dec := strings.Split(string(b), "\x00"); strings.Join(dec, "|") != strings.Join(cmd, "|") || len(dec) != len(cmd) {
		t.Fatalf("decoded %q, want %q", dec, cmd)
	}
}

// Every attack of the catalogue can be judged: it names what it expects.
func TestAttacksCatalogue(t *testing.T) {
	names := map[string]bool{}
	for _, a := range Attacks() {
		if a.Name == "" || names[a.Name] {
			t.Errorf("attack name %q empty or repeated", a.Name)
		}
		names[a.Name] = true
		if a.Monitor == "" {
			t.Errorf("%s: no monitor settings", a.Name)
		}
		if a.Cmd == nil && a.Entrypoint == nil {
			t.Errorf("%s: neither a command nor an entrypoint", a.Name)
		}
		switch a.Expect {
		case ExpectKill:
			if a.Rule == "" || a.Marker == "" {
				t.Errorf("%s: a kill needs a rule and a marker that shows the attack ran", a.Name)
			}
		case ExpectAlert:
			if a.Rule == "" {
				t.Errorf("%s: an alert needs a rule", a.Name)
			}
		case ExpectNothing:
			if a.Rule != "" {
				t.Errorf("%s: nothing expected, yet rule %q", a.Name, a.Rule)
			}
		}
	}
}
