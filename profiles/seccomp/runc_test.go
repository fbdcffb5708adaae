package seccomp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// runcBinary finds a runc built with seccomp support: $VIGIL_RUNC, the
// project's tool cache, then $PATH.
func runcBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("requires root and runc: not run in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("requires root: runc creates namespaces and cgroups")
	}
	for _, p := range []string{os.Getenv("VIGIL_RUNC"), "/var/cache/vigil/runc-test"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("requires runc: set VIGIL_RUNC, or run through `make test`, which builds it")
	}
	return p
}

type bundle struct {
	runc, dir, state string
	base             specs.Spec
}

var containerSeq atomic.Int64

// newBundle makes a runc bundle whose rootfs is Debian's busybox-static
// with one symlink per applet the tests run.
func newBundle(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{runc: runcBinary(t), dir: t.TempDir(), state: t.TempDir()}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("requires a static busybox at /bin/busybox (Debian busybox-static): %v", err)
	}
	if out, err := exec.Command("file", "-L", "/bin/busybox").Output(); err == nil && !bytes.Contains(out, []byte("static")) {
		t.Skipf("requires a static busybox at /bin/busybox (Debian busybox-static): %s", out)
	}
	rootfs := filepath.Join(b.dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "true", "cat", "mkdir", "chmod", "touch"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(b.runc, "spec", "--bundle", b.dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &b.base); err != nil {
		t.Fatal(err)
	}
	b.base.Process.Terminal = false
	b.base.Root.Readonly = false
	return b
}

// spec returns a copy of the bundle's spec with noNewPrivileges set.
func (b *bundle) spec(nnp bool) *specs.Spec {
	raw, _ := json.Marshal(&b.base)
	var s specs.Spec
	_ = json.Unmarshal(raw, &s)
	s.Process.NoNewPrivileges = nnp
	return &s
}

// run runs args in a fresh container with spec and filter and returns its
// output and runc's error.
func (b *bundle) run(t *testing.T, spec *specs.Spec, filter *specs.LinuxSeccomp, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	spec.Process.Args = args
	spec.Linux.Seccomp = filter
	raw, err := json.MarshalIndent(spec, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("vigil-seccomp-%d-%d", os.Getpid(), containerSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.runc, "--root", b.state, "run", "--bundle", b.dir, id)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	_ = exec.Command(b.runc, "--root", b.state, "delete", "--force", id).Run()
	return o.String(), e.String(), err
}

// reference returns the reference profile exactly as written, plus extra
// syscalls allowed.
func reference(t *testing.T, spec *specs.Spec, extra ...string) *specs.LinuxSeccomp {
	t.Helper()
	r, err := Load(hardenedJSON, Hardened, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		r.Seccomp.Syscalls = append(r.Seccomp.Syscalls, specs.LinuxSyscall{Names: extra, Action: specs.ActAllow})
	}
	return r.Seccomp
}

// TestRuncRuntimeNeeds proves with a real runc that the reference profile
// as written stops runc's init, that the syscalls Resolve adds make it run,
// and that each added syscall is necessary.
func TestRuncRuntimeNeeds(t *testing.T) {
	b := newBundle(t)
	if out, err := exec.Command(b.runc, "--version").Output(); err == nil {
		t.Logf("%s", bytes.TrimSpace(out))
	}
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			spec := b.spec(nnp)
			r, err := Resolve(Hardened, "", spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Added, RuntimeNeeds(spec)) {
				t.Fatalf("added %v, want %v", r.Added, RuntimeNeeds(spec))
			}
			if _, stderr, err := b.run(t, b.spec(nnp), reference(t, spec), "/bin/true"); err == nil {
				t.Errorf("the reference profile without additions ran; runc's needs have changed (stderr %q)", stderr)
			}
			if _, stderr, err := b.run(t, b.spec(nnp), r.Seccomp, "/bin/true"); err != nil {
				t.Fatalf("with %v added: %v: %s", r.Added, err, stderr)
			}
			for _, name := range r.Added {
				others := slices.DeleteFunc(slices.Clone(r.Added), func(s string) bool { return s == name })
				_, stderr, err := b.run(t, b.spec(nnp), reference(t, spec, others...), "/bin/true")
				if err == nil {
					t.Errorf("runs without %s: it is not a runtime need", name)
					continue
				}
				if !strings.Contains(stderr, name) {
					t.Errorf("without %s runc failed for another reason: %s", name, stderr)
				}
				t.Logf("without %s: %s", name, strings.TrimSpace(stderr))
			}
		})
	}
}

// TestRuncHardenedDeniesInside shows the filter is on in the workload and
// that a syscall the reference profile lacks fails with EPERM.
func TestRuncHardenedDeniesInside(t *testing.T) {
	b := newBundle(t)
	spec := b.spec(true)
	r, err := Resolve(Hardened, "", spec)
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := b.run(t, b.spec(true), r.Seccomp, "/bin/cat", "/proc/self/status")
	if err != nil {
		t.Fatalf("cat /proc/self/status: %v: %s", err, stderr)
	}
	if !strings.Contains(out, "Seccomp:\t2\n") {
		t.Errorf("workload not in seccomp filter mode:\n%s", out)
	}
	// mkdir(2)/mkdirat(2) and fchmodat(2) are not in the reference profile.
	for _, args := range [][]string{
		{"/bin/mkdir", "/tmp/denied"},
		{"/bin/chmod", "1777", "/tmp"},
	} {
		_, stderr, err := b.run(t, b.spec(true), r.Seccomp, args...)
		if err == nil || !strings.Contains(stderr, "Operation not permitted") {
			t.Errorf("%v under the hardened profile: err %v, stderr %q; want EPERM", args, err, stderr)
		}
		// Control: the same command succeeds without a filter.
		unconfined, err := Resolve(Unconfined, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, stderr, err := b.run(t, b.spec(true), unconfined.Seccomp, args...); err != nil {
			t.Errorf("%v unconfined: %v: %s", args, err, stderr)
		}
	}
}
