package harden

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/profiles"
)

type host struct{ on bool }

func (h host) Enabled() (bool, string) {
	if h.on {
		return true, ""
	}
	return false, "test host: disabled"
}
func (h host) Loaded(string) bool        { return h.on }
func (h host) Load(string, string) error { return nil }

func loadConfig(t *testing.T, body string) *policy.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := policy.Load(p, policy.WithFileCheck(nil))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestApply(t *testing.T) {
	off, on := Hosts{host{}, host{}}, Hosts{host{true}, host{true}}
	tests := []struct {
		name     string
		policy   string
		hosts    Hosts
		applied  map[string]string
		noteHas  string
		errHas   []string
		errIs    error
		seccomp  bool // spec gets a filter
		apparmor string
		selinux  string
	}{
		{name: "runtime default", policy: "seccomp: runtime/default", hosts: off,
			applied: map[string]string{AnnPolicy: "p", AnnSeccomp: "runtime/default"}, seccomp: true},
		{name: "hardened adds only runc's needs", policy: "seccomp: hardened", hosts: off,
			applied: map[string]string{AnnSeccomp: "hardened"}, noteHas: "allowed only those: statx, readlinkat, setgroups", seccomp: true},
		{name: "unconfined removes the client's filter", policy: "seccomp: unconfined", hosts: off,
			applied: map[string]string{AnnSeccomp: "unconfined"}},
		{name: "missing seccomp file names the setting's line", policy: "seccomp: /nonexistent.json", hosts: off,
			errHas: []string{"config.yaml:4:", "seccomp"}},
		{name: "apparmor required without apparmor", policy: "apparmor: {profile: vigil-default, mode: required}", hosts: off,
			errHas: []string{"config.yaml:4:", "AppArmor profile vigil-default (mode required)", "test host: disabled"}, errIs: profiles.ErrUnavailable},
		{name: "apparmor best-effort without apparmor", policy: "apparmor: {profile: vigil-default, mode: best-effort}", hosts: off,
			applied: map[string]string{AnnAppArmor: "none (skipped: not available on this host: test host: disabled)"}, noteHas: "AppArmor profile vigil-default (best-effort) skipped"},
		{name: "apparmor required with apparmor", policy: "apparmor: {profile: vigil-default, mode: required}", hosts: on,
			applied: map[string]string{AnnAppArmor: "vigil-default"}, apparmor: "vigil-default"},
		{name: "selinux required without selinux", policy: `selinux: {label: "system_u:system_r:container_t:s0", mode: required}`, hosts: off,
			errHas: []string{"SELinux label system_u:system_r:container_t:s0 (mode required)"}, errIs: profiles.ErrUnavailable},
		{name: "selinux with selinux", policy: `selinux: {label: "system_u:system_r:container_t:s0", mode: required}`, hosts: on,
			applied: map[string]string{AnnSELinux: "system_u:system_r:container_t:s0"}, selinux: "system_u:system_r:container_t:s0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, "policies:\n  - name: p\n    match: {}\n    "+tt.policy+"\n")
			spec := &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}}}
			res, err := Apply(spec, cfg, cfg.Policies[0], tt.hosts)
			if len(tt.errHas) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("error %v is not %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.applied {
				if res.Applied[k] != v {
					t.Errorf("applied[%s] = %q, want %q", k, res.Applied[k], v)
				}
			}
			if tt.noteHas != "" && !strings.Contains(strings.Join(res.Notes, "\n"), tt.noteHas) {
				t.Errorf("notes %q lack %q", res.Notes, tt.noteHas)
			}
			if strings.Contains(tt.policy, "seccomp") {
				if got := spec.Linux.Seccomp != nil && spec.Linux.Seccomp.DefaultAction != specs.ActAllow; got != tt.seccomp {
					t.Errorf("spec has a policy filter = %v, want %v", got, tt.seccomp)
				}
			}
			if spec.Process.ApparmorProfile != tt.apparmor {
				t.Errorf("apparmorProfile = %q, want %q", spec.Process.ApparmorProfile, tt.apparmor)
			}
			if spec.Process.SelinuxLabel != tt.selinux {
				t.Errorf("selinuxLabel = %q, want %q", spec.Process.SelinuxLabel, tt.selinux)
			}
		})
	}
}
