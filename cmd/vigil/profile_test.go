package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/profiles/apparmor"
)

func profileShow(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(append([]string{"profile", "show"}, args...), &o, &e)
	return code, o.String(), e.String()
}

// profileDir lays out a profiles directory from relative path → content.
func profileDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func decodeSeccomp(t *testing.T, out string) *specs.LinuxSeccomp {
	t.Helper()
	var p *specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("stdout is not OCI seccomp JSON: %v\n%s", err, out)
	}
	return p
}

func allows(p *specs.LinuxSeccomp, name string) bool {
	for _, sc := range p.Syscalls {
		if len(sc.Args) == 0 && sc.Action == specs.ActAllow && slices.Contains(sc.Names, name) {
			return true
		}
	}
	return false
}

const profileOCIFile = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]
}`

const profileAppArmorFile = "#include <tunables/global>\nprofile web-app {\n  deny /bin/sh x,\n}\n"

func TestProfileShowSeccomp(t *testing.T) {
	dir := profileDir(t, map[string]string{
		"seccomp/app.json":  profileOCIFile,
		"seccomp/typo.json": "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{\"names\": [\"wrte\"], \"action\": \"SCMP_ACT_ALLOW\"}]\n}",
	})
	for _, tc := range []struct {
		name        string
		args        []string
		allowed     []string // syscalls the output allows
		denied      []string // syscalls it does not allow unconditionally
		wantStderr  []string
		wantNoAdded bool
	}{
		{"hardened, containerd default spec", []string{"hardened"},
			[]string{"read", "statx", "readlinkat"}, []string{"setgroups", "mkdir"},
			[]string{"warning: hardened: allowed statx, readlinkat because runc needs them"}, false},
		{"hardened, pod without no-new-privileges", []string{"hardened", "--no-new-privileges=false"},
			[]string{"statx", "readlinkat", "setgroups"}, nil,
			[]string{"allowed statx, readlinkat, setgroups because runc needs them"}, false},
		{"runtime/default, default caps", []string{"runtime/default"},
			[]string{"read", "chown"}, []string{"mount", "syslog"}, nil, true},
		{"runtime/default, flags after the name", []string{"runtime/default", "--caps", "sys_admin,CAP_SYSLOG"},
			[]string{"mount", "umount2", "syslog"}, nil, nil, true},
		{"runtime/default, flags before the name", []string{"--caps=CAP_SYS_ADMIN", "runtime/default"},
			[]string{"mount"}, []string{"reboot"}, nil, true},
		{"file by name", []string{"--dir", dir, "app"},
			[]string{"read", "write", "statx", "readlinkat"}, []string{"setgroups"},
			[]string{filepath.Join(dir, "seccomp", "app.json") + ": allowed statx, readlinkat"}, false},
		{"file by kind", []string{"--dir", dir, "--kind", "seccomp", "app.json"},
			[]string{"read"}, nil, nil, false},
		{"absolute path", []string{filepath.Join(dir, "seccomp", "app.json")},
			[]string{"read"}, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := profileShow(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			p := decodeSeccomp(t, out)
			if p == nil {
				t.Fatal("null filter")
			}
			for _, s := range tc.allowed {
				if !allows(p, s) {
					t.Errorf("%s not allowed", s)
				}
			}
			for _, s := range tc.denied {
				if allows(p, s) {
					t.Errorf("%s allowed", s)
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr %q lacks %q", errOut, s)
				}
			}
			if tc.wantNoAdded && strings.Contains(errOut, "because runc needs them") {
				t.Errorf("runtime needs added to a profile that has them: %s", errOut)
			}
		})
	}
}

func TestProfileShowUnconfined(t *testing.T) {
	code, out, errOut := profileShow(t, "unconfined")
	if code != 0 || strings.TrimSpace(out) != "null" || !strings.Contains(errOut, "unconfined: no seccomp filter") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestProfileShowAppArmor(t *testing.T) {
	dir := profileDir(t, map[string]string{"apparmor/web": profileAppArmorFile})
	want, err := apparmor.Generate(apparmor.HostParams(apparmor.SystemDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		want       string
		wantStderr string
	}{
		{"built-in", []string{"vigil-default"}, want, ""},
		{"built-in with kind", []string{"--kind", "apparmor", "vigil-default"}, want, ""},
		{"file", []string{"web", "--dir", dir}, profileAppArmorFile, `declares profile "web-app"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := profileShow(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != tc.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.want)
			}
			if !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.wantStderr)
			}
		})
	}
}

func TestProfileShowErrors(t *testing.T) {
	dir := profileDir(t, map[string]string{
		"seccomp/both.json": profileOCIFile,
		"apparmor/both":     profileAppArmorFile,
		"seccomp/typo.json": "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{\"names\": [\"wrte\"], \"action\": \"SCMP_ACT_ALLOW\"}]\n}",
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no name", nil, 2, "want one profile NAME, got 0"},
		{"two names", []string{"hardened", "unconfined"}, 2, "want one profile NAME, got 2"},
		{"bad cap", []string{"hardened", "--caps", "CAP_FLY"}, 2, `unknown capability "CAP_FLY"`},
		{"bad kind", []string{"--kind", "selinux", "hardened"}, 1, `--kind "selinux": want seccomp or apparmor`},
		{"unknown", []string{"--dir", dir, "nope"}, 1, `no profile "nope": not a built-in`},
		{"ambiguous", []string{"--dir", dir, "both"}, 1, "pass --kind"},
		{"invalid file", []string{"--dir", dir, "typo"}, 1, filepath.Join(dir, "seccomp", "typo.json") + `:3: syscalls[0].names[0]: unknown syscall "wrte"`},
		{"missing apparmor", []string{"--dir", dir, "--kind", "apparmor", "nope"}, 1, `"nope" is not vigil-default`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := profileShow(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.want)
			}
			if out != "" {
				t.Errorf("stdout on error: %q", out)
			}
		})
	}
	if code, _, _ := profileShow(t, "--help"); code != 0 {
		t.Errorf("--help exit %d", code)
	}
}
