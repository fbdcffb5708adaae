package apparmor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/profiles"
)

// On the machine the tests run on, the real host reports what the kernel
// files say.
func TestSystemHostThisKernel(t *testing.T) {
	h := &SystemHost{}
	ok, reason := h.Enabled()
	param, err := os.ReadFile(moduleParam)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if ok || reason != moduleParam+" does not exist: the kernel has no AppArmor" {
			t.Errorf("Enabled() = %v, %q on a kernel without %s", ok, reason, moduleParam)
		}
	case err != nil:
		t.Skipf("requires a readable %s: %v", moduleParam, err)
	case strings.TrimSpace(string(param)) != "Y":
		if ok || !strings.Contains(reason, "says") {
			t.Errorf("Enabled() = %v, %q with %s = %q", ok, reason, moduleParam, param)
		}
	default:
		if ok != isDir(filepath.Join(securityFSDir, "apparmor")) {
			t.Errorf("Enabled() = %v, %q but %s/apparmor exists = %v", ok, reason, securityFSDir, !ok)
		}
	}
	t.Logf("Enabled() = %v, %q", ok, reason)
	if !ok && h.Loaded(DefaultProfile) {
		t.Errorf("a disabled host reports %s loaded", DefaultProfile)
	}
}

func TestSystemHostEnabled(t *testing.T) {
	writeParam := func(t *testing.T, v string) string {
		p := filepath.Join(t.TempDir(), "enabled")
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withAppArmorDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(withAppArmorDir, "apparmor"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		param      string // "" = missing file
		secfs      string
		wantOK     bool
		wantReason string
	}{
		{"no module", "", withAppArmorDir, false, "does not exist: the kernel has no AppArmor"},
		{"disabled", "N\n", withAppArmorDir, false, `says "N", not "Y"`},
		{"enabled", "Y\n", withAppArmorDir, true, ""},
		{"securityfs path missing", "Y\n", filepath.Join(t.TempDir(), "missing"), false, "is not usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &SystemHost{ModuleParam: filepath.Join(t.TempDir(), "absent"), SecurityFS: tc.secfs}
			if tc.param != "" {
				h.ModuleParam = writeParam(t, tc.param)
			}
			ok, reason := h.Enabled()
			if ok != tc.wantOK || !strings.Contains(reason, tc.wantReason) || (ok && reason != "") {
				t.Errorf("Enabled() = %v, %q; want %v, %q", ok, reason, tc.wantOK, tc.wantReason)
			}
			if !ok && !strings.Contains(reason, h.ModuleParam) {
				t.Errorf("reason %q does not name %s", reason, h.ModuleParam)
			}
		})
	}
}

// With the module saying "Y" and securityfs not mounted, Enabled mounts it
// as runc does and then looks for the apparmor directory.
func TestSystemHostMountsSecurityFS(t *testing.T) {
	if testing.Short() {
		t.Skip("requires root: mounts securityfs, not done in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("requires root: mounts securityfs")
	}
	param := filepath.Join(t.TempDir(), "enabled")
	if err := os.WriteFile(param, []byte("Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secfs := t.TempDir()
	h := &SystemHost{ModuleParam: param, SecurityFS: secfs}
	ok, reason := h.Enabled()
	t.Cleanup(func() { _ = unix.Unmount(secfs, unix.MNT_DETACH) })
	var st unix.Statfs_t
	if err := unix.Statfs(secfs, &st); err != nil || st.Type != unix.SECURITYFS_MAGIC {
		t.Fatalf("securityfs not mounted at %s (statfs type %#x, %v); reason %q", secfs, st.Type, err, reason)
	}
	kernelHasAppArmor := isDir(filepath.Join(secfs, "apparmor"))
	if ok != kernelHasAppArmor {
		t.Errorf("Enabled() = %v, %q; the kernel's securityfs has apparmor = %v", ok, reason, kernelHasAppArmor)
	}
	if !ok && !strings.Contains(reason, "does not exist although securityfs is mounted at "+secfs) {
		t.Errorf("reason %q", reason)
	}
}

// fakeParser is an apparmor_parser stand-in: it logs its arguments, fails
// when $FAKE_PARSER_FAIL is set, and otherwise "loads" the profile by
// listing its declared name in the fake securityfs profiles file.
const fakeParser = `#!/bin/sh
echo "$@" >> "$FAKE_PARSER_LOG"
if [ -n "$FAKE_PARSER_FAIL" ]; then echo "AppArmor parser error: syntax" >&2; exit 1; fi
sed -n 's/^profile \([^ ]*\).*/\1 (enforce)/p' "$2" >> "$FAKE_PROFILES"
`

func TestSystemHostLoad(t *testing.T) {
	dir := t.TempDir()
	parser := filepath.Join(dir, "apparmor_parser")
	if err := os.WriteFile(parser, []byte(fakeParser), 0o755); err != nil {
		t.Fatal(err)
	}
	secfs := filepath.Join(dir, "securityfs")
	profilesFile := filepath.Join(secfs, "apparmor", "profiles")
	if err := os.MkdirAll(filepath.Dir(profilesFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(profilesFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "log")
	t.Setenv("FAKE_PARSER_LOG", logFile)
	t.Setenv("FAKE_PROFILES", profilesFile)
	state := filepath.Join(dir, "state")
	h := &SystemHost{SecurityFS: secfs, StateDir: state, Parser: parser}

	calls := func() int {
		b, _ := os.ReadFile(logFile)
		return strings.Count(string(b), "\n")
	}
	text1 := "profile p1 {\n  file,\n}\n"
	text2 := "profile p1 {\n  file,\n  deny /etc/** w,\n}\n"
	steps := []struct {
		name      string
		profile   string
		text      string
		before    func()
		wantCalls int
	}{
		{"first load", "p1", text1, nil, 1},
		{"same text: no reload", "p1", text1, nil, 1},
		{"changed text", "p1", text2, nil, 2},
		{"same text again", "p1", text2, nil, 2},
		{"kernel lost it", "p1", text2, func() { _ = os.WriteFile(profilesFile, nil, 0o644) }, 3},
		{"path-named profile", "/usr/bin/x", "profile /usr/bin/x {\n}\n", nil, 4},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if err := h.Load(s.profile, s.text); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := calls(); got != s.wantCalls {
			t.Errorf("%s: %d parser calls, want %d", s.name, got, s.wantCalls)
		}
		if !h.Loaded(s.profile) {
			t.Errorf("%s: %s not loaded", s.name, s.profile)
		}
	}
	if b, _ := os.ReadFile(logFile); !strings.HasPrefix(string(b), "-Kr "+filepath.Join(state, "p1.profile")) {
		t.Errorf("parser called as %q, want -Kr <state>/p1.profile", b)
	}
	if entries, _ := os.ReadDir(state); len(entries) != 4 {
		t.Errorf("state dir holds %d files, want a .profile and a .sha256 per profile", len(entries))
	}

	t.Setenv("FAKE_PARSER_FAIL", "1")
	err := h.Load("p2", "profile p2 {\n}\n")
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "AppArmor parser error: syntax") || !strings.Contains(err.Error(), "p2") {
		t.Errorf("failed load: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "p2.sha256")); err == nil {
		t.Error("hash recorded for a profile that failed to load")
	}
}

// On a host without AppArmor, the real host makes a required profile fail
// with the kernel's reason and a best-effort one start without it.
func TestApplyOnThisHost(t *testing.T) {
	h := &SystemHost{StateDir: t.TempDir()}
	ok, reason := h.Enabled()
	if ok {
		t.Skip("requires a host without AppArmor: this one has it enabled, and loading profiles into it is left to the e2e tests")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apparmor"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apparmor", "myapp"), []byte(readFile(t, "testdata/myapp")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{"myapp", DefaultProfile} {
		spec := &specs.Spec{Process: &specs.Process{}}
		_, err := Apply(spec, profile, "required", dir, h)
		if !errors.Is(err, profiles.ErrUnavailable) || !strings.Contains(err.Error(), `"`+profile+`" is required`) || !strings.Contains(err.Error(), reason) {
			t.Errorf("required %s: err = %v; want ErrUnavailable naming the profile and %q", profile, err, reason)
		}
		out, err := Apply(spec, profile, "best-effort", dir, h)
		if err != nil || out.Applied || out.Skipped != "skipped: "+profiles.ErrUnavailable.Error()+": "+reason {
			t.Errorf("best-effort %s: %+v, %v", profile, out, err)
		}
		if spec.Process.ApparmorProfile != "" {
			t.Errorf("apparmorProfile set to %q on a host without AppArmor", spec.Process.ApparmorProfile)
		}
	}
	if entries, _ := os.ReadDir(h.StateDir); len(entries) != 0 {
		t.Errorf("state written on a host without AppArmor: %v", entries)
	}
}
