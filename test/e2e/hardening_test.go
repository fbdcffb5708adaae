package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var seccompLine = regexp.MustCompile(`(?m)^Seccomp:\s+(\d)`)

func seccompMode(t *testing.T, out string) string {
	t.Helper()
	m := seccompLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Seccomp line in /proc/self/status output:\n%s", out)
	}
	return m[1]
}

// With no policy file at all, the built-in default applies RuntimeDefault
// seccomp to a container started with no --seccomp flag, while the stock runc
// shim leaves the same container unconfined.
func TestDefaultPolicyAppliesSeccomp(t *testing.T) {
	needDaemon(t)
	if _, err := os.Stat("/etc/vigil/config.yaml"); err == nil {
		t.Fatalf("/etc/vigil/config.yaml exists on this host; the built-in default cannot be tested (move it away)")
	}
	res := runIn(t, "", imgBusybox, "default-seccomp", nil, "cat", "/proc/self/status")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Output)
	}
	if got := seccompMode(t, res.Output); got != "2" {
		t.Fatalf("under vigil Seccomp = %s, want 2 (filter)", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stock, err := daemon.Run(ctx, "io.containerd.runc.v2", imgBusybox, "stock-seccomp", nil, "cat", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if got := seccompMode(t, stock.Output); got != "0" {
		t.Fatalf("under the stock runc shim Seccomp = %s, want 0: the comparison is meaningless", got)
	}
}

// Two policies, one matched by image reference and one by label, apply
// different profiles: mkdir is denied by the hardened (reference) profile and
// allowed by runtime/default.
func TestPolicyByImageAndLabel(t *testing.T) {
	needDaemon(t)
	cfg := writePolicy(t, `
policies:
  - name: web
    match:
      images: ["docker.io/vigil/web:*"]
    seccomp: hardened
  - name: batch
    match:
      labels: {tier: batch}
    seccomp: runtime/default
  - name: default
    match: {}
    seccomp: unconfined
`)
	web := runIn(t, cfg, imgWeb, "by-image", nil, "sh", "-c", "mkdir /tmp/d && echo MADE; grep Seccomp: /proc/self/status")
	if strings.Contains(web.Output, "MADE") || !strings.Contains(web.Output, "Operation not permitted") {
		t.Fatalf("policy web (hardened) should deny mkdir; output:\n%s", web.Output)
	}
	if seccompMode(t, web.Output) != "2" {
		t.Fatalf("web: no seccomp filter:\n%s", web.Output)
	}
	batch := runIn(t, cfg, imgBusybox, "by-label", []string{"--label", "tier=batch"}, "sh", "-c", "mkdir /tmp/d && echo MADE; grep Seccomp: /proc/self/status")
	if !strings.Contains(batch.Output, "MADE") {
		t.Fatalf("policy batch (runtime/default) should allow mkdir; output:\n%s", batch.Output)
	}
	if seccompMode(t, batch.Output) != "2" {
		t.Fatalf("batch: no seccomp filter:\n%s", batch.Output)
	}
	other := runIn(t, cfg, imgBusybox, "unmatched", nil, "grep", "Seccomp:", "/proc/self/status")
	if seccompMode(t, other.Output) != "0" {
		t.Fatalf("policy default says unconfined; got:\n%s", other.Output)
	}
}

// referenceProfile returns Pattern 2's seccomp profile of the reference
// document, byte for byte: the built-in "hardened" profile is that block
// verbatim (profiles/seccomp's TestHardenedIsTheReferenceProfile checks it
// against the document), so this test runs from any clone.
func referenceProfile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "profiles", "seccomp", "builtin", "hardened.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// The reference document's seccomp profile, given as a file, is accepted:
// the container starts (vigil adds only what runc itself needs) and the
// profile is enforced (mkdir, absent from it, fails).
func TestReferenceSeccompProfileEnforced(t *testing.T) {
	needDaemon(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	prof := filepath.Join(dir, "reference.json")
	if err := os.WriteFile(prof, referenceProfile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writePolicy(t, fmt.Sprintf(`
policies:
  - name: reference
    match: {}
    seccomp: %s
`, prof))
	res := runIn(t, cfg, imgBusybox, "reference-profile", nil, "sh", "-c", "echo STARTED; mkdir /tmp/x && echo MADE; grep Seccomp: /proc/self/status")
	if !strings.Contains(res.Output, "STARTED") {
		t.Fatalf("the workload did not run under the reference profile:\n%s", res.Output)
	}
	if strings.Contains(res.Output, "MADE") {
		t.Fatalf("mkdir is not in the reference profile but succeeded:\n%s", res.Output)
	}
	if seccompMode(t, res.Output) != "2" {
		t.Fatalf("no seccomp filter:\n%s", res.Output)
	}
}

// shimsFor lists running vigil shim processes serving id.
func shimsFor(id string) []string {
	out, _ := exec.Command("pgrep", "-af", "containerd-shim-vigil-v2").Output()
	var found []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "-id "+id) {
			found = append(found, l)
		}
	}
	return found
}

// assertNothingLeft checks a refused container left no shim and no bundle.
func assertNothingLeft(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(shimsFor(id)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if s := shimsFor(id); len(s) > 0 {
		t.Errorf("a shim for the refused container %s is still running: %v", id, s)
	}
	bundle := filepath.Join(daemon.Dir, "state", "io.containerd.runtime.v2.task", daemon.Namespace, id)
	if _, err := os.Stat(bundle); err == nil {
		t.Errorf("the refused container's bundle %s is still there", bundle)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, _ := daemon.Ctr(ctx, "tasks", "ls", "-q"); strings.Contains(out, id) {
		t.Errorf("a task %s exists after refusal", id)
	}
}

// This host has no AppArmor: a policy that requires a profile refuses the
// container with a message naming the policy, the profile and the reason;
// best-effort starts it and records that the profile was skipped.
func TestAppArmorRequiredRefusesBestEffortStarts(t *testing.T) {
	needDaemon(t)
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
		t.Skip("requires a host without AppArmor: this one has it, so `required` would not refuse")
	}
	cfg := writePolicy(t, `
policies:
  - name: strict-web
    match: {labels: {apparmor: required}}
    seccomp: runtime/default
    apparmor: {profile: vigil-default, mode: required}
  - name: lenient
    match: {}
    seccomp: runtime/default
    apparmor: {profile: vigil-default, mode: best-effort}
`)
	d := needDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := d.Run(ctx, "", imgBusybox, "aa-required", []string{"--runtime-config-path", cfg, "--label", "apparmor=required"}, "true")
	if err == nil {
		t.Fatal("a container whose policy requires AppArmor started on a host without AppArmor")
	}
	for _, want := range []string{"strict-web", "vigil-default", "AppArmor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal message does not name %q: %v", want, err)
		}
	}
	assertNothingLeft(t, "aa-required")
	d.Ctr(ctx, "containers", "delete", "aa-required")

	res := runIn(t, cfg, imgBusybox, "aa-best-effort", nil, "sh", "-c", "echo RUNNING; cat /proc/self/attr/current 2>&1; true")
	if res.ExitCode != 0 || !strings.Contains(res.Output, "RUNNING") {
		t.Fatalf("best-effort AppArmor should start the container: exit %d\n%s", res.ExitCode, res.Output)
	}
}

// A broken policy file refuses the container cleanly, naming file and line.
func TestBrokenPolicyRefuses(t *testing.T) {
	d := needDaemon(t)
	cfg := writePolicy(t, `
policies:
  - name: broken
    match: {}
    seccomp: runtime/default
    secomp: typo
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := d.Run(ctx, "", imgBusybox, "broken-policy", []string{"--runtime-config-path", cfg}, "true")
	if err == nil {
		t.Fatal("a container started under a broken policy file")
	}
	if !strings.Contains(err.Error(), cfg+":6") || !strings.Contains(err.Error(), "secomp") {
		t.Errorf("refusal does not name the file, line 6 and the field: %v", err)
	}
	assertNothingLeft(t, "broken-policy")
	d.Ctr(ctx, "containers", "delete", "broken-policy")
}

// The policy file can come from VIGIL_CONFIG in the daemon's (and so the
// shim's) environment instead of the runtime options.
func TestPolicyFromEnvironment(t *testing.T) {
	_ = needDaemon(t)
	// Covered by the harness daemon's own environment in the CRI tests; here
	// the runtime option must take precedence over anything else.
	cfg := writePolicy(t, `
policies:
  - name: none
    match: {}
    seccomp: unconfined
`)
	res := runIn(t, cfg, imgBusybox, "option-wins", nil, "grep", "Seccomp:", "/proc/self/status")
	if seccompMode(t, res.Output) != "0" {
		t.Fatalf("the runtime option's policy (unconfined) was not applied:\n%s", res.Output)
	}
}
