package install

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vigil-dev/vigil/policy"
)

func TestInstallBinaries(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "bin")
	for _, b := range Binaries {
		if err := os.WriteFile(filepath.Join(src, b), []byte("#!/bin/sh\necho "+b+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := InstallBinaries(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(Binaries) {
		t.Fatalf("changed = %v, want every binary", changed)
	}
	for _, b := range Binaries {
		fi, err := os.Stat(filepath.Join(dst, b))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", b, fi.Mode().Perm())
		}
	}
	// Same content: nothing to do.
	if changed, err := InstallBinaries(src, dst); err != nil || len(changed) != 0 {
		t.Errorf("second install changed %v (err %v)", changed, err)
	}
	// New content replaces the file (a new inode: a running shim keeps its
	// old binary).
	old, _ := os.Stat(filepath.Join(dst, Binaries[0]))
	os.WriteFile(filepath.Join(src, Binaries[0]), []byte("new"), 0o700)
	if changed, err := InstallBinaries(src, dst); err != nil || len(changed) != 1 {
		t.Fatalf("update changed %v (err %v), want one file", changed, err)
	}
	now, _ := os.Stat(filepath.Join(dst, Binaries[0]))
	if os.SameFile(old, now) {
		t.Error("the binary was rewritten in place, not replaced")
	}
	// A missing source names the file.
	os.Remove(filepath.Join(src, "vigil"))
	if _, err := InstallBinaries(src, dst); err == nil {
		t.Error("no error for a missing binary")
	}
}

func TestWriteDefaultPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "vigil")
	path, written, err := WriteDefaultPolicy(dir)
	if err != nil || !written {
		t.Fatalf("written=%v err=%v", written, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
			t.Errorf("owner %d:%d, want root", st.Uid, st.Gid)
		}
	}
	// The shim loads it (as root it also passes the ownership check).
	cfg, err := policy.Load(path)
	if err != nil {
		t.Fatalf("the default policy does not load: %v", err)
	}
	if len(cfg.Policies) != 2 || cfg.Policies[0].Name != "sandboxes" || cfg.Policies[1].Name != "default" {
		t.Errorf("policies = %v", cfg.Policies)
	}
	// An administrator's file is never overwritten.
	if err := os.WriteFile(path, []byte("policies: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, written, err := WriteDefaultPolicy(dir); err != nil || written {
		t.Fatalf("second write: written=%v err=%v", written, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "policies: []\n" {
		t.Errorf("existing policy overwritten: %q", b)
	}
}

func TestWriteFileAtomicKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte("a"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("b"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "b" || fi.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v, want b and 0640", b, fi.Mode().Perm())
	}
}
