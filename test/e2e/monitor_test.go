package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

// alert is the part of a Falco JSON alert the tests read.
type alert struct {
	Time         string         `json:"time"`
	Rule         string         `json:"rule"`
	Priority     string         `json:"priority"`
	Source       string         `json:"source"`
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	Tags         []string       `json:"tags"`
	OutputFields map[string]any `json:"output_fields"`
	Vigil        struct {
		Action       string `json:"action"`
		KernelAction string `json:"kernelAction"`
		Policy       string `json:"policy"`
		ContainerID  string `json:"containerID"`
	} `json:"vigil"`
}

// readAlerts reads a JSON-lines alert file; every line must be a valid
// Falco alert.
func readAlerts(t *testing.T, path string) []alert {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []alert
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert line is not JSON: %v\n%s", err, sc.Text())
		}
		if a.Rule == "" || a.Time == "" || a.Source != "syscall" || len(a.OutputFields) == 0 || a.Hostname == "" {
			t.Fatalf("alert line is not a complete Falco alert: %s", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, a.Time); err != nil {
			t.Fatalf("alert time %q: %v", a.Time, err)
		}
		out = append(out, a)
	}
	return out
}

// waitAlert waits for an alert of rule for container id.
func waitAlert(t *testing.T, path, rule, id string) alert {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, a := range readAlerts(t, path) {
			if a.Rule == rule && a.Vigil.ContainerID == id {
				return a
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, a := range readAlerts(t, path) {
				got = append(got, a.Rule+"@"+a.Vigil.ContainerID)
			}
			t.Fatalf("no %q alert for %s in %s; alerts: %v", rule, id, path, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// monitored starts a long-running container under a policy and waits until
// it runs.
func monitored(t *testing.T, cfg, id string) *harness.Running {
	t.Helper()
	return running(t, imgBusybox, id, []string{"--runtime-config-path", cfg}, "sleep", "600")
}

// running starts a container in the background, waits until it runs, and
// kills it when the test ends.
func running(t *testing.T, img, id string, flags []string, cmd ...string) *harness.Running {
	t.Helper()
	d := needDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r := d.RunBackground(ctx, "", img, id, flags, cmd...)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := d.WaitRunning(wctx, r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kctx, kcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer kcancel()
		d.Ctr(kctx, "tasks", "kill", "-s", "SIGKILL", id)
		r.Wait(kctx)
	})
	return r
}

func execIn(t *testing.T, id, execID string, cmd ...string) harness.RunResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := daemon.Exec(ctx, id, execID, cmd...)
	if err != nil && !strings.Contains(err.Error(), "exit") {
		t.Logf("exec %v: %v", cmd, err)
	}
	return res
}

func waitExit(t *testing.T, r *harness.Running) harness.RunResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := r.Wait(ctx)
	if err != nil {
		t.Fatalf("container %s: %v", r.ID, err)
	}
	return res
}

func monitorPolicy(t *testing.T, monitor string) (cfg, alerts string) {
	t.Helper()
	cfg = writePolicy(t, fmt.Sprintf(`
alerts: {file: $DIR/alerts.jsonl}
policies:
  - name: watched
    match: {}
    seccomp: runtime/default
    monitor: %s
`, monitor))
	return cfg, filepath.Join(filepath.Dir(cfg), "alerts.jsonl")
}

// Under the default monitor settings an exec'd shell is reported but left
// alone (kubectl exec debugging keeps working), while a binary dropped into
// the container and run is killed before it runs, and the task with it.
func TestDefaultMonitorShellAlertsDriftKills(t *testing.T) {
	cfg, alerts := monitorPolicy(t, "{mode: enforce, killAt: critical}")
	r := monitored(t, cfg, "mon-default")
	sh := execIn(t, "mon-default", "sh1", "sh", "-c", "echo HELLO")
	if !strings.Contains(sh.Output, "HELLO") || sh.ExitCode != 0 {
		t.Fatalf("an exec'd shell must run under the default policy: exit %d %q", sh.ExitCode, sh.Output)
	}
	a := waitAlert(t, alerts, "Shell Spawned in Container", "mon-default")
	if a.Vigil.Action != "alert" || a.Priority != "Warning" {
		t.Errorf("shell alert: action %q priority %q, want alert/Warning", a.Vigil.Action, a.Priority)
	}
	drift := execIn(t, "mon-default", "drift1", "sh", "-c", "cp /bin/busybox /tmp/dropped && /tmp/dropped echo DRIFTED")
	if strings.Contains(drift.Output, "DRIFTED") {
		t.Fatalf("a dropped binary ran: %q", drift.Output)
	}
	d := waitAlert(t, alerts, "Container Drift Detected", "mon-default")
	if d.Vigil.Action != "kill" || d.Vigil.KernelAction != "killed" {
		t.Errorf("drift alert: action %q kernelAction %q, want kill/killed", d.Vigil.Action, d.Vigil.KernelAction)
	}
	if res := waitExit(t, r); res.ExitCode != 137 {
		t.Errorf("task exit %d after drift, want 137", res.ExitCode)
	}
}

// A policy that raises shells to kill: an exec'd `sh -c 'echo PWNED'` prints
// nothing and the task ends 137 with an alert; the same through busybox's
// multi-call entry point.
func TestShellKilledBeforeItRuns(t *testing.T) {
	for _, tc := range []struct {
		id  string
		cmd []string
	}{
		{"kill-sh", []string{"sh", "-c", "echo PWNED"}},
		{"kill-busybox-sh", []string{"busybox", "sh", "-c", "echo PWNED"}},
		{"kill-abs-sh", []string{"/bin/sh", "-c", "echo PWNED"}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			cfg, alerts := monitorPolicy(t, `{mode: enforce, kill: ["tag:shell"]}`)
			r := monitored(t, cfg, tc.id)
			res := execIn(t, tc.id, "attack", tc.cmd...)
			if strings.Contains(res.Output, "PWNED") {
				t.Fatalf("the shell ran: %q", res.Output)
			}
			a := waitAlert(t, alerts, "Shell Spawned in Container", tc.id)
			if a.Vigil.Action != "kill" || a.Vigil.KernelAction != "killed" {
				t.Errorf("alert action %q kernelAction %q, want kill/killed", a.Vigil.Action, a.Vigil.KernelAction)
			}
			if res := waitExit(t, r); res.ExitCode != 137 {
				t.Errorf("task exit %d, want 137", res.ExitCode)
			}
		})
	}
}

// A policy that raises sensitive reads to kill: `cat /etc/shadow` leaks 0
// bytes and the task ends 137.
func TestSensitiveReadDenied(t *testing.T) {
	cfg, alerts := monitorPolicy(t, `{mode: enforce, kill: ["Sensitive File Access"]}`)
	r := monitored(t, cfg, "kill-shadow")
	res := execIn(t, "kill-shadow", "attack", "cat", "/etc/shadow")
	if strings.Contains(res.Output, "vigiltest") || strings.Contains(res.Output, "root:") {
		t.Fatalf("/etc/shadow leaked: %q", res.Output)
	}
	a := waitAlert(t, alerts, "Sensitive File Access", "kill-shadow")
	if a.Vigil.Action != "kill" || a.Vigil.KernelAction != "denied" {
		t.Errorf("alert action %q kernelAction %q, want kill/denied", a.Vigil.Action, a.Vigil.KernelAction)
	}
	if res := waitExit(t, r); res.ExitCode != 137 {
		t.Errorf("task exit %d, want 137", res.ExitCode)
	}
}

// Audit mode reports the same attacks and kills nothing; a second container
// beside a killed one is untouched.
func TestAuditModeAndOtherContainersUntouched(t *testing.T) {
	auditCfg, auditAlerts := monitorPolicy(t, `{mode: audit, kill: ["tag:shell", "Sensitive File Access"]}`)
	killCfg, _ := monitorPolicy(t, `{mode: enforce, kill: ["tag:shell"]}`)
	audit := monitored(t, auditCfg, "audit")
	victim := monitored(t, killCfg, "victim")
	res := execIn(t, "audit", "sh", "sh", "-c", "echo PWNED")
	if !strings.Contains(res.Output, "PWNED") {
		t.Fatalf("audit mode must not kill: %q", res.Output)
	}
	if res := execIn(t, "audit", "cat", "cat", "/etc/shadow"); !strings.Contains(res.Output, "vigiltest") {
		t.Fatalf("audit mode must not deny: %q", res.Output)
	}
	a := waitAlert(t, auditAlerts, "Shell Spawned in Container", "audit")
	if a.Vigil.Action != "alert" || a.Vigil.KernelAction != "" {
		t.Errorf("audit alert: action %q kernelAction %q", a.Vigil.Action, a.Vigil.KernelAction)
	}
	waitAlert(t, auditAlerts, "Sensitive File Access", "audit")

	execIn(t, "victim", "sh", "sh", "-c", "echo PWNED")
	if res := waitExit(t, victim); res.ExitCode != 137 {
		t.Fatalf("victim exit %d, want 137", res.ExitCode)
	}
	// The audited container still runs and still runs what it likes.
	if res := execIn(t, "audit", "after", "echo", "STILL-HERE"); !strings.Contains(res.Output, "STILL-HERE") {
		t.Fatalf("the audited container was affected: %q", res.Output)
	}
	_ = audit
}
