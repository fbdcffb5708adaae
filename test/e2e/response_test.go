package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/response"
	"github.com/vigil-dev/vigil/test/harness"
)

// respAlert is an alert with the response part of its vigil object.
type respAlert struct {
	Rule         string         `json:"rule"`
	Priority     string         `json:"priority"`
	OutputFields map[string]any `json:"output_fields"`
	Vigil        struct {
		Action       string   `json:"action"`
		KernelAction string   `json:"kernelAction"`
		ContainerID  string   `json:"containerID"`
		Response     []string `json:"response"`
		Forensics    string   `json:"forensics"`
		ActionError  string   `json:"actionError"`
	} `json:"vigil"`
}

// waitRespAlert waits for an alert of rule for container id.
func waitRespAlert(t *testing.T, path, rule, id string) respAlert {
	t.Helper()
	waitAlert(t, path, rule, id) // validates every line as a Falco alert
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a respAlert
		if json.Unmarshal(sc.Bytes(), &a) == nil && a.Rule == rule && a.Vigil.ContainerID == id {
			return a
		}
	}
	t.Fatalf("no %q alert for %s", rule, id)
	return respAlert{}
}

// runDetached starts a container with `ctr run -d` and no --rm: when it
// ends, its task stays (STOPPED) and vigil keeps its registration until
// the task is deleted.
func runDetached(t *testing.T, cfg, id string, n *testNet, cmd ...string) {
	t.Helper()
	d := needDaemon(t)
	needNetprobe(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"run", "-d", "--runtime", harness.Runtime, "--runtime-config-path", cfg, "--with-ns", "network:" + n.CPath(), imgNetprobe, id}
	if _, err := d.Ctr(ctx, append(args, cmd...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTask(id) })
	deadline := time.Now().Add(30 * time.Second)
	for taskStatus(t, id) != "RUNNING" {
		if time.Now().After(deadline) {
			t.Fatalf("container %s not running: %q", id, taskStatus(t, id))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func taskStatus(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := daemon.Ctr(ctx, "tasks", "ls")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// waitStopped waits until the task stopped and returns when it was seen
// stopped.
func waitStopped(t *testing.T, id string) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s := taskStatus(t, id); s == "STOPPED" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %q", id, taskStatus(t, id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deleteTask(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	daemon.Ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id)
	for i := 0; i < 100; i++ {
		if _, err := daemon.Ctr(ctx, "tasks", "rm", id); err == nil || !strings.Contains(err.Error(), "running") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	daemon.Ctr(ctx, "containers", "rm", id)
}

func respondPolicy(t *testing.T, actions string) (cfg, alerts, forensics string) {
	t.Helper()
	cfg = writePolicy(t, fmt.Sprintf(`
alerts: {file: $DIR/alerts.jsonl}
policies:
  - name: respond
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
    response:
      warning: %s
      forensicsDir: $DIR/forensics
`, actions))
	dir := filepath.Dir(cfg)
	return cfg, filepath.Join(dir, "alerts.jsonl"), filepath.Join(dir, "forensics")
}

// A policy that answers a warning with [forensics, isolate, kill]: an
// exec'd shell in a container that holds an open connection to a test host
// gets a bundle captured while the container's processes and the
// connection are still there, then the container is isolated (the open
// connection goes silent), then killed — and because isolation was in
// force before the kill, not even the dying connection's FIN reaches the
// peer until vigil lets the container go.
func TestResponseForensicsIsolateKill(t *testing.T) {
	n := newTestNet(t)
	peer := readLines(n.listen(t, "0.0.0.0:7000"))
	cfg, alertsFile, forensics := respondPolicy(t, "[forensics, isolate, kill]")
	const id = "respond-all"
	runDetached(t, cfg, id, n, netprobePath, "hold", n.HIP+":7000", "50")
	peer.waitLines(t, 3)

	execIn(t, id, "attack", "sh", "-c", "echo ATTACK; sleep 30; echo DONE")
	stopped := waitStopped(t, id)

	a := waitRespAlert(t, alertsFile, "Shell Spawned in Container", id)
	if !slices.Equal(a.Vigil.Response, []string{"forensics", "isolate", "kill"}) || a.Vigil.Action != "kill" || a.Vigil.ActionError != "" {
		t.Fatalf("alert response %v action %q error %q, want [forensics isolate kill] kill", a.Vigil.Response, a.Vigil.Action, a.Vigil.ActionError)
	}
	bundle := a.Vigil.Forensics
	if filepath.Dir(bundle) != forensics {
		t.Fatalf("bundle %q not under %s", bundle, forensics)
	}

	// The timeline: capture, then isolation, then the kill, then the task
	// stopped.
	var tl []response.Step
	readJSONFile(t, filepath.Join(bundle, "timeline.json"), &tl)
	if len(tl) != 3 || tl[0].Action != "forensics" || tl[1].Action != "isolate" || tl[2].Action != "kill" {
		t.Fatalf("timeline %+v", tl)
	}
	if tl[0].At.After(tl[1].At) || tl[1].At.After(tl[2].At) || tl[2].At.After(stopped) {
		t.Errorf("steps out of order: forensics %v, isolate %v, kill %v, task seen stopped %v", tl[0].At, tl[1].At, tl[2].At, stopped)
	}
	var mf response.Manifest
	readJSONFile(t, filepath.Join(bundle, "manifest.json"), &mf)
	if mf.Finished.After(tl[1].At) || mf.Started.After(mf.Finished) || mf.Rule != "Shell Spawned in Container" || mf.ContainerID != id {
		t.Errorf("manifest %+v", mf)
	}

	// The bundle saw the container alive: the holding process, the shell
	// and its connection.
	var procs []response.Process
	readJSONFile(t, filepath.Join(bundle, "processes.json"), &procs)
	var holder, shell *response.Process
	for i, p := range procs {
		switch {
		case len(p.Cmdline) > 1 && p.Cmdline[0] == netprobePath && p.Cmdline[1] == "hold":
			holder = &procs[i]
		case len(p.Cmdline) > 2 && p.Cmdline[0] == "sh" && strings.Contains(p.Cmdline[2], "ATTACK"):
			shell = &procs[i]
		}
	}
	if holder == nil || shell == nil {
		t.Fatalf("processes.json lacks the holder or the shell: %+v", procs)
	}
	tree, _ := os.ReadFile(filepath.Join(bundle, "pstree.txt"))
	if !strings.Contains(string(tree), "netprobe hold") || !strings.Contains(string(tree), "echo ATTACK") {
		t.Errorf("pstree.txt:\n%s", tree)
	}
	var socks []response.Socket
	readJSONFile(t, filepath.Join(bundle, "sockets.json"), &socks)
	found := false
	for _, s := range socks {
		if s.Proto == "tcp" && s.Remote == n.HIP+":7000" && s.State == "ESTABLISHED" && slices.Contains(s.PIDs, holder.PID) {
			found = true
		}
	}
	if !found {
		t.Errorf("sockets.json lacks the holder's connection to %s:7000: %+v", n.HIP, socks)
	}
	bb, err := os.ReadFile(harness.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bb)
	if mf.Executable == nil || mf.Executable.SHA256 != hex.EncodeToString(sum[:]) || mf.Executable.Path != "/bin/sh" {
		t.Fatalf("executable %+v, want /bin/sh = busybox %x", mf.Executable, sum)
	}
	if cp, err := os.ReadFile(filepath.Join(bundle, mf.Executable.Copy)); err != nil || sha256.Sum256(cp) != sum {
		t.Errorf("copy of the executable: %v", err)
	}
	recent, _ := os.ReadFile(filepath.Join(bundle, "alerts.jsonl"))
	if !strings.Contains(string(recent), `"rule":"Shell Spawned in Container"`) {
		t.Errorf("alerts.jsonl lacks the alert:\n%s", recent)
	}
	var ev struct{ Type string }
	readJSONFile(t, filepath.Join(bundle, "event.json"), &ev)
	if ev.Type != "execve" {
		t.Errorf("event.json type %q", ev.Type)
	}

	// Isolation before the kill: nothing the container wrote after the
	// isolation arrived, and the dying connection's FIN is held back while
	// the stopped task is still registered.
	time.Sleep(2 * time.Second)
	got, ended := peer.snapshot()
	for _, l := range got {
		if l.at.After(tl[1].At.Add(50 * time.Millisecond)) {
			t.Errorf("peer got %q at %v, after the isolation at %v", l.text, l.at, tl[1].At)
		}
	}
	if !ended.IsZero() {
		t.Fatalf("peer saw the connection end at %v (isolated at %v, killed at %v): isolation was not in force at the kill", ended, tl[1].At, tl[2].At)
	}
	// Not vacuous: once the task is deleted vigil lets go, and the FIN the
	// kernel kept retransmitting arrives.
	deleteTask(id)
	deadline := time.Now().Add(40 * time.Second)
	for {
		if _, ended := peer.snapshot(); !ended.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection never ended after the task was deleted")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The same attack under [kill] alone: the connection ends as the task is
// killed (the contrast that makes the test above mean something), no
// bundle, no isolation.
func TestResponseKillOnlyEndsConnection(t *testing.T) {
	n := newTestNet(t)
	peer := readLines(n.listen(t, "0.0.0.0:7000"))
	cfg, alertsFile, forensics := respondPolicy(t, "[kill]")
	const id = "respond-kill"
	runDetached(t, cfg, id, n, netprobePath, "hold", n.HIP+":7000", "50")
	peer.waitLines(t, 3)
	execIn(t, id, "attack", "sh", "-c", "echo ATTACK; sleep 30; echo DONE")
	waitStopped(t, id)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ended := peer.snapshot(); !ended.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection did not end when the task was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := waitRespAlert(t, alertsFile, "Shell Spawned in Container", id)
	if a.Vigil.Action != "kill" || a.Vigil.Forensics != "" || slices.Contains(a.Vigil.Response, "isolate") {
		t.Errorf("alert %+v", a.Vigil)
	}
	if _, err := os.Stat(forensics); !os.IsNotExist(err) {
		t.Errorf("forensics directory exists without a forensics action: %v", err)
	}
}

// [isolate] alone keeps the container running for inspection: execs still
// work, every new connect (loopback included) fails with EPERM and is
// reported, the open connection goes silent.
func TestResponseIsolateKeepsRunning(t *testing.T) {
	n := newTestNet(t)
	peer := readLines(n.listen(t, "0.0.0.0:7000"))
	acceptAndClose(n.listen(t, "0.0.0.0:443"))
	cfg, alertsFile, _ := respondPolicy(t, "[isolate]")
	const id = "respond-isolate"
	runDetached(t, cfg, id, n, netprobePath, "hold", n.HIP+":7000", "50")
	peer.waitLines(t, 3)
	if got := probe(t, id, "before", "tcp4", n.HIP+":443"); got != "ok" {
		t.Fatalf("connect before isolation: %q", got)
	}
	execIn(t, id, "attack", "sh", "-c", "echo ATTACK")
	a := waitRespAlert(t, alertsFile, "Shell Spawned in Container", id)
	if !slices.Equal(a.Vigil.Response, []string{"isolate"}) || a.Vigil.Action != "isolate" {
		t.Fatalf("alert response %v action %q, want [isolate] isolate", a.Vigil.Response, a.Vigil.Action)
	}
	isolated := time.Now()
	if res := execIn(t, id, "inspect", "echo", "STILL-HERE"); !strings.Contains(res.Output, "STILL-HERE") || res.ExitCode != 0 {
		t.Fatalf("exec in the isolated container: exit %d %q", res.ExitCode, res.Output)
	}
	if s := taskStatus(t, id); s != "RUNNING" {
		t.Fatalf("isolated container is %q, want RUNNING", s)
	}
	for i, c := range []struct{ kind, addr string }{{"tcp4", n.HIP + ":443"}, {"udp4", n.HIP + ":53"}, {"tcp6", "[" + n.HIP6 + "]:443"}, {"tcp4", "127.0.0.1:1"}} {
		if got := probe(t, id, fmt.Sprintf("after%d", i), c.kind, c.addr); got != "EPERM" {
			t.Errorf("%s %s from an isolated container: %q, want EPERM", c.kind, c.addr, got)
		}
	}
	d := findAlert(t, alertsFile, "Egress Denied by Policy", id, func(a alert) bool { return fieldIs(a, "vigil.egress.reason", "isolated") })
	if d.Vigil.KernelAction != "denied" {
		t.Errorf("isolation refusal alert %+v", d.Vigil)
	}
	before, _ := peer.snapshot()
	time.Sleep(time.Second)
	after, ended := peer.snapshot()
	if len(after) != len(before) || !ended.IsZero() {
		t.Errorf("peer got %d more lines (ended %v) from the isolated container's open connection", len(after)-len(before), ended)
	}
	for _, l := range after {
		if l.at.After(isolated) {
			t.Errorf("peer got %q at %v, after the isolation alert was written", l.text, l.at)
		}
	}
}

// falcosidekick's input checks (its handler rejects what fails them).
func sidekickCheck(r *http.Request) (map[string]any, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("content type %q", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("body: %v", err)
	}
	pr, _ := body["priority"].(string)
	known := []string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}
	if !slices.Contains(known, strings.ToLower(pr)) {
		return nil, fmt.Errorf("priority %q", pr)
	}
	if s, _ := body["rule"].(string); s == "" {
		return nil, fmt.Errorf("empty rule")
	}
	ts, _ := body["time"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		return nil, fmt.Errorf("time %q: %v", ts, err)
	}
	if of, _ := body["output_fields"].(map[string]any); len(of) == 0 {
		return nil, fmt.Errorf("empty output_fields")
	}
	return body, nil
}

// receiver is a falcosidekick-like HTTP endpoint on loopback.
type receiver struct {
	mu       sync.Mutex
	rules    []string
	rejected []string
	delay    time.Duration
	release  chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := sidekickCheck(r)
	if err != nil {
		rc.mu.Lock()
		rc.rejected = append(rc.rejected, err.Error())
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.delay > 0 {
		select {
		case <-time.After(rc.delay):
		case <-rc.release:
		}
	}
	rc.mu.Lock()
	rc.rules = append(rc.rules, body["rule"].(string)+"/"+body["priority"].(string))
	rc.mu.Unlock()
	io.WriteString(w, "{}")
}

func (rc *receiver) got() ([]string, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.rules...), append([]string(nil), rc.rejected...)
}

// A real container's alerts reach a falcosidekick-like receiver on
// loopback, valid by its rules; the webhook's minimumPriority holds back a
// Notice the file output still gets; and a receiver that takes seconds to
// answer never slows the container down.
func TestAlertRouting(t *testing.T) {
	n := newTestNet(t)
	acceptAndClose(n.listen(t, "0.0.0.0:4444"))
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := writePolicy(t, fmt.Sprintf(`
alerts:
  file: $DIR/alerts.jsonl
  webhook: {url: %q, minimumPriority: warning, timeout: 5s, queue: 16}
policies:
  - name: routed
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
`, srv.URL+"/"))
	alertsFile := filepath.Join(filepath.Dir(cfg), "alerts.jsonl")
	const id = "routed"
	inContainerNet(t, cfg, id, n)
	if got := probe(t, id, "unusual", "tcp4", n.HIP+":4444"); got != "ok" {
		t.Fatalf("connect: %q", got)
	}
	execIn(t, id, "sh", "sh", "-c", "echo ROUTED")
	waitAlert(t, alertsFile, "Outbound Connection to Unusual Port", id) // Notice: the file gets it
	waitAlert(t, alertsFile, "Shell Spawned in Container", id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rules, rejected := rc.got()
		if len(rejected) > 0 {
			t.Fatalf("the receiver rejected alerts: %v", rejected)
		}
		if slices.Contains(rules, "Shell Spawned in Container/Warning") {
			if slices.ContainsFunc(rules, func(s string) bool { return strings.HasPrefix(s, "Outbound Connection to Unusual Port/") }) {
				t.Fatalf("a Notice alert passed minimumPriority warning: %v", rules)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook did not get the shell alert: %v", rules)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A receiver that answers after 20 s: the container's execs (each one
	// an alert to deliver) still return at once.
	slow := &receiver{delay: 20 * time.Second, release: make(chan struct{})}
	slowSrv := httptest.NewServer(slow)
	defer slowSrv.Close()
	defer close(slow.release)
	slowCfg := writePolicy(t, fmt.Sprintf(`
alerts:
  file: $DIR/alerts.jsonl
  webhook: {url: %q, timeout: 30s, queue: 2}
policies:
  - name: slow
    match: {}
    seccomp: runtime/default
    monitor: {mode: enforce}
`, slowSrv.URL+"/"))
	slowAlerts := filepath.Join(filepath.Dir(slowCfg), "alerts.jsonl")
	const sid = "routed-slow"
	monitored(t, slowCfg, sid)
	for i := 0; i < 6; i++ {
		start := time.Now()
		res := execIn(t, sid, fmt.Sprintf("sh%d", i), "sh", "-c", "echo PROMPT")
		if el := time.Since(start); el > 3*time.Second || !strings.Contains(res.Output, "PROMPT") {
			t.Fatalf("exec %d took %v with a slow receiver (%q)", i, el, res.Output)
		}
	}
	waitAlert(t, slowAlerts, "Shell Spawned in Container", sid)
	if n := len(readAlerts(t, slowAlerts)); n < 6 {
		t.Errorf("file output has %d alerts, want at least 6: the slow webhook held it back", n)
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
