package monitor

import (
	"fmt"
	"testing"
)

// typicalContainer is a registration as large as the reference rule set
// makes: the names of shells, package managers, network tools, miners and
// interpreters, and the inodes of a busybox image.
func typicalContainer() Container {
	names := map[string]uint32{}
	for _, n := range []string{"sh", "bash", "ash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox"} {
		names[n] = ClassShell
	}
	for _, n := range []string{"apt", "apt-get", "dpkg", "yum", "dnf", "rpm", "apk", "pip", "pip3", "npm", "gem", "zypper"} {
		names[n] = ClassPkgMgr
	}
	for _, n := range []string{"nc", "ncat", "netcat", "socat", "curl", "wget", "telnet", "nmap", "tcpdump", "ssh"} {
		names[n] = ClassNetTool
	}
	for _, n := range []string{"xmrig", "minerd", "cpuminer", "ethminer", "cgminer", "t-rex"} {
		names[n] = ClassMiner
	}
	for _, n := range []string{"python", "python3", "perl", "ruby", "node", "php", "lua"} {
		names[n] = ClassInterpreter
	}
	for _, n := range []string{"gcc", "cc", "g++", "make", "go", "rustc"} {
		names[n] = ClassCompiler
	}
	exes := make([]Exe, 0, 8)
	for i := uint64(0); i < 8; i++ {
		exes = append(exes, Exe{Dev: 0x2a, Ino: 1000 + i, Class: ClassMulticall})
	}
	return Container{Mode: Enforce, KillMask: ClassShell | ClassRevShell, Names: names, Exes: exes}
}

// The design budget: one monitored container costs at most 64 KiB of
// kernel memory (its map entries plus a ring buffer of its own).
const memoryBudget = 64 << 10

func TestKernelMemoryPerContainer(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	c := typicalContainer()
	got, err := m.MeasureContainerMemory(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one container (%d names, %d exes): entries %d B + ring buffer %d B = %d B",
		len(c.Names), len(c.Exes), got.Entries, got.RingBuffer, got.Total())
	if got.Entries == 0 || got.RingBuffer < DefaultRingBufferSize {
		t.Errorf("measurement %+v: entries and ring buffer must be counted", got)
	}
	if got.Total() > memoryBudget {
		t.Errorf("kernel memory per container %d B > budget %d B", got.Total(), memoryBudget)
	}
	all, err := m.KernelMemory()
	if err != nil {
		t.Fatal(err)
	}
	for _, mm := range all {
		t.Logf("%-24s %8d B", mm.Name, mm.Bytes)
	}
}

// BenchmarkRegister measures Register+Unregister of a typical container and
// reports its kernel memory ("kernel-B/container"), for `make bench`.
func BenchmarkRegister(b *testing.B) {
	if err := Features().Required(); err != nil {
		b.Skipf("requires root and the monitor's kernel features: %v", err)
	}
	opts := Options{PinRoot: fmt.Sprintf("/sys/fs/bpf/vigil-bench-%d", b.N), LockPath: b.TempDir() + "/lock"}
	m, err := Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		m.Close()
		_ = Unload(opts)
	}()
	c := typicalContainer()
	mem, err := m.MeasureContainerMemory(c)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := uint64(1)<<62 | uint64(i)
		if err := m.Register(id, c); err != nil {
			b.Fatal(err)
		}
		if err := m.Unregister(id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(mem.Total()), "kernel-B/container")
	b.ReportMetric(float64(mem.Entries), "entries-B/container")
}
