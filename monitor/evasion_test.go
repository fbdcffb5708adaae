package monitor

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
)

// The kernel decides a multi-call binary's applet as busybox does: each
// case below runs a shell under the host's busybox (checked by hand), and
// the kernel must call it one.
func TestMulticallAppletAsBusyboxDecides(t *testing.T) {
	requireRoot(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("requires busybox (busybox-static): the multicall binary under test")
	}
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(rootfs, "bin", "busybox")
	copyFile(t, busybox, bb)
	exes, err := RootfsExes(rootfs, map[string]uint32{"/bin/busybox": ClassMulticall})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(cg.id, Container{Mode: Audit, Exes: exes, Names: map[string]uint32{"sh": ClassShell}}); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "busybox-x")
	if err := os.Symlink(bb, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		path  string
		argv  []string
		shell bool
	}{
		{"applet by path", bb, []string{"busybox", "/bin/sh", "-c", "true"}, true},
		{"nested multiplexer", bb, []string{"busybox", "busybox", "sh", "-c", "true"}, true},
		{"login shell argv0", bb, []string{"-sh", "-c", "true"}, true},
		{"dash before the path", bb, []string{"-/bin/sh", "-c", "true"}, true},
		{"prefixed argv0", bb, []string{"busybox.x", "sh", "-c", "true"}, true},
		{"symlink named busybox-x", link, []string{link, "sh", "-c", "true"}, true},
		{"applet not a shell", bb, []string{"busybox", "true", "sh"}, false},
		{"dash inside a path is kept", bb, []string{"/x/-sh", "-c", "true"}, false},
		{"trailing slash names nothing", bb, []string{"busybox", "sh/"}, false},
		{"multiplexer alone", bb, []string{"busybox"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, cg, tc.path, tc.argv)
			ev := events.wait(t, tc.name, execOf(r.pid))
			if got := ev.Process.Classes&ClassShell != 0; got != tc.shell {
				t.Errorf("%q: classes %s, shell %v want %v", tc.argv, ClassString(ev.Process.Classes), got, tc.shell)
			}
		})
	}
}

// A #! script's own file decides drift, not only its interpreter's: one
// written into the overlay's upper layer is drift, one from the lower
// layer is not, whatever runs it. The script is found behind what the exec
// released after it (the old program's file): an upper-layer shell that
// execs a lower-layer script does not make the script drift, a lower-layer
// shell that execs an upper-layer script does.
func TestScriptDrift(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skipf("requires /bin/sh as the scripts' interpreter: %v", err)
	}
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	ov := newOverlay(t)
	script := []byte("#!/bin/sh\nexit 0\n")
	lower := filepath.Join(ov.merged, "lowerscript")
	if err := os.WriteFile(filepath.Join(ov.lower, "lowerscript"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "/bin/sh", filepath.Join(ov.lower, "lowersh"))
	ov.mount(t)
	upper := filepath.Join(ov.merged, "upperscript")
	if err := os.WriteFile(upper, script, 0o755); err != nil {
		t.Fatal(err)
	}
	uppersh := filepath.Join(ov.merged, "uppersh")
	copyFile(t, "/bin/sh", uppersh)
	if err := m.Register(cg.id, Container{Mode: Audit}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		argv   []string
		script string
		drift  bool
	}{
		{"lower-layer script", lower, []string{"lowerscript"}, lower, false},
		{"upper-layer script", upper, []string{"upperscript"}, upper, true},
		{"upper-layer script run by a lower-layer shell", filepath.Join(ov.merged, "lowersh"), []string{"sh", "-c", "exec " + upper}, upper, true},
		{"lower-layer script run by an upper-layer shell", uppersh, []string{"sh", "-c", "exec " + lower}, lower, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, cg, tc.path, tc.argv)
			if !r.state.Success() {
				t.Fatalf("%s: %v %s", tc.path, r.state, r.stderr)
			}
			ev := events.wait(t, tc.name, func(ev *event.Event) bool {
				return execOf(r.pid)(ev) && ev.Process.ExePath == tc.script
			})
			drift := ev.Process.Classes&ClassDrift != 0
			if drift != tc.drift || ev.Process.IsExeUpperLayer != tc.drift {
				t.Errorf("%s: upper=%v classes %s, want drift %v", tc.script, ev.Process.IsExeUpperLayer, ClassString(ev.Process.Classes), tc.drift)
			}
		})
	}
}
