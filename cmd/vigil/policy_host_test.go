package main

import (
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/profiles/harden"
)

// testHost is a host without AppArmor and SELinux, whatever machine the
// tests run on.
type testHost struct{}

func (testHost) Enabled() (bool, string)   { return false, "test host: disabled" }
func (testHost) Loaded(string) bool        { return false }
func (testHost) Load(string, string) error { return nil }

func init() {
	policyHosts = harden.Hosts{AppArmor: testHost{}, SELinux: testHost{}}
	monitorExecStop = func() string { return "killed (test host)" }
}

// check prints, per policy, what the host makes of it: syscalls added for
// runc, profiles that would refuse or start with less.
func TestPolicyCheckHostWarnings(t *testing.T) {
	code, stdout, stderr := run(t, "policy", "check", "--config", fullConfig)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`warning: ../../policy/testdata/full.yaml:8:5: policy "payments": seccomp profile hardened lacks syscalls runc needs to start the container; allowed only those: statx, readlinkat, setgroups`,
		`warning: policy "payments" starts containers with less protection on this host (onError: allow): ../../policy/testdata/full.yaml:16:15: AppArmor profile vigil-default (mode required)`,
		"test host: disabled",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "2 policies, ok") {
		t.Errorf("stdout = %q", stdout)
	}
}

// A seccomp file that does not exist is an error of the configuration,
// named at the line of the setting.
func TestPolicyCheckMissingProfile(t *testing.T) {
	cfg := writeTemp(t, "policies:\n  - name: p\n    match: {}\n    seccomp: /nonexistent/profile.json\n")
	code, _, stderr := run(t, "policy", "check", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, cfg+":4:") || !strings.Contains(stderr, "/nonexistent/profile.json") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
