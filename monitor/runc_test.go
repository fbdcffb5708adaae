package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/event"
)

// findRunc returns the runc binary the runtime tests drive.
func findRunc(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("VIGIL_RUNC"), "/var/cache/vigil/runc-test"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("runc"); err == nil {
		return p
	}
	t.Skip("requires runc (set VIGIL_RUNC, or run through `make test`, which builds it): the runtime under test")
	return ""
}

type runcContainer struct {
	t      *testing.T
	runc   string
	root   string
	id     string
	bundle string
	rootfs string
	cgPath string
}

func (c *runcContainer) cmd(args ...string) *exec.Cmd {
	return exec.Command(c.runc, append([]string{"--root", c.root}, args...)...)
}

func (c *runcContainer) run(args ...string) (string, int) {
	c.t.Helper()
	var out bytes.Buffer
	cmd := c.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(interface{ Signal() os.Signal }); ok && ee.ExitCode() == -1 {
				c.t.Logf("runc %v: signal %v", args, ws.Signal())
			}
		}
	}
	return out.String(), code
}

// newRuncContainer makes a busybox bundle whose rootfs is an overlay (as
// containerd's snapshotter makes it) and runs runc create.
func newRuncContainer(t *testing.T, runc string, args []string) *runcContainer {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("requires busybox (busybox-static): the container's root file system")
	}
	base := t.TempDir()
	c := &runcContainer{
		t:      t,
		runc:   runc,
		root:   filepath.Join(base, "state"),
		id:     fmt.Sprintf("vigil-mon-%d", time.Now().UnixNano()%1e9),
		bundle: filepath.Join(base, "bundle"),
	}
	ov := newOverlay(t)
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(ov.lower, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, busybox, filepath.Join(ov.lower, "bin", "busybox"))
	for _, applet := range []string{"sh", "true", "sleep", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(ov.lower, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(c.bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	ov.mount(t)
	c.rootfs = ov.merged

	spec := exec.Command(runc, "spec", "--bundle", c.bundle)
	if out, err := spec.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v %s", err, out)
	}
	cfgPath := filepath.Join(c.bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = args
	cfg["root"] = map[string]any{"path": c.rootfs, "readonly": false}
	// One level, so that runc delete removes it from every hierarchy.
	c.cgPath = fmt.Sprintf("/vigil-test-%d-%s", os.Getpid(), c.id)
	cfg["linux"].(map[string]any)["cgroupsPath"] = c.cgPath
	raw, err = json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	create := c.cmd("create", "--bundle", c.bundle, c.id)
	create.Stdin, create.Stdout, create.Stderr = null, null, null
	if err := create.Run(); err != nil {
		t.Fatalf("runc create: %v", err)
	}
	t.Cleanup(func() { c.run("delete", "--force", c.id) })
	return c
}

func (c *runcContainer) pid() uint32 {
	c.t.Helper()
	out, code := c.run("state", c.id)
	if code != 0 {
		c.t.Fatalf("runc state: %s", out)
	}
	var st struct{ Pid uint32 }
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		c.t.Fatalf("runc state: %v: %s", err, out)
	}
	return st.Pid
}

// TestRuncExec drives a real container: the entrypoint is reported as such
// and not killed, runc's own "runc init" (a re-exec of a sealed copy of the
// runc binary) is never reported nor killed, the workload's execs are, and
// a shell exec'd with runc exec dies in the kernel.
func TestRuncExec(t *testing.T) {
	requireRoot(t)
	runc := findRunc(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	c := newRuncContainer(t, runc, []string{"/bin/sleep", "60"})

	cgid, err := CgroupID(c.cgPath)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := CgroupDir(c.cgPath)
	if err != nil {
		t.Fatal(err)
	}
	exes, err := RootfsExes(c.rootfs, map[string]uint32{"/bin/busybox": ClassMulticall})
	if err != nil {
		t.Fatal(err)
	}
	init := c.pid()
	err = m.Register(cgid, Container{
		InitTGID:     init,
		Mode:         Enforce,
		KillMask:     ClassShell | ClassDrift,
		Names:        map[string]uint32{"sh": ClassShell, "sleep": ClassShell},
		Exes:         exes,
		CgroupV2Path: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, code := c.run("start", c.id); code != 0 {
		t.Fatalf("runc start: %s", out)
	}
	// The entrypoint is in the kill mask ("sleep" is marked a shell) but
	// KillEntrypoint is off: it is reported, flagged, and runs.
	ep := events.wait(t, "entrypoint exec", execOf(int(init)))
	if !ep.Process.IsEntrypoint || ep.KernelAction != "" || ep.Process.Name != "sleep" {
		t.Errorf("entrypoint event: %+v action %q", ep.Process, ep.KernelAction)
	}

	out, code := c.run("exec", c.id, "/bin/cat", "/proc/self/cgroup")
	if code != 0 {
		t.Fatalf("runc exec cat: exit %d: %s", code, out)
	}
	catEv := events.wait(t, "exec of cat", func(ev *event.Event) bool {
		return ev.Type == event.Execve && ev.Process.Name == "cat"
	})
	if catEv.KernelAction != "" || catEv.Process.IsExeUpperLayer || catEv.Process.IsExeFromMemfd {
		t.Errorf("cat: %+v action %q", catEv.Process, catEv.KernelAction)
	}

	out, code = c.run("exec", c.id, "/bin/sh", "-c", "echo ran")
	if code != 137 || strings.Contains(out, "ran") {
		t.Errorf("runc exec sh: exit %d output %q, want killed (137) before running", code, out)
	}
	shEv := events.wait(t, "exec of sh", func(ev *event.Event) bool {
		return ev.Type == event.Execve && ev.Process.Name == "sh"
	})
	if shEv.KernelAction != "killed" {
		t.Errorf("sh: action %q", shEv.KernelAction)
	}

	// Nothing runc runs itself shows up: no runc comm, no memfd, no drift.
	for _, ev := range events.all() {
		if ev.Type != event.Execve {
			continue
		}
		if strings.HasPrefix(ev.Process.Name, "runc") || ev.Process.IsExeFromMemfd || ev.Process.Classes&ClassDrift != 0 {
			t.Errorf("runtime exec reported: %s", events.dump())
			break
		}
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v; events:%s", st, events.dump())
	c.run("kill", c.id, "KILL")
}

// TestRuntimeExecIgnored reproduces what runc exec does on a cgroup v2 host
// (clone3 CLONE_INTO_CGROUP, then exec of a sealed memfd copy of itself,
// still in the host's mount namespace, from a parent outside the
// container): those execs are neither reported nor killed, while a process
// the container itself starts in the same state is.
func TestRuntimeExecIgnored(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	dir := t.TempDir()
	self, _ := os.Executable()
	shell := helperLink(t, dir, "fakesh")
	marker := filepath.Join(dir, "ran")
	hostNS, err := mntNS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	err = m.Register(cg.id, Container{
		Mode:     Enforce,
		KillMask: ClassDrift | ClassShell,
		Names:    map[string]uint32{"fakesh": ClassShell},
		MntNS:    hostNS + 1, // the "container's" namespace: not the host's
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	rt := runIn(t, cg, self, []string{"runc"}, helperEnv+"=memfd", helperFileEnv+"="+marker)
	if !rt.state.Success() {
		t.Fatalf("runtime-like memfd exec was stopped: %v %s", rt.state, rt.stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("runtime-like memfd exec did not run: %v", err)
	}
	// A child the (runtime-like) process starts inside the container is
	// the workload: its parent is in the container's cgroup.
	wl := runIn(t, cg, self, []string{"spawner"}, helperEnv+"=spawn", helperAddrEnv+"="+shell, helperFileEnv+"="+marker+"2")
	if wl.state.ExitCode() != 128+9 {
		t.Fatalf("workload shell: %v, want its child killed", wl.state)
	}
	events.wait(t, "workload shell killed", func(ev *event.Event) bool {
		return ev.Type == event.Execve && ev.Process.Name == "fakesh" && ev.KernelAction == "killed"
	})
	for _, ev := range events.all() {
		if ev.Process.PID == uint32(rt.pid) || ev.Process.PID == uint32(wl.pid) {
			t.Errorf("runtime exec reported: %s", events.dump())
		}
	}
	after, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Kernel.RuntimeSkipped - before.Kernel.RuntimeSkipped; got != 3 {
		t.Errorf("runtime execs skipped: %d, want 3 (helper, its memfd re-exec, spawner)", got)
	}
}
