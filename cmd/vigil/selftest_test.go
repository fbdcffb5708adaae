package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/test/harness"
)

func TestSelftestFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"namespace without address", []string{"--namespace", "x"}, 2, "--namespace needs --address"},
		{"ctr and memexec without address", []string{"--ctr", "/bin/ctr", "--memexec", "/m"}, 2, "--ctr, --memexec needs --address"},
		{"extra argument", []string{"now"}, 2, `unexpected argument "now"`},
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"help", []string{"-h"}, 0, "usage: vigil selftest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"selftest"}, tt.args...)...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tt.code, tt.stderr)
			}
		})
	}
}

// judgeRow and the table: what a row says for each kind of outcome.
func TestSelftestRowsAndTable(t *testing.T) {
	start := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	at := func(d time.Duration, rule string, action alerts.Action, kernel string, cmdline string) alerts.Alert {
		return alerts.Alert{Time: start.Add(d), Rule: rule, OutputFields: map[string]any{"proc.cmdline": cmdline},
			Vigil: &alerts.Vigil{Action: action, KernelAction: kernel}}
	}
	kill := harness.Attack{Name: "reverse shell (sh -i)", Marker: "PWNED", Expect: harness.ExpectKill, Rule: harness.RuleRevShell, KernelAction: "killed"}
	nothing := harness.Attack{Name: "runc exec of true", Cmd: []string{"true"}, Expect: harness.ExpectNothing}
	rows := []selftestRow{
		judgeRow(kill, harness.Outcome{Start: start, TaskExit: 137, Alerts: []alerts.Alert{
			at(400*time.Microsecond, harness.RuleShell, alerts.ActionAlert, "killed", "sh -i"),
			at(2100*time.Microsecond, harness.RuleRevShell, alerts.ActionKill, "killed", "sh -i"),
		}}),
		judgeRow(kill, harness.Outcome{Start: start, Output: "PWNED\n", TaskExit: -1}),
		judgeRow(nothing, harness.Outcome{Start: start, TaskExit: -1, Alerts: []alerts.Alert{
			at(time.Millisecond, harness.RulePkg, alerts.ActionAlert, "", "apk --version"),
		}}),
		judgeRow(nothing, harness.Outcome{Start: start, TaskExit: -1, Alerts: []alerts.Alert{
			at(time.Millisecond, harness.RuleShell, alerts.ActionAlert, "", "sh"),
			at(2*time.Millisecond, harness.RulePkg, alerts.ActionAlert, "", "apk --version"),
		}}),
	}
	want := []struct {
		seen, action, latency string
		caught                bool
	}{
		{harness.RuleRevShell, "kill/killed", "2.1ms", true},
		{"nothing", "-", "-", false},
		{"nothing", "-", "-", true},
		{harness.RuleShell, "-", "-", false},
	}
	for i, w := range want {
		r := rows[i]
		if r.Seen != w.seen || r.Action != w.action || latencyString(r.LatencyMs) != w.latency || r.Caught != w.caught {
			t.Errorf("row %d = %+v (latency %s); want seen %q action %q latency %s caught %v", i, r, latencyString(r.LatencyMs), w.seen, w.action, w.latency, w.caught)
		}
	}
	if p := progressNote(rows[0]); p != "caught: killed in 2.1ms" {
		t.Errorf("progress %q", p)
	}
	if p := progressNote(rows[1]); !strings.HasPrefix(p, "MISSED: the attack ran") {
		t.Errorf("progress %q", p)
	}

	var b bytes.Buffer
	writeSelftestTable(&b, rows)
	table := parseSelftestTable(t, b.String())
	if len(table) != len(rows) || table[0]["RESULT"] != "caught" || table[1]["RESULT"] != "MISSED" || table[0]["LATENCY"] != "2.1ms" || table[0]["SEEN"] != harness.RuleRevShell {
		t.Errorf("table rows %v from:\n%s", table, b.String())
	}
	if !strings.Contains(b.String(), "\n2/4 caught as expected\n") || !strings.Contains(b.String(), "MISSED reverse shell (sh -i): the attack ran") {
		t.Errorf("summary missing:\n%s", b.String())
	}
}

// parseSelftestTable reads the table writeSelftestTable prints: columns
// are found from the header's field starts.
func parseSelftestTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ATTACK") {
		t.Fatalf("no table header in:\n%s", out)
	}
	header := lines[0]
	cols := []string{"ATTACK", "EXPECTED", "SEEN", "ACTION", "LATENCY", "RESULT"}
	starts := make([]int, len(cols))
	for i, c := range cols {
		starts[i] = strings.Index(header, c)
		if starts[i] < 0 || (i > 0 && starts[i] <= starts[i-1]) {
			t.Fatalf("header %q lacks column %s", header, c)
		}
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		row := map[string]string{}
		for i, c := range cols {
			end := len(l)
			if i+1 < len(cols) {
				end = min(starts[i+1], len(l))
			}
			if starts[i] > len(l) {
				t.Fatalf("short table line %q", l)
			}
			row[c] = strings.TrimSpace(l[starts[i]:end])
		}
		rows = append(rows, row)
	}
	return rows
}

func needSelftestRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the self test runs containerd and containers: not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("requires root: the self test runs containerd, runc and vigil's eBPF monitor")
	}
}

// The self test against an existing containerd (--address, --json), then
// with its own private containerd (the default, the table): every attack
// is caught as expected. The order matters: the default mode removes the
// vigil binaries harness.BuildTools built for this process when it ends.
func TestSelftest(t *testing.T) {
	needSelftestRoot(t)
	attacks := harness.Attacks()
	parent := t

	t.Run("address", func(t *testing.T) {
		tools, err := harness.BuildTools()
		if err != nil {
			t.Fatal(err)
		}
		// After "private" too, which reuses them (and removes them when it
		// runs).
		parent.Cleanup(tools.Cleanup)
		d, err := harness.StartDaemon(tools, harness.DaemonOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		const ns = "vigil-selftest-test"
		code, stdout, stderr := run(t, "selftest", "--json", "--address", d.Address, "--namespace", ns, "--ctr", tools.Ctr)
		t.Logf("progress:\n%s", stderr)
		var rows []selftestRow
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
			t.Fatalf("--json output: %v\n%s", err, stdout)
		}
		checkAllCaught(t, attacks, code, rows, func(r selftestRow) (string, string, bool) { return r.Attack, r.Seen, r.Caught })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := d.CtrIn(ctx, ns, "containers", "ls", "-q")
		if ids := ctrList(out); err != nil || len(ids) > 0 {
			t.Errorf("the self test left containers in %s: %q %v", ns, ids, err)
		}
		if out, _ := d.CtrIn(ctx, ns, "images", "ls", "-q"); strings.Contains(out, selftestImage) {
			t.Errorf("the self test left its image in %s: %q", ns, out)
		}
	})

	t.Run("private", func(t *testing.T) {
		code, stdout, stderr := run(t, "selftest")
		t.Logf("progress:\n%s\ntable:\n%s", stderr, stdout)
		table := parseSelftestTable(t, stdout)
		checkAllCaught(t, attacks, code, table, func(r map[string]string) (string, string, bool) {
			return r["ATTACK"], r["SEEN"], r["RESULT"] == "caught"
		})
		if !strings.Contains(stdout, fmt.Sprintf("\n%d/%d caught as expected\n", len(attacks), len(attacks))) {
			t.Errorf("no all-caught summary:\n%s", stdout)
		}
		for _, a := range attacks {
			if !strings.Contains(stderr, "] "+a.Name+" ... ") {
				t.Errorf("no progress line for %q", a.Name)
			}
		}
	})
}

// ctrList is the list ctr printed, without ctr's own log lines.
func ctrList(out string) []string {
	return strings.Fields(harness.WithoutCtrWarnings(out))
}

// checkAllCaught asserts one caught row per attack, in order, each seeing
// the attack's rule (or nothing), and exit 0.
func checkAllCaught[R any](t *testing.T, attacks []harness.Attack, code int, rows []R, get func(R) (attack, seen string, caught bool)) {
	t.Helper()
	if len(rows) != len(attacks) {
		t.Fatalf("%d rows for %d attacks", len(rows), len(attacks))
	}
	for i, a := range attacks {
		name, seen, caught := get(rows[i])
		want := a.Rule
		if a.Expect == harness.ExpectNothing {
			want = "nothing"
		}
		if name != a.Name || seen != want || !caught {
			t.Errorf("row %d: %q saw %q caught=%v; want %q seeing %q caught", i+1, name, seen, caught, a.Name, want)
		}
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}
