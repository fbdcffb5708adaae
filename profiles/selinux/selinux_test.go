package selinux

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vigil-dev/vigil/profiles"
)

func TestValidateLabel(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  string // "" = valid, else a substring of the error
	}{
		{"system_u:system_r:container_t:s0:c1,c2", ""},
		{"system_u:system_r:container_t:s0", ""},
		{"system_u:system_r:container_t", ""},
		{"system_u:system_r:spc_t:s0-s0:c0.c1023", ""},
		{"unconfined_u:unconfined_r:unconfined_t:s0-s15:c0.c5,c9", ""},
		{"user_u:object_r:my-app.type_t:s2", ""},
		{"system_u:system_r", "want user:role:type[:level], got 2 field(s)"},
		{"", "got 1 field(s)"},
		{"system_u::container_t:s0", `role "" is not an identifier`},
		{"system u:system_r:container_t", `user "system u" is not an identifier`},
		{"system_u:system_r:9type:s0", `type "9type" is not an identifier`},
		{"system_u:system_r:container_t:", `sensitivity "" is not s<N>`},
		{"system_u:system_r:container_t:x0", `sensitivity "x0" is not s<N>`},
		{"system_u:system_r:container_t:s0:", "empty category set"},
		{"system_u:system_r:container_t:s0:c1,,c2", `category "" is not c<N>`},
		{"system_u:system_r:container_t:s0:c5.c1", `category range "c5.c1" does not go up`},
		{"system_u:system_r:container_t:s1-s0", "high sensitivity s0 is below low s1"},
		{"system_u:system_r:container_t:s0:c1:c2", `category "c1:c2" is not c<N>`},
		{"system_u:system_r:container_t:s99999999999999999999", "sensitivity"},
	} {
		err := ValidateLabel(tc.label)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateLabel(%q) = %v", tc.label, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidLabel) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.label) {
			t.Errorf("ValidateLabel(%q) = %v; want ErrInvalidLabel naming the label and %q", tc.label, err, tc.want)
		}
	}
}

type fakeHost struct {
	ok     bool
	reason string
}

func (h fakeHost) Enabled() (bool, string) { return h.ok, h.reason }

func TestApply(t *testing.T) {
	const label = "system_u:system_r:container_t:s0:c1,c2"
	const reason = "/sys/fs/selinux/enforce does not exist: selinuxfs is not mounted"
	enabled, disabled := fakeHost{ok: true}, fakeHost{reason: reason}
	for _, tc := range []struct {
		name        string
		label, mode string
		host        Host
		wantSet     string
		wantSkipped string
		wantErr     error
	}{
		{"required/enabled", label, "required", enabled, label, "", nil},
		{"best-effort/enabled", label, "best-effort", enabled, label, "", nil},
		{"default/enabled", label, "", enabled, label, "", nil},
		{"required/disabled", label, "required", disabled, "", "", profiles.ErrUnavailable},
		{"best-effort/disabled", label, "best-effort", disabled, "", "skipped: " + reason, nil},
		{"default/disabled", label, "", disabled, "", "skipped: " + reason, nil},
		{"best-effort/no host", label, "best-effort", nil, "", "skipped: no SELinux host", nil},
		{"invalid/best-effort/disabled", "container_t", "best-effort", disabled, "", "", ErrInvalidLabel},
		{"invalid/required/enabled", "a:b", "required", enabled, "", "", ErrInvalidLabel},
		{"emulate is not a SELinux mode", label, "emulate", enabled, "", "", profiles.ErrInvalidMode},
		{"empty label", "", "required", disabled, "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Process: &specs.Process{}}
			out, err := Apply(spec, tc.label, tc.mode, tc.host)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == profiles.ErrUnavailable && (!strings.Contains(err.Error(), tc.label) || !strings.Contains(err.Error(), reason)) {
					t.Errorf("error %q does not name the label and the reason", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if spec.Process.SelinuxLabel != tc.wantSet || out.Applied != (tc.wantSet != "") {
				t.Errorf("selinuxLabel = %q, Applied = %v; want %q", spec.Process.SelinuxLabel, out.Applied, tc.wantSet)
			}
			if out.Skipped != tc.wantSkipped {
				t.Errorf("Skipped = %q, want %q", out.Skipped, tc.wantSkipped)
			}
		})
	}
}

func TestSystemHostThisMachine(t *testing.T) {
	ok, reason := SystemHost{}.Enabled()
	_, err := os.Stat(enforceFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if ok || !strings.HasPrefix(reason, enforceFile+" does not exist") {
			t.Errorf("Enabled() = %v, %q without %s", ok, reason, enforceFile)
		}
	case ok:
		if reason != "" {
			t.Errorf("enabled with reason %q", reason)
		}
	default:
		if !strings.Contains(reason, enforceFile) {
			t.Errorf("reason %q does not name %s", reason, enforceFile)
		}
	}
	t.Logf("Enabled() = %v, %q", ok, reason)
}

func TestDisabledReason(t *testing.T) {
	present := filepath.Join(t.TempDir(), "enforce")
	if err := os.WriteFile(present, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		present:                               "exists but go-selinux reports SELinux disabled",
		filepath.Join(t.TempDir(), "missing"): "does not exist: selinuxfs is not mounted",
	} {
		if got := disabledReason(path); !strings.Contains(got, want) || !strings.Contains(got, path) {
			t.Errorf("disabledReason(%s) = %q, want %q", path, got, want)
		}
	}
}

func FuzzValidateLabel(f *testing.F) {
	for _, s := range []string{"system_u:system_r:container_t:s0:c1,c2", "a:b:c", "a:b:c:s0-s1:c0.c9", "a:b", ":::", "a:b:c:s0:c1.c0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, label string) {
		err := ValidateLabel(label)
		if err != nil {
			if !errors.Is(err, ErrInvalidLabel) {
				t.Fatalf("error does not match ErrInvalidLabel: %v", err)
			}
			return
		}
		if len(strings.SplitN(label, ":", 4)) < 3 || strings.ContainsAny(label, " \t\n") {
			t.Fatalf("accepted %q", label)
		}
		spec := &specs.Spec{}
		if out, err := Apply(spec, label, "required", fakeHost{ok: true}); err != nil || !out.Applied || spec.Process.SelinuxLabel != label {
			t.Fatalf("valid label %q not applied: %v", label, err)
		}
	})
}
