package shim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// The kernel filter compiled from the built-in rules: names per class and
// the classes the default policy kills. Only netcat's family is a network
// tool whose -e the kernel treats as a reverse shell; "perl -e" and
// "sh -e" (errexit) are not.
func TestKernelPlanBuiltin(t *testing.T) {
	rs, _, err := rules.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	k := kernelPlan(rs, policy.Monitor{Mode: policy.ModeEnforce, KillAt: policy.PriorityCritical})
	tests := []struct {
		name string
		want uint32
	}{
		{"sh", monitor.ClassShell},
		{"bash", monitor.ClassShell},
		{"apk", monitor.ClassPkgMgr},
		{"xmrig", monitor.ClassMiner},
		{"nc", monitor.ClassNetTool},
		{"ncat", monitor.ClassNetTool},
		{"perl", 0},
		{"ruby", 0},
		{"python3", 0},
		{"socat", 0},
	}
	for _, tt := range tests {
		if got := k.names[tt.name]; got != tt.want {
			t.Errorf("names[%q] = %s, want %s", tt.name, monitor.ClassString(got), monitor.ClassString(tt.want))
		}
	}
	if want := monitor.ClassMiner | monitor.ClassRevShell | monitor.ClassDrift; k.killMask != want {
		t.Errorf("kill mask %s, want %s", monitor.ClassString(k.killMask), monitor.ClassString(want))
	}
	raised := kernelPlan(rs, policy.Monitor{Mode: policy.ModeEnforce, KillAt: policy.PriorityCritical, Kill: []string{"tag:shell"}})
	if raised.killMask&monitor.ClassShell == 0 {
		t.Errorf("tag:shell raised to kill: mask %s lacks shell", monitor.ClassString(raised.killMask))
	}
	if audit := kernelPlan(rs, policy.Monitor{Mode: policy.ModeAudit, KillAt: policy.PriorityCritical}); audit.killMask != 0 {
		t.Errorf("audit mode kills %s in the kernel", monitor.ClassString(audit.killMask))
	}
}

// classifyExes on a rootfs with busybox (applets as symbolic links), dash
// reached as sh, and a package manager of its own: busybox is multi-call,
// dash is a shell by its inode whatever it is called.
func TestClassifyExes(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/bin", "sbin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte("\x7fELF "+p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/busybox")
	link("/bin/busybox", "bin/ash")
	link("/bin/busybox", "usr/bin/nc")
	write("usr/bin/dash")
	link("/usr/bin/dash", "bin/sh")
	write("sbin/apk")
	write("usr/bin/zsh")
	link("zsh", "usr/bin/rzsh") // not named by the rules: zsh stays zsh
	names := map[string]uint32{
		"sh": monitor.ClassShell, "ash": monitor.ClassShell, "dash": monitor.ClassShell, "zsh": monitor.ClassShell,
		"nc": monitor.ClassNetTool, "apk": monitor.ClassPkgMgr,
	}
	exes, identity, err := classifyExes(root, names)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		class    uint32
		identity string
	}{
		"bin/busybox":  {monitor.ClassMulticall, multicallMarker + "busybox"},
		"usr/bin/dash": {monitor.ClassShell, "dash"},
		"sbin/apk":     {monitor.ClassPkgMgr, "apk"},
		"usr/bin/zsh":  {monitor.ClassShell, "zsh"},
	}
	if len(exes) != len(want) {
		t.Fatalf("%d executables, want %d: %+v", len(exes), len(want), exes)
	}
	for p, w := range want {
		e, err := monitor.StatExe(filepath.Join(root, p), 0)
		if err != nil {
			t.Fatal(err)
		}
		key := [2]uint64{e.Dev, e.Ino}
		var got *monitor.Exe
		for i := range exes {
			if exes[i].Dev == e.Dev && exes[i].Ino == e.Ino {
				got = &exes[i]
			}
		}
		if got == nil || got.Class != w.class || identity[key] != w.identity {
			t.Errorf("%s: exe %+v identity %q; want class %s identity %q", p, got, identity[key], monitor.ClassString(w.class), w.identity)
		}
	}
}

// Reached under names of different classes, a file is multi-call even when
// one of them is its own.
func TestClassifyExesMixedClasses(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/sh"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sh", filepath.Join(root, "bin/nc")); err != nil {
		t.Fatal(err)
	}
	exes, identity, err := classifyExes(root, map[string]uint32{"sh": monitor.ClassShell, "nc": monitor.ClassNetTool})
	if err != nil {
		t.Fatal(err)
	}
	if len(exes) != 1 || exes[0].Class != monitor.ClassMulticall || identity[[2]uint64{exes[0].Dev, exes[0].Ino}] != multicallMarker+"sh" {
		t.Fatalf("exes %+v identity %v", exes, identity)
	}
}
