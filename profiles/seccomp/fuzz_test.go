package seccomp

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func FuzzLoad(f *testing.F) {
	f.Add(hardenedJSON, false)
	if def, err := json.Marshal(mobyseccomp.DefaultProfile()); err == nil {
		f.Add(def, true)
	}
	for _, p := range []string{"testdata/oci-profile.json", "testdata/moby-caps.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, true)
		}
	}
	f.Add([]byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["reed"], "action": "SCMP_ACT_ALLOW"}]}`), false)
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}],"syscalls":[{"name":"mount","action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"}}]}`), true)
	f.Add([]byte(`[`), false)
	f.Fuzz(func(t *testing.T, data []byte, admin bool) {
		spec := specWith(false)
		if admin {
			spec = specWith(false, "CAP_SYS_ADMIN")
		}
		r, err := Load(data, "fuzz.json", spec)
		if err != nil {
			if !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("error does not match ErrInvalidProfile: %v", err)
			}
			return
		}
		if r.Seccomp == nil || r.Seccomp.DefaultAction == "" {
			t.Fatalf("accepted profile without a filter: %+v", r.Seccomp)
		}
		if r.Format != FormatMoby && r.Format != FormatOCI {
			t.Fatalf("format %q", r.Format)
		}
		for _, sc := range r.Seccomp.Syscalls {
			if len(sc.Names) == 0 || sc.Action == "" {
				t.Fatalf("accepted rule %+v", sc)
			}
		}
		before := len(r.Seccomp.Syscalls)
		added, err := EnsureRuntimeNeeds(r.Seccomp, spec)
		if err != nil {
			if !errors.Is(err, ErrRuntimeNeedDenied) {
				t.Fatalf("EnsureRuntimeNeeds: %v", err)
			}
			return
		}
		if allowing(r.Seccomp.DefaultAction) && len(added) > 0 {
			t.Fatalf("added %v to an allow-by-default profile", added)
		}
		if got := len(r.Seccomp.Syscalls) - before; (len(added) > 0) != (got == 1) || got > 1 {
			t.Fatalf("added %v as %d rules", added, got)
		}
		// The resolved filter is an OCI LinuxSeccomp: it survives a round trip.
		raw, err := json.Marshal(r.Seccomp)
		if err != nil {
			t.Fatal(err)
		}
		var back specs.LinuxSeccomp
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("resolved filter does not decode: %v", err)
		}
	})
}
