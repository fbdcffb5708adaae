package vm

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// requireVM skips when this machine cannot boot the VM and returns the
// kernel to boot.
func requireVM(t *testing.T) *Kernel {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM: not in -short mode")
	}
	if err := Available(); err != nil {
		t.Skipf("requires qemu: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("requires root: downloads the kernel into the cache")
	}
	k, err := DebianKernel()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWriteInitramfs(t *testing.T) {
	var a, b bytes.Buffer
	files := []File{
		{Path: "bin/x", Mode: 0o755, Data: []byte("abc")},
		{Path: "/bin/sh", Mode: fs.ModeSymlink, Data: []byte("busybox")},
	}
	if err := WriteInitramfs(&a, files); err != nil {
		t.Fatal(err)
	}
	if err := WriteInitramfs(&b, []File{files[1], files[0]}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("archive depends on the order of the files")
	}
	s := a.String()
	if a.Len()%4 != 0 || !strings.HasPrefix(s, "070701") || !strings.Contains(s, "bin\x00") ||
		!strings.Contains(s, "bin/sh\x00") || !strings.Contains(s, "TRAILER!!!\x00") {
		t.Errorf("archive %q", s)
	}
}

// TestBoot boots the Debian kernel and checks what the monitor's VM tests
// rely on: BPF in the active LSMs, BTF, cgroup2 and bpffs mounted.
func TestBoot(t *testing.T) {
	k := requireVM(t)
	res, err := Run(context.Background(), Config{
		Kernel:  k,
		Command: []string{"sh", "-c", "uname -r; cat /sys/kernel/security/lsm; echo; ls /sys/kernel/btf/vmlinux; grep -o -w -m1 la57 /proc/cpuinfo; cut -d' ' -f2,3 /proc/mounts; exit 7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	accel, why := Accelerator()
	t.Logf("boot+run %v (%s: %s):\n%s", res.Elapsed, accel, why, res.Output)
	if res.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", res.ExitCode)
	}
	for _, want := range []string{k.Version + "-amd64", "bpf", "/sys/kernel/btf/vmlinux", "/sys/fs/cgroup cgroup2", "/sys/fs/bpf bpf"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"6.1.0-9", "6.1.0-57", true},
		{"6.1.0-57", "6.1.0-9", false},
		{"6.1.0-57", "6.12.0-1", true},
		{"6.1.0-57", "6.1.0-57", false},
	} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
