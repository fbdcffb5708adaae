package seccomp

import (
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The fast path for runtime/default gives the filter the validated path
// gives, for several capability sets.
func TestDefaultFastMatchesChecked(t *testing.T) {
	for _, caps := range [][]string{nil, {"CAP_CHOWN"}, {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYSLOG"}} {
		spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}}}
		fast, err := resolveDefaultFast(spec)
		if err != nil {
			t.Fatal(err)
		}
		checked, err := resolveDefaultChecked(spec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast.Seccomp, checked.Seccomp) {
			t.Errorf("caps %v: fast and checked runtime/default differ", caps)
		}
		if fast.Source != checked.Source || fast.Format != checked.Format {
			t.Errorf("caps %v: source/format %s/%s vs %s/%s", caps, fast.Source, fast.Format, checked.Source, checked.Format)
		}
	}
}
