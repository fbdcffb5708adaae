package apparmor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vigil-dev/vigil/profiles"
)

// fakeHost is a Host whose state the test states.
type fakeHost struct {
	enabled bool
	reason  string
	loaded  map[string]bool
	loadErr error
	// dropOnLoad simulates a kernel that accepts the load but does not
	// list the profile afterwards.
	dropOnLoad bool
	loads      []string
}

func (h *fakeHost) Enabled() (bool, string) { return h.enabled, h.reason }
func (h *fakeHost) Loaded(name string) bool { return h.loaded[name] }
func (h *fakeHost) Load(name, text string) error {
	h.loads = append(h.loads, name)
	if h.loadErr != nil {
		return h.loadErr
	}
	if !h.dropOnLoad {
		if h.loaded == nil {
			h.loaded = map[string]bool{}
		}
		h.loaded[name] = true
	}
	return nil
}

const disabledReason = "/sys/module/apparmor/parameters/enabled does not exist: the kernel has no AppArmor"

func TestApply(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apparmor"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The file is named differently from the profile it declares.
	if err := os.WriteFile(filepath.Join(dir, "apparmor", "myapp-file"), []byte(readFile(t, "testdata/myapp")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apparmor", "nameless"), []byte("# no profile here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	enabled := func() *fakeHost { return &fakeHost{enabled: true} }
	disabled := func() *fakeHost { return &fakeHost{reason: disabledReason} }

	for _, tc := range []struct {
		name        string
		profile     string
		mode        string
		host        *fakeHost
		wantSet     string // process.apparmorProfile afterwards
		wantLoads   int
		wantSkipped string // substring of Outcome.Skipped
		wantRules   int    // deny rules returned (emulate)
		wantErr     error
		wantErrText []string
	}{
		// required
		{name: "required/enabled/builtin", profile: DefaultProfile, mode: "required", host: enabled(), wantSet: DefaultProfile, wantLoads: 1},
		{name: "required/enabled/file", profile: "myapp-file", mode: "required", host: enabled(), wantSet: "myapp", wantLoads: 1},
		{name: "required/enabled/kernel-only", profile: "docker-default", mode: "required", host: &fakeHost{enabled: true, loaded: map[string]bool{"docker-default": true}}, wantSet: "docker-default"},
		{name: "required/disabled", profile: "myapp-file", mode: "required", host: disabled(), wantErr: profiles.ErrUnavailable,
			wantErrText: []string{`"myapp" is required`, disabledReason}},
		{name: "required/load fails", profile: DefaultProfile, mode: "required", host: &fakeHost{enabled: true, loadErr: ErrLoad}, wantErr: ErrLoad, wantLoads: 1},
		{name: "required/not listed after load", profile: DefaultProfile, mode: "required", host: &fakeHost{enabled: true, dropOnLoad: true}, wantErr: ErrLoad, wantLoads: 1,
			wantErrText: []string{"does not list the profile"}},
		// best-effort
		{name: "best-effort/enabled", profile: "myapp-file", mode: "best-effort", host: enabled(), wantSet: "myapp", wantLoads: 1},
		{name: "default mode is best-effort", profile: "myapp-file", mode: "", host: disabled(), wantSkipped: "skipped: " + profiles.ErrUnavailable.Error() + ": " + disabledReason},
		{name: "best-effort/disabled", profile: DefaultProfile, mode: "best-effort", host: disabled(), wantSkipped: disabledReason},
		{name: "best-effort/load fails", profile: DefaultProfile, mode: "best-effort", host: &fakeHost{enabled: true, loadErr: ErrLoad}, wantSkipped: ErrLoad.Error(), wantLoads: 1},
		// emulate: never loads or sets, on any host
		{name: "emulate/disabled/file", profile: "myapp-file", mode: "emulate", host: disabled(), wantRules: 10},
		{name: "emulate/enabled/file", profile: "myapp-file", mode: "emulate", host: enabled(), wantRules: 10},
		{name: "emulate/builtin", profile: DefaultProfile, mode: "emulate", host: disabled(), wantRules: 15},
		{name: "emulate/kernel-only", profile: "docker-default", mode: "emulate", host: &fakeHost{enabled: true, loaded: map[string]bool{"docker-default": true}},
			wantErrText: []string{"emulate mode needs the profile's text"}},
		// nothing to apply
		{name: "unconfined", profile: Unconfined, mode: "required", host: disabled()},
		{name: "empty", profile: "", mode: "required", host: disabled()},
		// bad input fails in every mode and on every host
		{name: "missing/best-effort", profile: "nope", mode: "best-effort", host: disabled(), wantErr: ErrNotFound, wantErrText: []string{`"nope"`}},
		{name: "missing/enabled", profile: "nope", mode: "required", host: enabled(), wantErr: ErrNotFound},
		{name: "escape", profile: "../etc/passwd", mode: "required", host: enabled(), wantErr: ErrNotFound},
		{name: "no declaration", profile: "nameless", mode: "best-effort", host: disabled(), wantErr: ErrInvalidProfile,
			wantErrText: []string{filepath.Join(dir, "apparmor", "nameless") + ": line 1: no profile declaration"}},
		{name: "bad mode", profile: DefaultProfile, mode: "strict", host: enabled(), wantErr: profiles.ErrInvalidMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Process: &specs.Process{}}
			out, err := Apply(spec, tc.profile, tc.mode, dir, tc.host)
			if tc.wantErr != nil || tc.wantErrText != nil {
				if err == nil {
					t.Fatalf("no error; outcome %+v", out)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.wantErrText {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("err %q does not contain %q", err, s)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if spec.Process.ApparmorProfile != tc.wantSet {
				t.Errorf("apparmorProfile = %q, want %q", spec.Process.ApparmorProfile, tc.wantSet)
			}
			if out.Applied != (tc.wantSet != "") {
				t.Errorf("Applied = %v with apparmorProfile %q", out.Applied, spec.Process.ApparmorProfile)
			}
			if tc.wantSet != "" && (!tc.host.enabled || !tc.host.loaded[tc.wantSet]) {
				t.Errorf("set %q on a host that is not enabled or lacks it", tc.wantSet)
			}
			if len(tc.host.loads) != tc.wantLoads {
				t.Errorf("host loads = %v, want %d", tc.host.loads, tc.wantLoads)
			}
			if tc.wantSkipped == "" && out.Skipped != "" || !strings.Contains(out.Skipped, tc.wantSkipped) {
				t.Errorf("Skipped = %q, want it to contain %q", out.Skipped, tc.wantSkipped)
			}
			if tc.wantSkipped != "" && !strings.HasPrefix(out.Skipped, "skipped: ") {
				t.Errorf("Skipped = %q lacks the skipped: prefix", out.Skipped)
			}
			if len(out.DenyRules) != tc.wantRules {
				t.Errorf("%d deny rules, want %d: %+v", len(out.DenyRules), tc.wantRules, out.DenyRules)
			}
		})
	}
}

func TestApplyNilSpec(t *testing.T) {
	if _, err := Apply(nil, DefaultProfile, "required", "", &fakeHost{enabled: true}); err == nil {
		t.Error("nil spec accepted")
	}
	spec := &specs.Spec{}
	if _, err := Apply(spec, DefaultProfile, "required", "", &fakeHost{enabled: true}); err != nil || spec.Process == nil || spec.Process.ApparmorProfile != DefaultProfile {
		t.Errorf("spec without process: %v, %+v", err, spec.Process)
	}
}
