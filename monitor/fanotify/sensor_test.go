//go:build linux

package fanotify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/event"
)

// newSensor returns a sensor closed at the end of the test.
func newSensor(t *testing.T) *Sensor {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("requires root: fanotify permission marks need CAP_SYS_ADMIN")
	}
	s, err := New()
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("requires fanotify permission events (CONFIG_FANOTIFY_ACCESS_PERMISSIONS): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// tmpfs mounts a fresh tmpfs on a temporary directory: a filesystem of
// the test's own, as a container's overlay is.
func tmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("requires root: mounting a tmpfs needs CAP_SYS_ADMIN")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

// newRootfs builds a small container rootfs on its own tmpfs.
func newRootfs(t *testing.T) string {
	t.Helper()
	root := tmpfs(t)
	writeFile(t, root+"/etc/shadow", "root:*:19000:0:99999:7:::\n")
	writeFile(t, root+"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
	writeFile(t, root+"/etc/motd", "hello\n")
	return root
}

// recorder is a Decide callback that records every access and denies the
// paths it is told to.
type recorder struct {
	mu   sync.Mutex
	got  []Access
	deny []string // container paths
}

func (r *recorder) decide(a Access) Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, a)
	if slices.Contains(r.deny, a.Path) {
		return Deny
	}
	return Allow
}

func (r *recorder) accesses() []Access {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

type result struct {
	pid            int
	stdout, stderr string
	err            error
}

// run runs a command in a child process, as a container process would.
func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v timed out: a process was left blocked", name, args)
	}
	return result{pid: cmd.Process.Pid, stdout: out.String(), stderr: errb.String(), err: err}
}

func wantDenied(t *testing.T, r result, what string) {
	t.Helper()
	if r.err == nil || r.stdout != "" || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Fatalf("%s: err=%v stdout=%q stderr=%q; want EPERM and no bytes", what, r.err, r.stdout, r.stderr)
	}
}

func wantRead(t *testing.T, r result, content, what string) {
	t.Helper()
	if r.err != nil || (content != "" && r.stdout != content) {
		t.Fatalf("%s: err=%v stdout=%q stderr=%q; want %q", what, r.err, r.stdout, r.stderr, content)
	}
}

func catPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cat")
	if err != nil {
		t.Fatalf("cat: %v", err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

func TestDenyShadow(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	// A host file an image symlink points at: resolution stays in the
	// rootfs, so it must never be marked.
	hostFile := filepath.Join(t.TempDir(), "host-secret")
	writeFile(t, hostFile, "host\n")
	if err := os.Symlink(hostFile, root+"/etc/escape"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{deny: []string{"/etc/shadow"}}
	res, err := s.Watch(Watch{Key: "c1", Rootfs: root, Paths: []string{"/etc/shadow", "/etc/missing", "/etc/escape"}, Decide: rec.decide})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Marked, []string{"/etc/shadow"}) || !slices.Equal(res.Missing, []string{"/etc/missing", "/etc/escape"}) {
		t.Fatalf("Watch result %+v", res)
	}

	r := run(t, "cat", root+"/etc/shadow")
	wantDenied(t, r, "cat shadow")
	got := rec.accesses()
	if len(got) != 1 {
		t.Fatalf("%d accesses, want 1: %+v", len(got), got)
	}
	a := got[0]
	if a.Key != "c1" || a.Path != "/etc/shadow" || a.PID != r.pid || a.TID != r.pid || a.PPID != os.Getpid() ||
		a.Comm != "cat" || a.Exe != catPath(t) || !a.Read || a.Write || a.UID != 0 || a.Time.IsZero() {
		t.Errorf("access %+v; want key c1, /etc/shadow read by cat pid %d (exe %s), parent %d", a, r.pid, catPath(t), os.Getpid())
	}

	// Not watched: read freely, never reported.
	wantRead(t, run(t, "cat", root+"/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n", "cat passwd")
	wantRead(t, run(t, "cat", root+"/etc/motd"), "hello\n", "cat motd")
	wantRead(t, run(t, "cat", hostFile), "host\n", "cat host file behind the symlink")
	wantRead(t, run(t, "cat", "/etc/shadow"), "", "cat the host's /etc/shadow")
	if n := len(rec.accesses()); n != 1 {
		t.Errorf("unwatched opens were reported: %+v", rec.accesses()[1:])
	}

	// The sensor's own process is never asked about.
	if b, err := os.ReadFile(root + "/etc/shadow"); err != nil || len(b) == 0 {
		t.Errorf("own read of shadow: %q, %v", b, err)
	}
	st := s.Stats()
	if st.Denied != 1 || st.Allowed != 0 || st.Skipped != 1 || st.Errors != 0 {
		t.Errorf("stats %+v; want 1 denied, 1 skipped", st)
	}

	if err := s.Unwatch("c1"); err != nil {
		t.Fatal(err)
	}
	wantRead(t, run(t, "cat", root+"/etc/shadow"), "root:*:19000:0:99999:7:::\n", "cat shadow after Unwatch")
	if n := len(rec.accesses()); n != 1 {
		t.Errorf("open after Unwatch reported: %+v", rec.accesses()[1:])
	}
	if err := s.Unwatch("c1"); !errors.Is(err, ErrNotWatched) {
		t.Errorf("second Unwatch = %v, want ErrNotWatched", err)
	}
	if len(s.marks) != 0 || len(s.dirOwners) != 0 || len(s.watches) != 0 {
		t.Errorf("state left after Unwatch: %d marks, %d dir devices, %d watches", len(s.marks), len(s.dirOwners), len(s.watches))
	}
}

func TestOpenMode(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	rec := &recorder{}
	if _, err := s.Watch(Watch{Key: 1, Rootfs: root, Paths: []string{"/etc/motd"}, Decide: rec.decide}); err != nil {
		t.Fatal(err)
	}
	motd := root + "/etc/motd"
	tests := []struct {
		name        string
		script      string
		read, write bool
	}{
		{"append", "echo x >> " + motd, false, true},
		{"read", "read l < " + motd, true, false},
		{"read-write", "exec 3<> " + motd, true, true},
		{"truncate", "echo y > " + motd, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.accesses())
			r := run(t, "sh", "-c", tt.script)
			if r.err != nil {
				t.Fatalf("sh -c %q: %v %s", tt.script, r.err, r.stderr)
			}
			got := rec.accesses()[before:]
			if len(got) != 1 {
				t.Fatalf("%d accesses, want 1: %+v", len(got), got)
			}
			if a := got[0]; a.Read != tt.read || a.Write != tt.write || a.PID != r.pid || a.Comm != "sh" {
				t.Errorf("access %+v; want read=%v write=%v by sh pid %d", a, tt.read, tt.write, r.pid)
			}
		})
	}
}

func TestDirectoryMark(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	// Images link /var/run to /run with an absolute link: it must resolve
	// inside the rootfs.
	if err := os.MkdirAll(root+"/var", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run", root+"/var/run"); err != nil {
		t.Fatal(err)
	}
	sa := root + "/run/secrets/kubernetes.io/serviceaccount"
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root+"/run/other", "not secret\n")
	rec := &recorder{deny: []string{"/run/secrets/token", "/run/secrets/kubernetes.io/serviceaccount/token"}}
	res, err := s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/var/run/secrets/"}, Decide: rec.decide})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/run/secrets", "/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io/serviceaccount"}
	if !slices.Equal(res.Marked, want) || len(res.Missing) != 0 {
		t.Fatalf("Watch result %+v, want marked %v", res, want)
	}
	// Files created after Watch, in the directory and a subdirectory.
	writeFile(t, root+"/run/secrets/token", "t1\n")
	writeFile(t, sa+"/token", "t2\n")
	writeFile(t, root+"/run/secrets/public", "ok\n")

	r1 := run(t, "cat", root+"/run/secrets/token")
	wantDenied(t, r1, "cat new file in watched directory")
	r2 := run(t, "cat", sa+"/token")
	wantDenied(t, r2, "cat new file in watched subdirectory")
	wantRead(t, run(t, "cat", root+"/run/secrets/public"), "ok\n", "cat allowed file in watched directory")
	wantRead(t, run(t, "cat", root+"/run/other"), "not secret\n", "cat file outside the watched directory")

	got := rec.accesses()
	if len(got) != 3 {
		t.Fatalf("%d accesses, want 3: %+v", len(got), got)
	}
	for i, w := range []struct {
		path string
		pid  int
	}{{"/run/secrets/token", r1.pid}, {"/run/secrets/kubernetes.io/serviceaccount/token", r2.pid}, {"/run/secrets/public", 0}} {
		if got[i].Path != w.path || (w.pid != 0 && got[i].PID != w.pid) || got[i].Key != "c" {
			t.Errorf("access %d = %+v, want %s by pid %d", i, got[i], w.path, w.pid)
		}
	}
}

// TestTwoRootfsOneFilesystem: two watches with directory marks on one
// filesystem; each open must reach its own watch.
func TestTwoRootfsOneFilesystem(t *testing.T) {
	s := newSensor(t)
	fs := tmpfs(t)
	recs := map[string]*recorder{}
	for _, c := range []string{"a", "b"} {
		writeFile(t, fs+"/"+c+"/etc/secret", c+"\n")
		recs[c] = &recorder{deny: []string{"/etc/secret"}}
		if _, err := s.Watch(Watch{Key: c, Rootfs: fs + "/" + c, Paths: []string{"/etc"}, Decide: recs[c].decide}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"a", "b", "a"} {
		wantDenied(t, run(t, "cat", fs+"/"+c+"/etc/secret"), "cat "+c)
	}
	if a, b := recs["a"].accesses(), recs["b"].accesses(); len(a) != 2 || len(b) != 1 || a[0].Key != "a" || b[0].Key != "b" {
		t.Errorf("a got %+v, b got %+v", a, b)
	}
	// Unwatching one leaves the other in force.
	if err := s.Unwatch("a"); err != nil {
		t.Fatal(err)
	}
	wantRead(t, run(t, "cat", fs+"/a/etc/secret"), "a\n", "cat a after Unwatch(a)")
	wantDenied(t, run(t, "cat", fs+"/b/etc/secret"), "cat b after Unwatch(a)")
}

func TestSharedInode(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	r1, r2 := &recorder{deny: []string{"/etc/shadow"}}, &recorder{}
	for key, r := range map[string]*recorder{"one": r1, "two": r2} {
		if _, err := s.Watch(Watch{Key: key, Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: r.decide}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unwatch("one"); err != nil {
		t.Fatal(err)
	}
	// The mark is shared: "two" still holds it.
	wantRead(t, run(t, "cat", root+"/etc/shadow"), "", "cat shadow")
	if len(r2.accesses()) != 1 || len(r1.accesses()) != 0 {
		t.Errorf("after Unwatch(one): one got %d, two got %d accesses; want 0 and 1", len(r1.accesses()), len(r2.accesses()))
	}
}

func TestRuncInitSkipped(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	rec := &recorder{deny: []string{"/etc/shadow"}}
	if _, err := s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: rec.decide}); err != nil {
		t.Fatal(err)
	}
	cat, err := os.ReadFile(catPath(t))
	if err != nil {
		t.Fatal(err)
	}
	// The comm of a process is the base name of the file it executed.
	const runcInit = "runc:[2:INIT]"
	outside := filepath.Join(t.TempDir(), runcInit) // not on the rootfs, as runc's binary
	inside := filepath.Join(root, "bin", runcInit)  // a container binary posing as runc
	for _, p := range []string{outside, inside} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, cat, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wantRead(t, run(t, outside, root+"/etc/shadow"), "root:*:19000:0:99999:7:::\n", "runc init reading shadow")
	if got := rec.accesses(); len(got) != 0 || s.Stats().Skipped != 1 {
		t.Fatalf("runc init was reported (%+v) or not skipped (%+v)", got, s.Stats())
	}
	r := run(t, inside, root+"/etc/shadow")
	wantDenied(t, r, "container binary named like runc init")
	got := rec.accesses()
	if len(got) != 1 || got[0].Comm != runcInit || got[0].Exe != "/bin/"+runcInit || got[0].PID != r.pid {
		t.Errorf("accesses %+v; want one by %s running /bin/%s", got, runcInit, runcInit)
	}
}

func TestDecidePanics(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	_, err := s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: func(Access) Verdict { panic("bug") }})
	if err != nil {
		t.Fatal(err)
	}
	wantRead(t, run(t, "cat", root+"/etc/shadow"), "root:*:19000:0:99999:7:::\n", "cat with a panicking Decide")
	if st := s.Stats(); st.Panics != 1 {
		t.Errorf("stats %+v, want 1 panic", st)
	}
}

// TestCloseReleasesBlockedOpen closes the sensor while an open waits for a
// Decide that does not return: the open must go through at once, and Close
// must wait for Decide before returning.
func TestCloseReleasesBlockedOpen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root: fanotify permission marks need CAP_SYS_ADMIN")
	}
	s, err := New()
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("requires fanotify permission events: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	root := newRootfs(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var after sync.Once
	_, err = s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: func(Access) Verdict {
		after.Do(func() { close(entered) })
		<-release
		return Deny
	}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cat", root+"/etc/shadow")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Decide was never called")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-exited:
		if err != nil || out.Len() == 0 {
			t.Errorf("cat after Close: %v, %d bytes; want the open allowed", err, out.Len())
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the open stayed blocked after Close")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while Decide was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after Decide did")
	}
	if _, err := s.Watch(Watch{Key: "d", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: func(Access) Verdict { return Deny }}); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
	wantRead(t, run(t, "cat", root+"/etc/shadow"), "root:*:19000:0:99999:7:::\n", "cat after Close")
}

func TestWatchErrors(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	deny := func(Access) Verdict { return Deny }
	tests := []struct {
		name  string
		w     Watch
		field string
	}{
		{"nil key", Watch{Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: deny}, "key:"},
		{"uncomparable key", Watch{Key: []string{"x"}, Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: deny}, "key:"},
		{"no decide", Watch{Key: "k", Rootfs: root, Paths: []string{"/etc/shadow"}}, "decide:"},
		{"no paths", Watch{Key: "k", Rootfs: root, Decide: deny}, "paths:"},
		{"relative path", Watch{Key: "k", Rootfs: root, Paths: []string{"/etc/shadow", "etc/passwd"}, Decide: deny}, "paths[1]:"},
		{"relative rootfs", Watch{Key: "k", Rootfs: "rootfs", Paths: []string{"/etc/shadow"}, Decide: deny}, "rootfs:"},
		{"missing rootfs", Watch{Key: "k", Rootfs: root + "/nope", Paths: []string{"/etc/shadow"}, Decide: deny}, "rootfs:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Watch(tt.w)
			if !errors.Is(err, ErrInvalidWatch) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Watch = %v, want ErrInvalidWatch naming %s", err, tt.field)
			}
		})
	}
	if _, err := s.Watch(Watch{Key: "k", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: deny}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(Watch{Key: "k", Rootfs: root, Paths: []string{"/etc/passwd"}, Decide: deny}); !errors.Is(err, ErrAlreadyWatched) {
		t.Errorf("second Watch with one key = %v, want ErrAlreadyWatched", err)
	}
}

// TestTooManyMarksRollsBack: a Watch that fails leaves no mark behind.
func TestTooManyMarksRollsBack(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	for i := range MaxDirMarks {
		if err := os.MkdirAll(fmt.Sprintf("%s/data/d%04d", root, i), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, root+"/data/d0000/file", "data\n")
	_, err := s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/etc/shadow", "/data"}, Decide: func(Access) Verdict { return Deny }})
	if !errors.Is(err, ErrTooManyMarks) || !strings.Contains(err.Error(), `paths[1] "/data"`) {
		t.Fatalf("Watch = %v, want ErrTooManyMarks naming paths[1]", err)
	}
	wantRead(t, run(t, "cat", root+"/etc/shadow"), "root:*:19000:0:99999:7:::\n", "cat shadow after failed Watch")
	wantRead(t, run(t, "cat", root+"/data/d0000/file"), "data\n", "cat data after failed Watch")
	if len(s.marks) != 0 || len(s.dirOwners) != 0 || len(s.watches) != 0 {
		t.Errorf("state left after failed Watch: %d marks, %d dir devices, %d watches", len(s.marks), len(s.dirOwners), len(s.watches))
	}
}

func TestToEvent(t *testing.T) {
	s := newSensor(t)
	root := newRootfs(t)
	var mu sync.Mutex
	var evs []*eventCapture
	_, err := s.Watch(Watch{Key: "c", Rootfs: root, Paths: []string{"/etc/shadow"}, Decide: func(a Access) Verdict {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, &eventCapture{a: a, e: *ToEvent(a)})
		return Deny
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "sh", "-c", "cat "+root+"/etc/shadow; true")
	if r.err != nil {
		t.Fatal(r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	a, e := evs[0].a, evs[0].e
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	p := e.Process
	if e.Type != "openat" || e.Source != "syscall" || !e.Time.Equal(a.Time) ||
		e.File.Name != "/etc/shadow" || e.File.TypeChar != "f" || !e.File.Read || e.File.Write {
		t.Errorf("event %+v", e)
	}
	if int(p.PID) != a.PID || int(p.PPID) != r.pid || p.Name != "cat" || p.ExePath != catPath(t) ||
		p.Exe != "cat" || !slices.Equal(p.Args, []string{root + "/etc/shadow"}) ||
		p.PName != "sh" || p.PExePath == "" || len(p.Ancestors) < 2 ||
		p.Ancestors[0] != "sh" || p.Ancestors[1] != strings.TrimSpace(string(comm)) {
		t.Errorf("process %+v; want cat (child of sh pid %d, child of %s %s)", p, r.pid, comm, self)
	}
}

type eventCapture struct {
	a Access
	e event.Event
}

func TestWatchMount(t *testing.T) {
	s := newSensor(t)
	root := tmpfs(t)
	other := tmpfs(t)
	type note struct {
		key  any
		path string
		pid  int
		comm string
		w    bool
	}
	notes := make(chan note, 64)
	notify := func(a Access) { notes <- note{a.Key, a.Path, a.PID, a.Comm, a.Write && !a.Read} }
	if err := s.WatchMount("m", root, notify); err != nil {
		t.Fatal(err)
	}
	if err := s.WatchMount("o", other, notify); err != nil {
		t.Fatal(err)
	}
	next := func(what string) note {
		t.Helper()
		select {
		case n := <-notes:
			return n
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notification", what)
			return note{}
		}
	}

	// Writes that must not be reported: the sensor's own, and one outside.
	writeFile(t, root+"/own", "x")
	writeFile(t, filepath.Join(t.TempDir(), "outside"), "x")

	// The writer waits for its notification before it exits, so the
	// sensor can still read its /proc entry.
	writer := exec.Command("sh", "-c", "echo x > "+root+"/newfile; read _ || :")
	stdin, err := writer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	n := next("write in rootfs")
	stdin.Close()
	if err := writer.Wait(); err != nil {
		t.Fatal(err)
	}
	if n != (note{"m", "/newfile", writer.Process.Pid, "sh", true}) {
		t.Errorf("notification %+v, want a write of /newfile by sh pid %d", n, writer.Process.Pid)
	}
	if st := s.Stats(); st.Skipped < 1 {
		t.Errorf("own write not skipped: %+v", st)
	}

	// A writer in another mount namespace, as every container is: a mount
	// mark would miss it, the filesystem mark does not.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "echo y > "+root+"/nsfile")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write from a new mount namespace: %v %s", err, out)
	}
	if n := next("write from another mount namespace"); n.key != "m" || n.path != "/nsfile" || n.pid != cmd.Process.Pid || !n.w {
		t.Errorf("notification %+v, want a write of /nsfile by pid %d", n, cmd.Process.Pid)
	}

	if err := s.Unwatch("m"); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "sh", "-c", "echo z > "+root+"/late; echo z > "+other+"/sync"); r.err != nil {
		t.Fatal(r.err)
	}
	// Events arrive in order: the first one after Unwatch is the other
	// filesystem's.
	if n := next("write on the other filesystem"); n.key != "o" || n.path != "/sync" {
		t.Errorf("notification %+v, want only o's /sync after Unwatch(m)", n)
	}
	if st := s.Stats(); st.Notified != 3 || st.Overflows != 0 {
		t.Errorf("stats %+v, want 3 notified", st)
	}
}

func TestWatchMountErrors(t *testing.T) {
	s := newSensor(t)
	root := tmpfs(t)
	notify := func(Access) {}
	if err := os.Mkdir(root+"/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	bind := t.TempDir()
	if err := unix.Mount(root+"/sub", bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
	tests := []struct {
		name   string
		key    any
		rootfs string
		notify func(Access)
		want   error
	}{
		{"not a mount point", "a", root + "/sub", notify, ErrNotMountPoint},
		{"bind mount of a subdirectory", "b", bind, notify, ErrNotWholeFilesystem},
		{"host root", "c", "/", notify, ErrNotWholeFilesystem},
		{"nil notify", "d", root, nil, ErrInvalidWatch},
		{"nil key", nil, root, notify, ErrInvalidWatch},
		{"relative", "e", "x", notify, ErrInvalidWatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.WatchMount(tt.key, tt.rootfs, tt.notify); !errors.Is(err, tt.want) {
				t.Fatalf("WatchMount = %v, want %v", err, tt.want)
			}
		})
	}
	if err := s.WatchMount("m", root, notify); err != nil {
		t.Fatal(err)
	}
	if err := s.WatchMount("m", root, notify); !errors.Is(err, ErrAlreadyWatched) {
		t.Errorf("same key twice = %v", err)
	}
	if err := s.WatchMount("n", root, notify); !errors.Is(err, ErrAlreadyWatched) {
		t.Errorf("same filesystem twice = %v", err)
	}
}

func mountTmpfs(dir string) error { return unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755") }

func unmount(dir string) { _ = unix.Unmount(dir, unix.MNT_DETACH) }
