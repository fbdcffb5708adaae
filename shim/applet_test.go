package shim

import (
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
)

// appletOf names what busybox runs for an argument vector, as busybox
// itself decides (checked on the host: every "sh" row runs a shell).
func TestAppletOf(t *testing.T) {
	tests := []struct {
		argv []string
		self string
		want string
	}{
		{[]string{"sh", "-c", "x"}, "busybox", "sh"},
		{[]string{"/bin/sh", "-c", "x"}, "busybox", "sh"},
		{[]string{"-sh"}, "busybox", "sh"},                           // login shell, exec -a -sh
		{[]string{"-/bin/sh"}, "busybox", "sh"},                      // '-' goes before the base name is taken
		{[]string{"/x/-sh"}, "busybox", "-sh"},                       // busybox strips only argv[0]'s first byte
		{[]string{"busybox", "sh", "-c", "x"}, "busybox", "sh"},      // multi-call entry
		{[]string{"/bin/busybox", "/bin/sh", "-c"}, "busybox", "sh"}, // the applet by path
		{[]string{"busybox", "busybox", "sh"}, "busybox", "sh"},      // nested
		{[]string{"busybox-x", "sh"}, "busybox", "sh"},               // busybox dispatches on the prefix
		{[]string{"busybox.static", "ash"}, "busybox.static", "ash"}, // self named otherwise
		{[]string{"bb", "sh"}, "bb", "sh"},                           // argv[0] is the file's own name
		{[]string{"toybox", "sh"}, "toybox", "sh"},                   // toybox
		{[]string{"ls", "-l"}, "busybox", "ls"},                      // an applet that is no shell
		{[]string{"busybox"}, "busybox", ""},                         // busybox alone: its help
		{[]string{"busybox", "busybox"}, "busybox", ""},              // nothing names an applet
		{[]string{"busybox", "sh/"}, "busybox", ""},                  // a trailing slash names nothing
		{[]string{"-"}, "busybox", ""},                               // empty after the '-'
	}
	for _, tt := range tests {
		p := &event.Process{Exe: tt.argv[0], Args: tt.argv[1:]}
		if got := appletOf(p, tt.self); got != tt.want {
			t.Errorf("appletOf(%q, self %q) = %q, want %q", tt.argv, tt.self, got, tt.want)
		}
	}
}

func FuzzAppletOf(f *testing.F) {
	f.Add("busybox", "sh", "-c", "busybox")
	f.Add("-sh", "", "", "busybox")
	f.Add("/bin/busybox", "/bin/sh", "x", "busybox")
	f.Fuzz(func(t *testing.T, a0, a1, a2, self string) {
		p := &event.Process{Exe: a0, Args: []string{a1, a2}}
		got := appletOf(p, self)
		if strings.Contains(got, "/") {
			t.Fatalf("applet %q is not a base name", got)
		}
		if strings.HasPrefix(got, "busybox") || strings.HasPrefix(got, "toybox") || (got != "" && got == self) {
			t.Fatalf("applet %q names the multiplexer itself", got)
		}
		found := false
		for _, a := range []string{strings.TrimPrefix(a0, "-"), a1, a2} {
			if strings.HasSuffix(a, got) {
				found = true
			}
		}
		if !found {
			t.Fatalf("applet %q is no argument's last component", got)
		}
	})
}
