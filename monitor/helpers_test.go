package monitor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/event"
)

// The test binary doubles as the workload the kernel hook sees: with
// helperEnv set, TestMain runs one helper action instead of the tests.
const (
	helperEnv     = "VIGIL_MONITOR_HELPER"
	helperFileEnv = "VIGIL_MONITOR_HELPER_FILE"
	helperAddrEnv = "VIGIL_MONITOR_HELPER_ADDR"
	exitEPERM     = 13
)

func TestMain(m *testing.M) {
	if action := os.Getenv(helperEnv); action != "" {
		os.Exit(runHelper(action))
	}
	os.Exit(m.Run())
}

func runHelper(action string) int {
	if h, ok := moreHelpers[action]; ok {
		return h()
	}
	switch action {
	case "touch":
		if err := os.WriteFile(os.Getenv(helperFileEnv), []byte("ran\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return 0
	case "noop":
		return 0
	case "bpffs":
		// In a private mount namespace: hide bpffs, then Open must mount it.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := unix.Mount("tmpfs", "/sys/fs/bpf", "tmpfs", 0, "size=1m"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts := Options{PinRoot: "/sys/fs/bpf/vigil", LockPath: os.Getenv(helperFileEnv)}
		m, err := Open(opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "Open:", err)
			return 3
		}
		m.Close()
		var sfs unix.Statfs_t
		if err := unix.Statfs("/sys/fs/bpf", &sfs); err != nil || sfs.Type != unix.BPF_FS_MAGIC {
			fmt.Fprintln(os.Stderr, "not bpffs after Open:", err)
			return 4
		}
		if err := Unload(opts); err != nil {
			fmt.Fprintln(os.Stderr, "Unload:", err)
			return 5
		}
		return 0
	case "spawn":
		// Run the program named by helperAddrEnv as a child ("touch").
		cmd := exec.Command(os.Getenv(helperAddrEnv))
		cmd.Env = []string{helperEnv + "=touch", helperFileEnv + "=" + os.Getenv(helperFileEnv)}
		err := cmd.Run()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		if err != nil {
			return 2
		}
		return 0
	case "connect", "connect6":
		network := "tcp4"
		if action == "connect6" {
			network = "tcp6"
		}
		c, err := net.Dial(network, os.Getenv(helperAddrEnv))
		return netExit(err, c)
	case "sendto":
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 2
		}
		defer pc.Close()
		addr, err := net.ResolveUDPAddr("udp4", os.Getenv(helperAddrEnv))
		if err != nil {
			return 2
		}
		_, err = pc.WriteTo([]byte("x"), addr)
		return netExit(err, nil)
	case "memfd":
		// Copy this binary into a memfd and fexecve it as "touch".
		fd, err := unix.MemfdCreate("vigil-test", unix.MFD_CLOEXEC)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		self, err := os.Open("/proc/self/exe")
		if err != nil {
			return 2
		}
		if _, err := io.Copy(os.NewFile(uintptr(fd), "memfd"), self); err != nil {
			return 2
		}
		env := []string{helperEnv + "=touch"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, helperEnv+"=") {
				env = append(env, kv)
			}
		}
		fmt.Fprintln(os.Stderr, "execveat:", execveat(fd, []string{"memfd-child"}, env))
		return 2
	}
	fmt.Fprintln(os.Stderr, "unknown helper action", action)
	return 2
}

// execveat runs execveat(fd, "", argv, env, AT_EMPTY_PATH) (fexecve).
func execveat(fd int, argv, env []string) error {
	path, err := syscall.BytePtrFromString("")
	if err != nil {
		return err
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

func netExit(err error, c io.Closer) int {
	if c != nil {
		c.Close()
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, syscall.EPERM):
		return exitEPERM
	default:
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
}

// requireRoot skips unless the test can load BPF programs and create
// cgroups.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("requires root: loads BPF programs and creates cgroups")
	}
	if err := Features().Required(); err != nil {
		t.Skipf("requires the kernel features the monitor needs: %v", err)
	}
}

// testOptions gives each test its own pinned set and lock.
func testOptions(t *testing.T) Options {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	opts := Options{
		PinRoot:  fmt.Sprintf("/sys/fs/bpf/vigil-test-%d-%s", os.Getpid(), name),
		LockPath: filepath.Join(os.TempDir(), fmt.Sprintf("vigil-monitor-test-%d.lock", os.Getpid())),
	}
	t.Cleanup(func() {
		if err := Unload(opts); err != nil {
			t.Errorf("Unload: %v", err)
		}
	})
	return opts
}

func openMonitor(t *testing.T, opts Options) *Monitor {
	t.Helper()
	m, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// testCgroup is a cgroup2 directory the test created.
type testCgroup struct {
	dir string
	id  uint64
}

var cgSeq struct {
	sync.Mutex
	n int
}

func newCgroup(t *testing.T) testCgroup {
	t.Helper()
	root, err := UnifiedMount()
	if err != nil {
		t.Skipf("requires a cgroup2 hierarchy: %v", err)
	}
	cgSeq.Lock()
	cgSeq.n++
	n := cgSeq.n
	cgSeq.Unlock()
	dir := filepath.Join(root, fmt.Sprintf("vigil-test-%d-%d", os.Getpid(), n))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() {
		// Processes are gone once their Wait returned; retry briefly for
		// the kernel to release the cgroup.
		for i := 0; i < 50; i++ {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("cgroup %s not removed", dir)
	})
	id, err := CgroupIDOfDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return testCgroup{dir: dir, id: id}
}

// helperLink makes a symlink named name to the test binary, so the exec's
// comm is name.
func helperLink(t *testing.T, dir, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyFile copies src to dst with mode 0755.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

type run struct {
	pid    int
	state  *os.ProcessState
	stderr string
}

func (r run) signaled() syscall.Signal {
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

// runOpts tweak runIn's command.
type runOpt func(*exec.Cmd)

// withTTY makes tty the child's stdin and controlling terminal.
func withTTY(tty *os.File) runOpt {
	return func(c *exec.Cmd) {
		c.Stdin = tty
		c.SysProcAttr.Setsid = true
		c.SysProcAttr.Setctty = true
		c.SysProcAttr.Ctty = 0
	}
}

// runIn starts path with argv in the cgroup from its first instruction
// (clone3 CLONE_INTO_CGROUP) and waits for it.
func runIn(t *testing.T, cg testCgroup, path string, argv []string, env ...string) run {
	return runInWith(t, cg, path, argv, env)
}

func runInWith(t *testing.T, cg testCgroup, path string, argv []string, env []string, opts ...runOpt) run {
	t.Helper()
	fd, err := unix.Open(cg.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var stderr strings.Builder
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         append(os.Environ(), env...),
		Stderr:      &stderr,
		SysProcAttr: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd},
	}
	for _, o := range opts {
		o(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", path, cg.dir, err)
	}
	_ = cmd.Wait()
	return run{pid: cmd.Process.Pid, state: cmd.ProcessState, stderr: stderr.String()}
}

// collector gathers a Monitor's events.
type collector struct {
	mu     sync.Mutex
	events []*event.Event
	notify chan struct{}
}

func collect(t *testing.T, m *Monitor) *collector {
	c := &collector{notify: make(chan struct{}, 1)}
	go func() {
		for ev := range m.Events() {
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

// wait returns the first event matching pred, failing after 5 s.
func (c *collector) wait(t *testing.T, what string, pred func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		for _, ev := range c.events {
			if pred(ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("no event: %s; got %s", what, c.dump())
			return nil
		}
	}
}

func (c *collector) all() []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*event.Event(nil), c.events...)
}

func (c *collector) dump() string {
	var b strings.Builder
	for _, ev := range c.all() {
		fmt.Fprintf(&b, "\n  %s pid=%d name=%q exe=%q path=%q args=%q cg=%d class=%s upper=%v memfd=%v action=%q file=%+v",
			ev.Type, ev.Process.PID, ev.Process.Name, ev.Process.Exe, ev.Process.ExePath, ev.Process.Args,
			ev.Container.CgroupID, ClassString(ev.Process.Classes), ev.Process.IsExeUpperLayer,
			ev.Process.IsExeFromMemfd, ev.KernelAction, ev.File)
	}
	return b.String()
}

func execOf(pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Type == event.Execve && ev.Process.PID == uint32(pid) }
}
