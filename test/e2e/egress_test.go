package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/test/harness"
)

// imgNetprobe is the busybox image plus the netprobe fixture
// (test/e2e/netprobe) at netprobePath.
const (
	imgNetprobe  = "docker.io/vigil/netprobe:latest"
	netprobePath = "/usr/local/bin/netprobe"
)

var netprobe struct {
	once sync.Once
	bin  string // the fixture on the host
	err  error
}

// needNetprobe builds the netprobe fixture and imports its image, once.
func needNetprobe(t *testing.T) string {
	t.Helper()
	d := needDaemon(t)
	netprobe.once.Do(func() {
		root, err := harness.RepoRoot()
		if err != nil {
			netprobe.err = err
			return
		}
		bin := filepath.Join(d.Dir, "netprobe")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./test/e2e/netprobe")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			netprobe.err = fmt.Errorf("go build netprobe: %v\n%s", err, out)
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			netprobe.err = err
			return
		}
		archive := filepath.Join(d.Dir, "netprobe.tar")
		if err := harness.BuildBusyboxImage(archive, imgNetprobe, harness.ImageFile{Path: netprobePath, Mode: 0o755, Data: data}); err != nil {
			netprobe.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		netprobe.bin, netprobe.err = bin, d.ImportImage(ctx, archive, imgNetprobe)
	})
	if netprobe.err != nil {
		t.Fatal(netprobe.err)
	}
	return netprobe.bin
}

// testNet is a pair of network namespaces the test creates: the
// container's ("c") and a test host's ("h"), joined by a veth pair, with
// addresses on private test ranges that exist only inside them. Test
// traffic never leaves these namespaces (or the container's loopback).
type testNet struct {
	C, H       string // namespace names, under /var/run/netns
	CIP, HIP   string // IPv4 of each end
	CIP6, HIP6 string // IPv6 (ULA) of each end
	// Threat, Threat6 and Spare are more addresses of the test host.
	Threat, Threat6, Spare string
}

var netSeq struct {
	sync.Mutex
	n int
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("requires iproute2's ip to create the test network namespaces: %v", err)
	}
	netSeq.Lock()
	netSeq.n++
	n := netSeq.n
	netSeq.Unlock()
	tag := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	nt := &testNet{
		C: "vigil-c" + tag, H: "vigil-h" + tag,
		CIP: fmt.Sprintf("10.213.%d.2", n), HIP: fmt.Sprintf("10.213.%d.1", n),
		CIP6: fmt.Sprintf("fd42:213:%d::2", n), HIP6: fmt.Sprintf("fd42:213:%d::1", n),
		Threat: fmt.Sprintf("10.213.%d.66", n), Threat6: fmt.Sprintf("fd42:213:%d::66", n),
		Spare: fmt.Sprintf("10.213.%d.77", n),
	}
	vc, vh := "vgc"+tag, "vgh"+tag
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", nt.C).Run()
		exec.Command("ip", "netns", "del", nt.H).Run()
	})
	steps := [][]string{
		{"netns", "add", nt.C},
		{"netns", "add", nt.H},
		{"link", "add", vc, "netns", nt.C, "type", "veth", "peer", "name", vh, "netns", nt.H},
		{"-n", nt.C, "link", "set", "lo", "up"},
		{"-n", nt.H, "link", "set", "lo", "up"},
		{"-n", nt.C, "addr", "add", nt.CIP + "/24", "dev", vc},
		{"-n", nt.H, "addr", "add", nt.HIP + "/24", "dev", vh},
		{"-n", nt.H, "addr", "add", nt.Threat + "/24", "dev", vh},
		{"-n", nt.H, "addr", "add", nt.Spare + "/24", "dev", vh},
		{"-n", nt.C, "addr", "add", nt.CIP6 + "/64", "dev", vc, "nodad"},
		{"-n", nt.H, "addr", "add", nt.HIP6 + "/64", "dev", vh, "nodad"},
		{"-n", nt.H, "addr", "add", nt.Threat6 + "/64", "dev", vh, "nodad"},
		{"-n", nt.C, "link", "set", vc, "up"},
		{"-n", nt.H, "link", "set", vh, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			t.Fatal(err)
		}
	}
	return nt
}

// CPath is the container namespace's path for `ctr run --with-ns`.
func (n *testNet) CPath() string { return "/var/run/netns/" + n.C }

// inNetns runs fn on a thread that joined the network namespace at path:
// sockets it creates live there.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		err = fn()
		// The thread goes back to the host's namespace, or dies with
		// this goroutine (it stays locked).
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// listen opens a TCP listener in the test host's namespace.
func (n *testNet) listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := inNetns("/var/run/netns/"+n.H, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// listenUDP opens a UDP socket in the test host's namespace.
func (n *testNet) listenUDP(t *testing.T, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	err := inNetns("/var/run/netns/"+n.H, func() error {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// serveHTTP answers every request on ln with body.
func serveHTTP(ln net.Listener, body string) {
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
}

// acceptAndClose accepts connections on ln and closes them.
func acceptAndClose(ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// datagrams counts the datagrams pc receives from each sender address.
type datagrams struct {
	mu   sync.Mutex
	from map[string]int
}

func countDatagrams(pc net.PacketConn) *datagrams {
	d := &datagrams{from: map[string]int{}}
	go func() {
		buf := make([]byte, 2048)
		for {
			_, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d.mu.Lock()
			d.from[a.(*net.UDPAddr).IP.String()]++
			d.mu.Unlock()
		}
	}()
	return d
}

func (d *datagrams) count(ip string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.from[ip]
}

// inContainerNet runs a container of the netprobe image under a policy in
// the test network's container namespace and waits until it runs.
func inContainerNet(t *testing.T, cfg, id string, n *testNet, cmd ...string) *harness.Running {
	t.Helper()
	needNetprobe(t)
	flags := []string{"--with-ns", "network:" + n.CPath()}
	if cfg != "" {
		flags = append(flags, "--runtime-config-path", cfg)
	}
	if len(cmd) == 0 {
		cmd = []string{"sleep", "600"}
	}
	return running(t, imgNetprobe, id, flags, cmd...)
}

// probe runs netprobe connect in a container and returns its answer.
func probe(t *testing.T, id, execID, kind, addr string) string {
	t.Helper()
	res := execIn(t, id, execID, netprobePath, "connect", kind, addr)
	return strings.TrimSpace(harness.WithoutCtrWarnings(res.Output))
}

// hostProbe runs the netprobe fixture on the host, in the container's
// network namespace but outside its cgroup.
func hostProbe(t *testing.T, n *testNet, kind, addr string) string {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", n.C, needNetprobe(t), "connect", kind, addr).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// findAlert returns the first alert of rule for container id that match
// accepts, waiting up to 10 s.
func findAlert(t *testing.T, path, rule, id string, match func(alert) bool) alert {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, a := range readAlerts(t, path) {
			if a.Rule == rule && a.Vigil.ContainerID == id && match(a) {
				return a
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, a := range readAlerts(t, path) {
				got = append(got, fmt.Sprintf("%s@%s %v", a.Rule, a.Vigil.ContainerID, a.OutputFields))
			}
			t.Fatalf("no matching %q alert for %s in %s; alerts:\n%s", rule, id, path, strings.Join(got, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fieldIs(a alert, k string, v any) bool { return fmt.Sprint(a.OutputFields[k]) == fmt.Sprint(v) }

// A policy's egress section in a real container: allowed ports and CIDRs
// open, other ports refused with EPERM, a threat-feed address refused,
// IPv4 and IPv6, TCP and UDP datagrams, loopback always open; each refusal
// is an alert; the Falco rule for unusual ports sees fd.sip, fd.sport and
// fd.l4proto; a changed feed is reloaded and the next connect is refused;
// another container and a host process in the same network namespace are
// not affected.
func TestEgressInContainer(t *testing.T) {
	n := newTestNet(t)
	for _, addr := range []string{"[::]:8443", "0.0.0.0:4444", "0.0.0.0:8080"} {
		acceptAndClose(n.listen(t, addr))
	}
	serveHTTP(n.listen(t, "0.0.0.0:443"), "HELLO-EGRESS")
	dns := countDatagrams(n.listenUDP(t, "0.0.0.0:53"))
	dns6 := countDatagrams(n.listenUDP(t, "[::]:5353"))

	cfg := writePolicy(t, `
alerts: {file: $DIR/alerts.jsonl}
policies:
  - name: egress
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
    egress:
      mode: enforce
      allowPorts: [443, 8443, 53, 80]
      allowCIDRs: ["10.213.0.0/16", "fd42:213::/32"]
      denyCIDRFiles: [$DIR/threats.txt]
`)
	dir := filepath.Dir(cfg)
	alerts := filepath.Join(dir, "alerts.jsonl")
	feed := filepath.Join(dir, "threats.txt")
	feedLines := []string{"# test threat feed", n.Threat, n.Threat6 + " ; ipv6 entry", "198.51.100.0/24"}
	writeFile(t, feed, strings.Join(feedLines, "\n")+"\n")
	const id = "egress-enforce"
	inContainerNet(t, cfg, id, n)

	cases := []struct {
		kind, addr, want string
	}{
		{"tcp4", n.HIP + ":443", "ok"},
		{"tcp4", n.HIP + ":8080", "EPERM"}, // port not allowed
		{"tcp4", n.HIP + ":4444", "EPERM"},
		{"tcp4", n.Threat + ":443", "EPERM"}, // in the feed
		{"tcp6", "[" + n.HIP6 + "]:8443", "ok"},
		{"tcp6", "[" + n.Threat6 + "]:8443", "EPERM"},
		{"tcp6", "[::ffff:" + n.Threat + "]:443", "EPERM"}, // IPv4-mapped
		{"udp4", n.HIP + ":53", "ok"},
		{"udp4", n.Threat + ":53", "EPERM"},
		{"udp4", n.HIP + ":5353", "EPERM"},
		{"udp6", "[" + n.HIP6 + "]:53", "ok"},
		{"udp6", "[" + n.HIP6 + "]:5353", "EPERM"},
		{"tcp4", "127.0.0.1:4444", "ECONNREFUSED"}, // loopback: allowed, nothing listens
		{"tcp6", "[::1]:4444", "ECONNREFUSED"},
	}
	for i, c := range cases {
		if got := probe(t, id, fmt.Sprintf("p%d", i), c.kind, c.addr); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.kind, c.addr, got, c.want)
		}
	}
	if got := dns.count(n.CIP); got != 1 {
		t.Errorf("%d datagrams reached the test host's port 53 from %s, want 1 (the allowed one)", got, n.CIP)
	}
	if got := dns6.count(n.CIP6); got != 0 {
		t.Errorf("%d refused IPv6 datagrams reached port 5353", got)
	}

	// Real tools: busybox nc is refused on a port the policy does not
	// allow and on a feed address, and fetches a page from an allowed port.
	res := execIn(t, id, "nc-port", "nc", "-w", "3", n.HIP, "8080")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "Operation not permitted") {
		t.Errorf("nc to a refused port: exit %d %q, want Operation not permitted", res.ExitCode, res.Output)
	}
	res = execIn(t, id, "nc-web", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 `+n.HIP+` 443`)
	if !strings.Contains(res.Output, "HELLO-EGRESS") {
		t.Errorf("nc to an allowed port: exit %d %q, want the page", res.ExitCode, res.Output)
	}
	res = execIn(t, id, "nc-threat", "nc", "-w", "3", n.Threat, "443")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "Operation not permitted") {
		t.Errorf("nc to a feed address: exit %d %q, want Operation not permitted", res.ExitCode, res.Output)
	}

	// Each refusal is an alert, saying why; the stock Falco rule reports
	// the unusual port with the connection's fields.
	a := findAlert(t, alerts, "Egress Denied by Policy", id, func(a alert) bool {
		return fieldIs(a, "fd.sip", n.HIP) && fieldIs(a, "fd.sport", 8080) && fieldIs(a, "fd.l4proto", "tcp")
	})
	if a.Vigil.KernelAction != "denied" || a.Vigil.Action != "deny" || !fieldIs(a, "vigil.egress.reason", "port") || a.Priority != "Warning" {
		t.Errorf("egress alert: %+v", a)
	}
	findAlert(t, alerts, "Egress Denied by Policy", id, func(a alert) bool {
		return fieldIs(a, "fd.sip", n.Threat6) && fieldIs(a, "vigil.egress.reason", "deny-list")
	})
	findAlert(t, alerts, "Egress Denied by Policy", id, func(a alert) bool {
		return fieldIs(a, "fd.sip", n.Threat) && fieldIs(a, "fd.l4proto", "udp")
	})
	u := findAlert(t, alerts, "Outbound Connection to Unusual Port", id, func(a alert) bool {
		return fieldIs(a, "fd.sip", n.HIP) && fieldIs(a, "fd.sport", 4444)
	})
	if !fieldIs(u, "fd.l4proto", "tcp") || u.Vigil.KernelAction != "denied" || !strings.Contains(u.Output, n.HIP+":4444") {
		t.Errorf("unusual port alert: %+v", u)
	}
	for _, a := range readAlerts(t, alerts) {
		if a.Rule == "Outbound Connection to Unusual Port" && (fieldIs(a, "fd.sport", 443) || fieldIs(a, "fd.sport", 53) || fieldIs(a, "fd.sport", 8080)) {
			t.Errorf("usual port reported as unusual: %v", a.OutputFields)
		}
		if a.Rule == "Egress Denied by Policy" && fieldIs(a, "fd.sip", n.HIP) && fieldIs(a, "fd.sport", 443) {
			t.Errorf("an allowed connect was reported refused: %v", a.OutputFields)
		}
	}

	// Feed reload: the spare address joins the feed; the next connects
	// to it are refused without restarting anything.
	if got := probe(t, id, "spare-before", "tcp4", n.Spare+":443"); got != "ok" {
		t.Fatalf("spare address before the feed changed: %q", got)
	}
	writeFile(t, feed, strings.Join(append(feedLines, n.Spare), "\n")+"\n")
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		got := probe(t, id, fmt.Sprintf("spare-after-%d", i), "tcp4", n.Spare+":443")
		if got == "EPERM" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed's new entry %s was not enforced within 10 s: %q", n.Spare, got)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The policy is the container's: a host process in the same network
	// namespace and a container without the policy reach the same
	// destinations.
	for _, c := range []struct{ kind, addr string }{{"tcp4", n.Threat + ":443"}, {"tcp4", n.HIP + ":4444"}, {"udp4", n.Threat + ":53"}} {
		if got := hostProbe(t, n, c.kind, c.addr); got != "ok" {
			t.Errorf("host process %s %s: %q, want ok", c.kind, c.addr, got)
		}
	}
	plainCfg := writePolicy(t, `
alerts: {file: $DIR/alerts.jsonl}
policies:
  - name: plain
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
`)
	inContainerNet(t, plainCfg, "egress-neighbour", n)
	for i, c := range []struct{ kind, addr string }{{"tcp4", n.Threat + ":443"}, {"tcp4", n.HIP + ":4444"}, {"udp6", "[" + n.Threat6 + "]:53"}} {
		if got := probe(t, "egress-neighbour", fmt.Sprintf("n%d", i), c.kind, c.addr); got != "ok" {
			t.Errorf("neighbour container %s %s: %q, want ok", c.kind, c.addr, got)
		}
	}
	// And the policed container is still policed.
	if got := probe(t, id, "still", "tcp4", n.Threat+":443"); got != "EPERM" {
		t.Errorf("policed container after its neighbour started: %q", got)
	}
}

// Audit mode lets every connect through and reports what enforce mode
// would have refused.
func TestEgressAuditInContainer(t *testing.T) {
	n := newTestNet(t)
	acceptAndClose(n.listen(t, "0.0.0.0:8080"))
	cfg := writePolicy(t, `
alerts: {file: $DIR/alerts.jsonl}
policies:
  - name: egress-audit
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
    egress: {mode: audit, allowPorts: [443]}
`)
	alerts := filepath.Join(filepath.Dir(cfg), "alerts.jsonl")
	const id = "egress-audit"
	inContainerNet(t, cfg, id, n)
	if got := probe(t, id, "p", "tcp4", n.HIP+":8080"); got != "ok" {
		t.Fatalf("audit mode refused a connect: %q", got)
	}
	a := findAlert(t, alerts, "Egress Denied by Policy", id, func(a alert) bool { return fieldIs(a, "fd.sport", 8080) })
	if a.Vigil.KernelAction != "denied-audit" || a.Vigil.Action != "alert" || a.Priority != "Notice" || !fieldIs(a, "vigil.egress.reason", "port") {
		t.Errorf("audit alert: %+v", a)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// lines reads the lines a peer receives on one accepted connection, with
// their arrival times, and whether the connection ended.
type lines struct {
	mu    sync.Mutex
	got   []timedLine
	ended time.Time
}

type timedLine struct {
	at   time.Time
	text string
}

func readLines(ln net.Listener) *lines {
	l := &lines{}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			l.mu.Lock()
			l.got = append(l.got, timedLine{time.Now(), sc.Text()})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.ended = time.Now()
		l.mu.Unlock()
	}()
	return l
}

func (l *lines) snapshot() ([]timedLine, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]timedLine(nil), l.got...), l.ended
}

// waitLines waits until at least n lines arrived.
func (l *lines) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := l.snapshot()
		if len(got) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer got %d lines, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
