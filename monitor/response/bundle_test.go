package response

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Capture on the test process and a child, with a cgroup directory that
// lists them (a plain directory: no root needed): processes with their
// command lines, the test's listening socket with its owner, the child's
// executable hashed and copied, the bundle complete and nothing partial
// left.
func TestCapture(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("requires sleep(1): the capture needs a child process to look at")
	}
	child := exec.Command(sleep, "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cg := t.TempDir()
	sub := filepath.Join(cg, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(strconv.Itoa(child.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	evTime := time.Now()
	dir, m, err := Capture(Request{
		Dir: out, ContainerID: "0123456789abcdef0123", Rule: "Shell Spawned in Container", Priority: "Warning",
		Time: evTime, Cgroup: cg, RootPID: os.Getpid(), PID: child.Process.Pid, ExePath: sleep,
		Event:  map[string]string{"type": "execve"},
		Alerts: [][]byte{[]byte(`{"rule":"a"}`), []byte(`{"rule":"b"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != out || !strings.HasPrefix(filepath.Base(dir), "0123456789ab-") || !strings.HasSuffix(dir, "-shell-spawned-in-container") {
		t.Errorf("bundle dir %s", dir)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 {
		t.Errorf("%d entries in %s, want the bundle only", len(ents), out)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("bundle mode %v %v, want 0700", st.Mode(), err)
	}
	var mf Manifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &mf)
	if mf.Processes != 2 || mf.Started.After(mf.Finished) || !mf.EventTime.Equal(evTime) || mf.Rule != m.Rule {
		t.Errorf("manifest %+v", mf)
	}
	for name, sum := range mf.Files {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("manifest lists %s: %v", name, err)
			continue
		}
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != sum {
			t.Errorf("%s: sha256 differs from the manifest", name)
		}
	}
	var procs []Process
	readJSON(t, filepath.Join(dir, "processes.json"), &procs)
	var childProc *Process
	for i := range procs {
		if procs[i].PID == child.Process.Pid {
			childProc = &procs[i]
		}
	}
	if childProc == nil || !slices.Equal(childProc.Cmdline, []string{sleep, "30"}) || childProc.PPID != os.Getpid() || childProc.Exe == "" {
		t.Fatalf("child process in bundle: %+v", childProc)
	}
	tree, _ := os.ReadFile(filepath.Join(dir, "pstree.txt"))
	if !strings.Contains(string(tree), "\n  "+strconv.Itoa(child.Process.Pid)+" ") {
		t.Errorf("pstree does not show the child under the test:\n%s", tree)
	}
	var socks []Socket
	readJSON(t, filepath.Join(dir, "sockets.json"), &socks)
	found := false
	for _, s := range socks {
		if s.Local == ln.Addr().String() && s.State == "LISTEN" && slices.Contains(s.PIDs, os.Getpid()) {
			found = true
		}
	}
	if !found {
		t.Errorf("listening socket %s not in sockets.json with its owner: %+v", ln.Addr(), socks)
	}
	want, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	if mf.Executable == nil || mf.Executable.SHA256 != hex.EncodeToString(sum[:]) || mf.Executable.Source != "/proc/"+strconv.Itoa(child.Process.Pid)+"/exe" {
		t.Fatalf("executable %+v", mf.Executable)
	}
	copied, err := os.ReadFile(filepath.Join(dir, mf.Executable.Copy))
	if err != nil || string(copied) != string(want) {
		t.Errorf("copy of the executable: %v", err)
	}
	alerts, _ := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	if string(alerts) != "{\"rule\":\"a\"}\n{\"rule\":\"b\"}\n" {
		t.Errorf("alerts.jsonl %q", alerts)
	}

	// The process is gone: the executable is read by path in the root.
	dir2, m2, err := Capture(Request{Dir: out, ContainerID: "c", Rule: "r", Cgroup: cg, RootPID: os.Getpid(), PID: 1 << 30, ExePath: sleep})
	if err != nil {
		t.Fatal(err)
	}
	if dir2 == dir || m2.Executable == nil || m2.Executable.SHA256 != mf.Executable.SHA256 || !strings.HasSuffix(m2.Executable.Source, "/root"+sleep) {
		t.Errorf("executable by path: %+v", m2.Executable)
	}
	if len(m2.Errors) == 0 {
		t.Error("the missing process is not reported in the manifest's errors")
	}

	steps := []Step{{Action: "isolate", At: time.Now()}, {Action: "kill", At: time.Now()}}
	if err := AppendTimeline(dir, m, steps); err != nil {
		t.Fatal(err)
	}
	var tl []Step
	readJSON(t, filepath.Join(dir, "timeline.json"), &tl)
	if len(tl) != 3 || tl[0].Action != "forensics" || !tl[0].At.Equal(m.Finished) || tl[2].Action != "kill" {
		t.Errorf("timeline %+v", tl)
	}
}

func TestCaptureUnwritable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Capture(Request{Dir: filepath.Join(f, "sub"), Cgroup: t.TempDir()}); err == nil {
		t.Fatal("Capture under a regular file succeeded")
	}
}

func TestBundleName(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	cases := []struct{ id, rule, want string }{
		{"0123456789abcdef", "Shell Spawned in Container", "0123456789ab-20250102T030405.000000006Z-shell-spawned-in-container"},
		{"a/b", "--Weird  Rule!!", "a_b-20250102T030405.000000006Z-weird-rule"},
		{"x", strings.Repeat("long ", 20), "x-20250102T030405.000000006Z-long-long-long-long-long-long-long-long"},
	}
	for _, tc := range cases {
		if got := bundleName(tc.id, ts, tc.rule); got != tc.want {
			t.Errorf("bundleName(%q, %q) = %q, want %q", tc.id, tc.rule, got, tc.want)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
