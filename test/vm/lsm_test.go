package vm

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// monitorBinary builds package monitor's tests once per run.
func monitorBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "monitor.test")
	start := time.Now()
	if err := BuildTestBinary("./monitor", bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the monitor tests in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// pagingProbe prints the guest's paging mode before the tests run
// (no5lvl clears la57).
const pagingProbe = `if grep -q -w la57 /proc/cpuinfo; then echo "paging: 5-level"; else echo "paging: 4-level"; fi`

// boot is one VM run of the monitor tests.
type boot struct {
	name    string
	cmdline string
	// exec is the exec enforcement the monitor must choose there
	// (VIGIL_TEST_EXEC_ENFORCEMENT: skips become failures).
	exec   string
	paging string // "4-level" or "5-level" when it matters
	tests  []string
}

// TestLSMExecEnforcementOnDebianKernel boots Debian's kernel (see
// DebianKernel) and runs package monitor's tests that need BPF LSM there:
//
//   - with bpf in lsm= and 5-level paging (when the CPU has la57), and
//     with no5lvl (4-level): the LSM hook is attached and refuses forbidden
//     execs with EPERM in a surviving process, reports them "denied", lets
//     other cgroups run them, and sees each exec as the tracepoint does;
//   - without bpf in lsm=: the monitor falls back to the tracepoint, which
//     kills them.
//
// Each boot also measures how long stopping an exec takes on its path.
func TestLSMExecEnforcementOnDebianKernel(t *testing.T) {
	k := requireVM(t)
	accel, why := Accelerator()
	t.Logf("kernel %s, accelerator %s (%s)", k.Version, accel, why)
	bin := monitorBinary(t)
	const withBPF = "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 oops=panic quiet loglevel=4"
	boots := []boot{
		{
			name: "lsm", cmdline: withBPF, exec: "lsm",
			tests: []string{"TestExecEnforcementPath", "TestLSMHookVerifies", "TestLSMDeniesExec", "TestLSMSameDecisionAsTracepoint", "TestExecEnforcementLatency"},
		},
		{
			name: "lsm-4-level", cmdline: withBPF + " no5lvl", exec: "lsm", paging: "4-level",
			tests: []string{"TestLSMDeniesExec", "TestLSMSameDecisionAsTracepoint"},
		},
		{
			name: "tracepoint", cmdline: strings.Replace(withBPF, ",bpf ", " ", 1), exec: "tracepoint",
			tests: []string{"TestExecEnforcementPath", "TestKillShellBeforeItRuns", "TestUnregisteredCgroupIsSilent", "TestExecEnforcementLatency"},
		},
	}
	for _, b := range boots {
		t.Run(b.name, func(t *testing.T) {
			res, err := RunGoTest(context.Background(), GoTest{
				Args:   []string{"-test.v", "-test.count=1", "-test.run=^(" + strings.Join(b.tests, "|") + ")$"},
				Env:    []string{"VIGIL_TEST_EXEC_ENFORCEMENT=" + b.exec},
				Shell:  pagingProbe,
				Config: Config{Kernel: k, Cmdline: b.cmdline, Timeout: 3 * time.Minute},
			}, bin)
			if err != nil {
				t.Fatalf("%v\noutput:\n%s", err, res.Output)
			}
			t.Logf("boot %q: %v, exit %d", b.cmdline, res.Elapsed.Round(time.Millisecond), res.ExitCode)
			for _, l := range strings.Split(res.Output, "\n") {
				if strings.HasPrefix(l, "paging:") || strings.Contains(l, "exec enforcement:") || strings.Contains(l, "exec stopped") || strings.Contains(l, " program: ") {
					t.Log(strings.TrimSpace(l))
				}
			}
			if res.ExitCode != 0 {
				t.Fatalf("monitor tests failed in the VM:\n%s", res.Output)
			}
			for _, name := range b.tests {
				if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).MatchString(res.Output) {
					t.Errorf("%s did not pass in the VM:\n%s", name, res.Output)
				}
			}
			if b.paging != "" && !strings.Contains(res.Output, "paging: "+b.paging) {
				t.Errorf("the guest did not use %s paging:\n%s", b.paging, res.Output)
			}
		})
	}
}

// TestMonitorSuiteOnDebianKernel runs package monitor's tests on Debian's
// kernel with the tracepoint path (the existing kill tests expect SIGKILL),
// except two that need what the guest lacks: TestEgressPolicy runs
// iproute2's ip (busybox's has no nodad) and TestKernelMemoryPerContainer
// reads map memory use from fdinfo, which 6.1 does not report (memlock is
// a fixed estimate there). It takes about two minutes under TCG: opt in
// with VIGIL_VM_FULL=1.
func TestMonitorSuiteOnDebianKernel(t *testing.T) {
	if os.Getenv("VIGIL_VM_FULL") != "1" {
		t.Skip("opt-in (VIGIL_VM_FULL=1): runs the monitor tests in the VM, about two minutes under TCG")
	}
	k := requireVM(t)
	res, err := RunGoTest(context.Background(), GoTest{
		Args:   []string{"-test.v", "-test.count=1", "-test.skip=^(TestEgressPolicy|TestKernelMemoryPerContainer)$"},
		Env:    []string{"VIGIL_TEST_EXEC_ENFORCEMENT=tracepoint"},
		Shell:  pagingProbe,
		Config: Config{Kernel: k, Cmdline: "console=ttyS0 lsm=lockdown,capability,landlock,yama panic=-1 quiet", Timeout: 15 * time.Minute},
	}, monitorBinary(t))
	if err != nil {
		t.Fatalf("%v\noutput:\n%s", err, res.Output)
	}
	var summary []string
	for _, l := range strings.Split(res.Output, "\n") {
		if strings.HasPrefix(l, "--- ") {
			summary = append(summary, l)
		}
	}
	t.Logf("%v, exit %d:\n%s", res.Elapsed.Round(time.Second), res.ExitCode, strings.Join(summary, "\n"))
	if res.ExitCode != 0 {
		t.Errorf("monitor tests failed on %s:\n%s", k.Version, res.Output)
	}
}
