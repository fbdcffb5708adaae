package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/bpf"
	"github.com/vigil-dev/vigil/monitor/event"
)

// Helper actions of the egress tests (see runHelper).
var moreHelpers = map[string]func() int{
	"egress-probe": helperEgressProbe,
	"hold":         helperHold,
}

const (
	helperProbesEnv = "VIGIL_MONITOR_PROBES" // "tcp4 10.0.0.1:443;udp6 [fd00::1]:53"
	helperAddrsEnv  = "VIGIL_MONITOR_ADDRS"  // addresses to put on lo: "10.0.0.1/32,fd00::1/128"
)

// helperEgressProbe runs in a network namespace of its own: it puts the
// test addresses on lo, listens on TCP port 443 (both families), runs each
// probe and prints "<probe> <result>" lines on stderr, the result being
// "ok" or the errno name (EPERM when the kernel refused).
func helperEgressProbe() int {
	cmds := [][]string{{"ip", "link", "set", "lo", "up"}}
	for _, a := range strings.Split(os.Getenv(helperAddrsEnv), ",") {
		if a == "" {
			continue
		}
		args := []string{"ip", "addr", "add", a, "dev", "lo"}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		cmds = append(cmds, args)
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "setup %v: %v %s\n", c, err, out)
			return 2
		}
	}
	ln, err := net.Listen("tcp", "[::]:443")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 2
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
	for _, p := range strings.Split(os.Getenv(helperProbesEnv), ";") {
		if p == "" {
			continue
		}
		fmt.Fprintf(os.Stderr, "%s %s\n", p, probe(p))
	}
	return 0
}

// probe runs one probe "<kind> <addr:port>": tcp4/tcp6 connect, udp4/udp6
// sendto on an unconnected socket, udpc4/udpc6 connect of a UDP socket.
// tcp6 and udp6 keep an IPv4-mapped address as it is (AF_INET6).
func probe(p string) string {
	kind, target, _ := strings.Cut(p, " ")
	ap, err := netip.ParseAddrPort(target)
	if err != nil {
		return "bad-probe"
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if !strings.HasSuffix(kind, "6") {
		if !ap.Addr().Unmap().Is4() {
			return "bad-probe"
		}
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	typ := unix.SOCK_DGRAM
	if strings.HasPrefix(kind, "tcp") {
		typ = unix.SOCK_STREAM
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "socket:" + err.Error()
	}
	defer unix.Close(fd)
	if strings.HasPrefix(kind, "udp") && !strings.HasPrefix(kind, "udpc") {
		err = unix.Sendto(fd, []byte("x"), 0, sa)
	} else {
		err = unix.Connect(fd, sa)
	}
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// helperHold connects to helperAddrEnv and writes one line to the
// connection for each line read on stdin, printing "sent" or the error on
// stdout.
func helperHold() int {
	c, err := net.Dial("tcp4", os.Getenv(helperAddrEnv))
	if err != nil {
		fmt.Println("dial:", err)
		return 2
	}
	defer c.Close()
	fmt.Println("connected")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if _, err := c.Write([]byte(sc.Text() + "\n")); err != nil {
			fmt.Println("write:", err)
			continue
		}
		fmt.Println("sent")
	}
	return 0
}

// inNewNetns runs the helper in a network namespace of its own.
func inNewNetns(c *exec.Cmd) { c.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET }

// probeResults parses the helper's "<probe> <result>" lines.
func probeResults(t *testing.T, stderr string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(stderr, "\n") {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		out[l[:i]] = l[i+1:]
	}
	return out
}

func writeFeed(t *testing.T, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// The egress policy in the kernel, on a helper in a network namespace of
// its own whose lo carries test addresses: allowed ports and CIDRs, a
// deny file, IPv4, IPv6 and IPv4-mapped IPv6, TCP connects, UDP connects
// and datagrams; enforce refuses with EPERM, audit lets through, both
// report; a cgroup without the policy and the test process itself are not
// affected; a reloaded deny file takes effect on the next connect.
func TestEgressPolicy(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	events := collect(t, m)
	self, _ := os.Executable()
	feed := filepath.Join(t.TempDir(), "threats.txt")
	writeFeed(t, feed, "# test feed", "10.213.9.2", "fd42:213::2 ; a comment", "198.51.100.0/24")
	addrs := "10.213.9.1/32,10.213.9.2/32,10.214.0.1/32,fd42:213::1/128,fd42:213::2/128,fd43::1/128"
	policy := &Egress{
		Mode:       EgressEnforce,
		AllowPorts: []uint16{443, 53},
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("10.213.9.0/24"), netip.MustParsePrefix("fd42:213::/64")},
		DenyFiles:  []string{feed},
	}
	type want struct{ result, reason string }
	cases := []struct {
		probe string
		want  want
	}{
		{"tcp4 10.213.9.1:443", want{"ok", ""}},
		{"tcp4 10.213.9.1:8080", want{"EPERM", ReasonPort}},
		{"tcp4 10.213.9.2:443", want{"EPERM", ReasonDenyList}},
		{"tcp4 10.214.0.1:443", want{"EPERM", ReasonCIDR}},
		{"tcp4 127.0.0.1:8080", want{"ECONNREFUSED", ""}}, // loopback: always allowed
		{"tcp6 [::1]:8080", want{"ECONNREFUSED", ""}},
		{"tcp6 [fd42:213::1]:443", want{"ok", ""}},
		{"tcp6 [fd42:213::2]:443", want{"EPERM", ReasonDenyList}},
		{"tcp6 [fd43::1]:443", want{"EPERM", ReasonCIDR}},
		{"tcp6 [::ffff:10.213.9.2]:443", want{"EPERM", ReasonDenyList}},
		{"tcp6 [::ffff:10.213.9.1]:443", want{"ok", ""}},
		{"udp4 10.213.9.1:53", want{"ok", ""}},
		{"udp4 10.213.9.1:5353", want{"EPERM", ReasonPort}},
		{"udp4 10.213.9.2:53", want{"EPERM", ReasonDenyList}},
		{"udp6 [fd42:213::2]:53", want{"EPERM", ReasonDenyList}},
		{"udp6 [fd42:213::1]:53", want{"ok", ""}},
		{"udpc4 10.213.9.2:53", want{"EPERM", ReasonDenyList}},
		{"udpc6 [fd43::1]:53", want{"EPERM", ReasonCIDR}},
	}
	var probes []string
	for _, c := range cases {
		probes = append(probes, c.probe)
	}
	env := []string{helperEnv + "=egress-probe", helperAddrsEnv + "=" + addrs, helperProbesEnv + "=" + strings.Join(probes, ";")}
	isProbe := func(pid int, probe string) func(*event.Event) bool {
		kind, target, _ := strings.Cut(probe, " ")
		ap := netip.MustParseAddrPort(target)
		proto := "udp"
		if strings.HasPrefix(kind, "tcp") {
			proto = "tcp"
		}
		return func(ev *event.Event) bool {
			return ev.Type == event.Connect && ev.Process.PID == uint32(pid) && ev.File.L4Proto == proto &&
				ev.File.SIP == ap.Addr().Unmap().String() && ev.File.SPort == ap.Port()
		}
	}

	for _, mode := range []EgressMode{EgressEnforce, EgressAudit} {
		name := map[EgressMode]string{EgressEnforce: "enforce", EgressAudit: "audit"}[mode]
		t.Run(name, func(t *testing.T) {
			cg := newCgroup(t)
			p := *policy
			p.Mode = mode
			if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir, Egress: &p}); err != nil {
				t.Fatal(err)
			}
			defer m.Unregister(cg.id)
			r := runInWith(t, cg, self, []string{"probe"}, env, inNewNetns)
			if !r.state.Success() {
				t.Fatalf("probe helper: %v %s", r.state, r.stderr)
			}
			got := probeResults(t, r.stderr)
			for _, c := range cases {
				wantRes, wantAction := c.want.result, ""
				if c.want.reason != "" {
					wantAction = KernelDenied
					if mode == EgressAudit {
						wantAction = KernelDeniedAudit
						wantRes = "ok"
						if strings.HasSuffix(c.probe, ":8080") || strings.HasSuffix(c.probe, ":5353") {
							wantRes = "ECONNREFUSED" // nothing listens there
						}
						if strings.HasPrefix(c.probe, "udp") {
							wantRes = "ok"
						}
					}
				}
				if got[c.probe] != wantRes {
					t.Errorf("%s: %q, want %q", c.probe, got[c.probe], wantRes)
				}
				ev := events.wait(t, c.probe, isProbe(r.pid, c.probe))
				if ev.KernelAction != wantAction || ev.KernelReason != c.want.reason {
					t.Errorf("%s: event action %q reason %q, want %q %q", c.probe, ev.KernelAction, ev.KernelReason, wantAction, c.want.reason)
				}
			}
		})
	}

	t.Run("others-unaffected", func(t *testing.T) {
		// The same connects from a registered cgroup without an egress
		// policy, and from the test process, all go through.
		cg := newCgroup(t)
		withPolicy := newCgroup(t)
		if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir}); err != nil {
			t.Fatal(err)
		}
		defer m.Unregister(cg.id)
		if err := m.Register(withPolicy.id, Container{Mode: Audit, CgroupV2Path: withPolicy.dir, Egress: policy}); err != nil {
			t.Fatal(err)
		}
		defer m.Unregister(withPolicy.id)
		r := runInWith(t, cg, self, []string{"probe"}, env, inNewNetns)
		got := probeResults(t, r.stderr)
		for _, c := range cases {
			if got[c.probe] == "EPERM" {
				t.Errorf("%s refused in a cgroup without egress policy", c.probe)
			}
		}
		// The test process (the host) in a namespace of its own, so the
		// test addresses stay off the host's interfaces.
		hostRun := exec.Command(self)
		hostRun.Env = append(os.Environ(), env...)
		hostRun.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		out, err := hostRun.CombinedOutput()
		if err != nil {
			t.Fatalf("host probe: %v %s", err, out)
		}
		for probe, res := range probeResults(t, string(out)) {
			if res == "EPERM" {
				t.Errorf("host: %s refused", probe)
			}
		}
	})

	t.Run("reload", func(t *testing.T) {
		cg := newCgroup(t)
		if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir, Egress: policy}); err != nil {
			t.Fatal(err)
		}
		defer m.Unregister(cg.id)
		probeEnv := func(probes ...string) []string {
			return []string{helperEnv + "=egress-probe", helperAddrsEnv + "=" + addrs, helperProbesEnv + "=" + strings.Join(probes, ";")}
		}
		r := runInWith(t, cg, self, []string{"probe"}, probeEnv("tcp4 10.213.9.1:443", "tcp4 10.213.9.2:443"), inNewNetns)
		if got := probeResults(t, r.stderr); got["tcp4 10.213.9.1:443"] != "ok" || got["tcp4 10.213.9.2:443"] != "EPERM" {
			t.Fatalf("before reload: %v", got)
		}
		ds, err := m.SyncDenySet([]string{feed})
		if err != nil || ds.Reloaded || ds.Entries != 3 {
			t.Fatalf("SyncDenySet of an unchanged file: %+v, %v; want 3 entries, not reloaded", ds, err)
		}
		// 10.213.9.1 joins the feed; 10.213.9.2 leaves it.
		writeFeed(t, feed, "10.213.9.1", "fd42:213::2", "198.51.100.0/24")
		ds, err = m.SyncDenySet([]string{feed})
		if err != nil || !ds.Reloaded || ds.Entries != 3 {
			t.Fatalf("SyncDenySet: %+v, %v", ds, err)
		}
		r = runInWith(t, cg, self, []string{"probe"}, probeEnv("tcp4 10.213.9.1:443", "tcp4 10.213.9.2:443"), inNewNetns)
		if got := probeResults(t, r.stderr); got["tcp4 10.213.9.1:443"] != "EPERM" || got["tcp4 10.213.9.2:443"] != "ok" {
			t.Fatalf("after reload: %v", got)
		}
		// A broken file keeps the set in force and says where it broke.
		writeFeed(t, feed, "10.213.9.1", "not-an-address")
		if _, err := m.SyncDenySet([]string{feed}); !errors.Is(err, ErrFeed) || !strings.Contains(err.Error(), feed+":2") {
			t.Fatalf("SyncDenySet of a broken file: %v, want ErrFeed at %s:2", err, feed)
		}
		r = runInWith(t, cg, self, []string{"probe"}, probeEnv("tcp4 10.213.9.1:443"), inNewNetns)
		if got := probeResults(t, r.stderr); got["tcp4 10.213.9.1:443"] != "EPERM" {
			t.Fatalf("after a broken reload: %v", got)
		}
		writeFeed(t, feed, "# test feed", "10.213.9.2", "fd42:213::2 ; a comment", "198.51.100.0/24")
		if _, err := m.SyncDenySet([]string{"/nonexistent/feed"}); !errors.Is(err, ErrDenySetUnused) {
			t.Errorf("SyncDenySet of files nobody uses: %v, want ErrDenySetUnused", err)
		}
	})

	t.Run("shared-and-collected", func(t *testing.T) {
		a, b := newCgroup(t), newCgroup(t)
		for _, cg := range []testCgroup{a, b} {
			if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir, Egress: policy}); err != nil {
				t.Fatal(err)
			}
		}
		id := DenySetID([]string{feed})
		sets, err := m.DenySets()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range sets {
			if s.ID == id {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d deny sets with id %#x for two containers naming one file, want 1: %+v", n, id, sets)
		}
		rd, err := m.OpenDenySet([]string{feed})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		for _, c := range []struct {
			addr string
			want bool
		}{{"10.213.9.2", true}, {"::ffff:10.213.9.2", true}, {"10.213.9.1", false}, {"198.51.100.7", true}, {"fd42:213::2", true}, {"fd42:213::1", false}} {
			if got, err := rd.Contains(netip.MustParseAddr(c.addr)); err != nil || got != c.want {
				t.Errorf("deny set contains %s: %v, %v; want %v", c.addr, got, err, c.want)
			}
		}
		if err := m.Unregister(a.id); err != nil {
			t.Fatal(err)
		}
		var inner uint32
		if err := m.objs.denySets.Lookup(id, &inner); err != nil {
			t.Fatalf("deny set removed while a container still uses it: %v", err)
		}
		if err := m.Unregister(b.id); err != nil {
			t.Fatal(err)
		}
		if err := m.objs.denySets.Lookup(id, &inner); !errors.Is(err, ebpf.ErrKeyNotExist) {
			t.Fatalf("deny set kept after its last container left: %v", err)
		}
		assertNoEntries(t, m, a.id)
		assertNoEntries(t, m, b.id)
	})
}

// Isolation cuts a connection opened before it: what the container writes
// afterwards never reaches the peer, and arrives once isolation is lifted
// (the packets were dropped at the cgroup, TCP retransmitted them).
func TestIsolateEstablished(t *testing.T) {
	requireRoot(t)
	m := openMonitor(t, testOptions(t))
	cg := newCgroup(t)
	if err := m.Register(cg.id, Container{Mode: Audit, CgroupV2Path: cg.dir}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 16)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	self, _ := os.Executable()
	fd, err := unix.Open(cg.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := &exec.Cmd{
		Path:        self,
		Args:        []string{"hold"},
		Env:         append(os.Environ(), helperEnv+"=hold", helperAddrEnv+"="+ln.Addr().String()),
		SysProcAttr: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd},
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	say := func(line string) string {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
		if !out.Scan() {
			t.Fatalf("helper ended: %v", out.Err())
		}
		return out.Text()
	}
	if !out.Scan() || out.Text() != "connected" {
		t.Fatalf("helper: %q", out.Text())
	}
	recv := func(wait time.Duration) (string, bool) {
		select {
		case l := <-lines:
			return l, true
		case <-time.After(wait):
			return "", false
		}
	}
	if r := say("before"); r != "sent" {
		t.Fatalf("write before isolation: %s", r)
	}
	if l, ok := recv(5 * time.Second); !ok || l != "before" {
		t.Fatalf("peer got %q %v before isolation", l, ok)
	}
	before, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetIsolate(cg.id, true); err != nil {
		t.Fatal(err)
	}
	// The write itself succeeds (the data is queued); it never arrives.
	say("during")
	if l, ok := recv(1500 * time.Millisecond); ok {
		t.Fatalf("peer got %q from an isolated container", l)
	}
	after, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Kernel.IsolatedDrops <= before.Kernel.IsolatedDrops {
		t.Errorf("IsolatedDrops %d -> %d, want more", before.Kernel.IsolatedDrops, after.Kernel.IsolatedDrops)
	}
	if n := attachedAt(t, cg.dir, isolateHook.attach); n != 1 {
		t.Errorf("%d programs at cgroup_skb/egress of an isolated cgroup, want 1", n)
	}
	if err := m.SetIsolate(cg.id, false); err != nil {
		t.Fatal(err)
	}
	if l, ok := recv(10 * time.Second); !ok || l != "during" {
		t.Fatalf("peer got %q %v after isolation was lifted, want the retransmitted line", l, ok)
	}
	if err := m.Unregister(cg.id); err != nil {
		t.Fatal(err)
	}
	if n := attachedAt(t, cg.dir, isolateHook.attach); n != 0 {
		t.Errorf("%d programs at cgroup_skb/egress after Unregister, want 0", n)
	}
}

// attachedAt counts the programs attached to a cgroup at one hook.
func attachedAt(t *testing.T, dir string, at ebpf.AttachType) int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: at})
	if err != nil {
		t.Fatalf("query %v programs of %s: %v", at, dir, err)
	}
	return len(res.Programs)
}

func TestParseFeed(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# header\n\n  ; spamhaus style\n", nil, ""},
		{"addresses", "192.0.2.1\n2001:db8::1\n", []string{"192.0.2.1/32", "2001:db8::1/128"}, ""},
		{"cidrs", "198.51.100.0/24 ; SBL123\n2001:db8::/32 # doc\r\n", []string{"198.51.100.0/24", "2001:db8::/32"}, ""},
		{"mapped", "::ffff:192.0.2.1\n", []string{"::ffff:192.0.2.1/128"}, ""},
		{"no trailing newline", "10.0.0.0/8", []string{"10.0.0.0/8"}, ""},
		{"host bits", "ok.txt\n", nil, "f:1:"},
		{"host bits set", "10.0.0.0/8\n10.1.2.3/8\n", nil, `f:2: "10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)`},
		{"two fields", "10.0.0.1 10.0.0.2\n", nil, "f:1:"},
		{"zone", "fe80::1%eth0\n", nil, "f:1: \"fe80::1%eth0\" has a zone"},
		{"bad cidr", "\n\n10.0.0.0/33\n", nil, "f:3:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFeed([]byte(tc.in), "f")
			if tc.err != "" {
				if !errors.Is(err, ErrFeed) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want ErrFeed containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tc.want) {
				t.Errorf("got %v, want %v", s, tc.want)
			}
		})
	}
}

func FuzzParseFeed(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8\n", "# c\n2001:db8::/32 ; x\n", "1.2.3.4\n::1\n", "x y\n", "fe80::1%lo"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseFeed(data, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFeed) || !strings.HasPrefix(strings.TrimPrefix(err.Error(), ErrFeed.Error()+": "), "fuzz:") {
				t.Fatalf("error without ErrFeed or position: %v", err)
			}
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p.Masked() != p || p.Addr().Zone() != "" {
				t.Fatalf("invalid prefix %v", p)
			}
			addr, bits := addrKey(p)
			if bits < 0 || bits > 128 || (p.Addr().Is4() && (bits < 96 || netip.AddrFrom16(addr).Unmap() != p.Addr())) {
				t.Fatalf("key of %v: %v/%d", p, addr, bits)
			}
		}
	})
}

func TestDenySetID(t *testing.T) {
	a := DenySetID([]string{"/etc/vigil/a.txt", "/etc/vigil/b.txt"})
	if a == 0 {
		t.Fatal("id 0")
	}
	for _, same := range [][]string{
		{"/etc/vigil/b.txt", "/etc/vigil/a.txt"},
		{"/etc/vigil/./a.txt", "/etc/vigil/b.txt", "/etc/vigil/a.txt"},
	} {
		if id := DenySetID(same); id != a {
			t.Errorf("DenySetID(%v) = %#x, want %#x", same, id, a)
		}
	}
	if DenySetID([]string{"/etc/vigil/a.txt"}) == a {
		t.Error("different file lists share an id")
	}
}

func TestPlanEgress(t *testing.T) {
	cases := []struct {
		name string
		e    *Egress
		err  bool
		want egressPlan
	}{
		{"none", nil, false, egressPlan{}},
		{"bad mode", &Egress{}, true, egressPlan{}},
		{"port 0", &Egress{Mode: EgressEnforce, AllowPorts: []uint16{0}}, true, egressPlan{}},
		{"relative feed", &Egress{Mode: EgressAudit, DenyFiles: []string{"threats.txt"}}, true, egressPlan{}},
		{"audit deny only", &Egress{Mode: EgressAudit, DenyFiles: []string{"/f"}}, false,
			egressPlan{flags: uint32(bpf.VigilEgressFlagsEGRESS_AUDIT), denyID: DenySetID([]string{"/f"}), denyFiles: []string{"/f"}}},
	}
	for _, tc := range cases {
		p, err := planEgress(7, tc.e)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if err == nil && (p.flags != tc.want.flags || p.denyID != tc.want.denyID || !slices.Equal(p.denyFiles, tc.want.denyFiles)) {
			t.Errorf("%s: %+v, want %+v", tc.name, p, tc.want)
		}
	}
	p, err := planEgress(7, &Egress{Mode: EgressEnforce, AllowPorts: []uint16{443},
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}})
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := uint32(bpf.VigilEgressFlagsEGRESS_ENFORCE | bpf.VigilEgressFlagsEGRESS_PORTS | bpf.VigilEgressFlagsEGRESS_CIDRS)
	if p.flags != wantFlags || len(p.ports) != 1 || p.ports[0].Port != 443 || p.ports[0].Cgid != 7 {
		t.Errorf("plan %+v", p)
	}
	if len(p.allow) != 2 || p.allow[0].Prefixlen != 64+96+8 || p.allow[1].Prefixlen != 64+8 || leUint64(p.allow[0].Cgid[:]) != 7 {
		t.Errorf("allow keys %+v", p.allow)
	}
	if a := netip.AddrFrom16(p.allow[0].Addr); a.String() != "::ffff:10.0.0.0" {
		t.Errorf("IPv4 allow key address %v, want ::ffff:10.0.0.0", a)
	}
}
