//go:build linux

package fanotify

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// runcBinary finds runc: $VIGIL_RUNC, the tools cache, then $PATH.
func runcBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("VIGIL_RUNC"), "/var/cache/vigil/runc-test"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("requires runc (set VIGIL_RUNC, or run through `make test`, which builds it): " + err.Error())
	}
	return p
}

// TestRealContainer runs a runc container on a rootfs of its own
// filesystem, as the shim does, with the marks placed before start:
// reads of /etc/shadow from inside are denied and reported with the
// container's path, runc's own reads of /etc/passwd for `runc exec` are
// not reported, and a write inside the container is notified.
func TestRealContainer(t *testing.T) {
	s := newSensor(t)
	runc := runcBinary(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("requires a static busybox for the container image: " + err.Error())
	}
	bundle := t.TempDir()
	root := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmount(root) })
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root+"/bin/busybox", string(bb))
	if err := os.Chmod(root+"/bin/busybox", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "sleep", "echo"} {
		if err := os.Symlink("busybox", root+"/bin/"+applet); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(root+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, root+"/etc/shadow", "root:*:19000:0:99999:7:::\n")
	writeFile(t, root+"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n")
	writeFile(t, root+"/etc/group", "root:x:0:\napp:x:1000:\n")
	for _, f := range []string{"/etc/passwd", "/etc/group", "/tmp"} {
		if err := os.Chmod(root+f, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	state := t.TempDir()
	runcCmd := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, runc, append([]string{"--root", state}, args...)...)
		cmd.Dir = bundle
		// A file, not a pipe: a detached container keeps runc's stdio.
		out, err := os.CreateTemp(t.TempDir(), "runc-out")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Run()
		b, _ := os.ReadFile(out.Name())
		if ctx.Err() != nil {
			t.Fatalf("runc %v timed out (a process left blocked?): %s", args, b)
		}
		return string(b), err
	}
	if out, err := runcCmd("spec"); err != nil {
		t.Fatalf("runc spec: %v %s", err, out)
	}
	var spec map[string]any
	b, err := os.ReadFile(bundle + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"sleep", "60"}
	spec["root"] = map[string]any{"path": "rootfs", "readonly": false}
	if b, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle+"/config.json", b, 0o644); err != nil {
		t.Fatal(err)
	}

	// The shim's order: marks first, then start.
	rec := &recorder{deny: []string{"/etc/shadow"}}
	if _, err := s.Watch(Watch{Key: "ctr", Rootfs: root, Paths: []string{"/etc/shadow", "/etc/passwd"}, Decide: rec.decide}); err != nil {
		t.Fatal(err)
	}
	notes := make(chan Access, 16)
	if err := s.WatchMount("ctr", root, func(a Access) { notes <- a }); err != nil {
		t.Fatal(err)
	}
	id := "vigil-fanotify-test"
	if out, err := runcCmd("run", "-d", "--bundle", bundle, id); err != nil {
		t.Fatalf("runc run: %v %s", err, out)
	}
	t.Cleanup(func() {
		_, _ = runcCmd("kill", id, "KILL")
		_, _ = runcCmd("delete", "--force", id)
	})

	out, err := runcCmd("exec", id, "cat", "/etc/shadow")
	if err == nil || !strings.Contains(out, "Operation not permitted") || strings.Contains(out, "root:*") {
		t.Fatalf("cat /etc/shadow in the container: %v %q; want EPERM", err, out)
	}
	// runc exec as a named user: runc's init reads /etc/passwd and
	// /etc/group to resolve it, then the user's cat reads /etc/passwd.
	out, err = runcCmd("exec", "--user", "1000:1000", id, "cat", "/etc/passwd")
	if err != nil || !strings.Contains(out, "app:x:1000") {
		t.Fatalf("cat /etc/passwd as uid 1000: %v %q", err, out)
	}
	if out, err := runcCmd("exec", id, "sh", "-c", "echo drift > /tmp/drift; sleep 1; true"); err != nil {
		t.Fatalf("write in the container: %v %s", err, out)
	}

	got := rec.accesses()
	var paths []string
	for _, a := range got {
		paths = append(paths, a.Comm+":"+a.Path)
		if strings.HasPrefix(a.Comm, "runc:[") {
			t.Errorf("runc's init was reported: %+v", a)
		}
		if a.Key != "ctr" || a.PID <= 0 || a.Exe != "/bin/busybox" {
			t.Errorf("access %+v; want key ctr, a host pid, exe /bin/busybox", a)
		}
	}
	if !slices.Equal(paths, []string{"cat:/etc/shadow", "cat:/etc/passwd"}) {
		t.Errorf("reported %v; want cat:/etc/shadow then cat:/etc/passwd", paths)
	}
	if len(got) == 2 && got[1].UID != 1000 {
		t.Errorf("cat /etc/passwd reported uid %d, want 1000", got[1].UID)
	}
	if st := s.Stats(); st.Skipped == 0 || st.Denied != 1 {
		t.Errorf("stats %+v; want runc's own reads skipped and 1 denial", st)
	}
	select {
	case a := <-notes:
		if a.Path != "/tmp/drift" || !a.Write || a.Comm != "sh" {
			t.Errorf("notification %+v; want sh writing /tmp/drift", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no write notification from inside the container")
	}
}
