package apparmor

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenParams are fixed so the golden file does not depend on the host.
var goldenParams = Params{Name: DefaultProfile, Abi: "abi/3.0", Tunables: true, BaseAbstraction: true, DaemonProfile: "unconfined"}

func TestGenerateGolden(t *testing.T) {
	got, err := Generate(goldenParams)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "vigil-default.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readFile(t, golden)
	if got != want {
		t.Errorf("Generate differs from %s (run go test -update to accept):\n%s", golden, got)
	}
}

func TestGenerateVariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       Params
		has     []string
		hasNot  []string
		wantErr bool
	}{
		{"no tunables", Params{Name: "c1", DaemonProfile: "unconfined"},
			[]string{"@{PROC}=/proc/\n", "profile c1 flags=", "peer=c1,"},
			[]string{"#include", "abi <", "peer=unconfined,\n  signal (receive) peer=runc,\n  signal (receive) peer=crun,\n  signal (receive) peer=unconfined"}, false},
		{"daemon profile", Params{Name: DefaultProfile, DaemonProfile: "containerd"},
			[]string{"signal (receive) peer=containerd,"}, nil, false},
		{"bad name", Params{Name: "a b"}, nil, nil, true},
		{"empty name", Params{}, nil, nil, true},
		{"bad daemon profile", Params{Name: "x", DaemonProfile: "a,b"}, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Generate(tc.p)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; generated\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.has {
				if !strings.Contains(got, s) {
					t.Errorf("missing %q in\n%s", s, got)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(got, s) {
					t.Errorf("unexpected %q in\n%s", s, got)
				}
			}
		})
	}
}

// The built-in profile's deny rules are what emulate mode would enforce;
// it must keep denying sysctl writes and release_agent writes.
func TestDefaultProfileDenyRules(t *testing.T) {
	text, err := Generate(goldenParams)
	if err != nil {
		t.Fatal(err)
	}
	if name, err := ProfileName(text); err != nil || name != DefaultProfile {
		t.Errorf("ProfileName = %q, %v", name, err)
	}
	rules, err := ParseDenyRules(text)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"/proc/sys/**": false, "/sys/fs/cgroup/**/release_agent": false, "/proc/sysrq-trigger": false}
	for _, r := range rules {
		if _, ok := want[r.Path]; ok && r.Write {
			want[r.Path] = true
		}
	}
	for p, found := range want {
		if !found {
			t.Errorf("no write deny for %s in %+v", p, rules)
		}
	}
}

// The generated profile compiles with the host's apparmor_parser, both
// with the golden parameters and with those HostParams picks here.
func TestDefaultProfileCompiles(t *testing.T) {
	for name, p := range map[string]Params{
		"golden":      goldenParams,
		"host":        HostParams(SystemDir),
		"no includes": {Name: DefaultProfile, DaemonProfile: "unconfined"},
	} {
		t.Run(name, func(t *testing.T) {
			text, err := Generate(p)
			if err != nil {
				t.Fatal(err)
			}
			compile(t, text)
		})
	}
}

// compile runs apparmor_parser -Q -K (parse and compile, skip the kernel
// and the cache) on text with the system include path.
func compile(t *testing.T, text string) {
	t.Helper()
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Skip("requires apparmor_parser (Debian package apparmor): not in PATH")
	}
	if _, err := os.Stat(filepath.Join(SystemDir, "tunables", "global")); err != nil && strings.Contains(text, "tunables/global") {
		t.Skipf("requires %s/tunables/global (Debian package apparmor): %v", SystemDir, err)
	}
	f := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(parser, "-Q", "-K", f)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("apparmor_parser -Q -K: %v\n%s\nprofile:\n%s", err, out.String(), text)
	}
}

// A broken profile fails compile, so the compile tests can fail.
func TestCompileRejectsBrokenProfile(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Skip("requires apparmor_parser (Debian package apparmor): not in PATH")
	}
	f := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(f, []byte("profile broken {\n  deny /bin/sh ix,\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(parser, "-Q", "-K", f).CombinedOutput(); err == nil {
		t.Errorf("apparmor_parser accepted a deny rule with an exec qualifier: %s", out)
	}
}
