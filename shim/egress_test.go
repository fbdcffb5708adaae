package shim

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/policy"
)

func TestEgressOf(t *testing.T) {
	cidr := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name string
		in   policy.Egress
		want *monitor.Egress
	}{
		{"off", policy.Egress{Mode: policy.ModeOff, AllowPorts: []uint16{443}}, nil},
		{"unset", policy.Egress{}, nil},
		{"enforce", policy.Egress{Mode: policy.ModeEnforce, AllowPorts: []uint16{443}, AllowCIDRs: cidr, DenyCIDRFiles: []string{"/f"}},
			&monitor.Egress{Mode: monitor.EgressEnforce, AllowPorts: []uint16{443}, AllowCIDRs: cidr, DenyFiles: []string{"/f"}}},
		{"audit", policy.Egress{Mode: policy.ModeAudit}, &monitor.Egress{Mode: monitor.EgressAudit}},
	}
	for _, tc := range cases {
		got := egressOf(tc.in)
		if (got == nil) != (tc.want == nil) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
			continue
		}
		if got != nil && (got.Mode != tc.want.Mode || !slices.Equal(got.AllowPorts, tc.want.AllowPorts) ||
			!slices.Equal(got.AllowCIDRs, tc.want.AllowCIDRs) || !slices.Equal(got.DenyFiles, tc.want.DenyFiles)) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func testWatched() *watched {
	return &watched{c: &container{id: "0123456789abcdef", plan: &plan{
		policy: &policy.Policy{Name: "p"},
		facts:  policy.Facts{ContainerdNamespace: "ns"},
	}}}
}

func TestEgressAlert(t *testing.T) {
	w := testWatched()
	ev := func(action, reason string) *event.Event {
		return &event.Event{
			Time: time.Unix(1700000000, 0), Type: event.Connect, KernelAction: action, KernelReason: reason,
			Process:   event.Process{PID: 42, Name: "curl"},
			File:      event.File{Name: "192.0.2.1:4444", TypeChar: "4", L4Proto: "tcp", SIP: "192.0.2.1", SPort: 4444},
			Container: event.Container{ID: "0123456789abcdef", Name: "web", ImageRepository: "docker.io/library/web", ImageTag: "1"},
		}
	}
	cases := []struct {
		name, action, reason string
		ok                   bool
		priority             alerts.Priority
		act                  alerts.Action
	}{
		{"denied", monitor.KernelDenied, monitor.ReasonDenyList, true, alerts.PriorityWarning, alerts.ActionDeny},
		{"audit", monitor.KernelDeniedAudit, monitor.ReasonPort, true, alerts.PriorityNotice, alerts.ActionAlert},
		{"isolated", monitor.KernelDenied, monitor.ReasonIsolated, true, alerts.PriorityWarning, alerts.ActionDeny},
		{"allowed", "", "", false, 0, ""},
	}
	for _, tc := range cases {
		al, ok := egressAlert(w, ev(tc.action, tc.reason), "exec")
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if err := al.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if al.Rule != EgressRule || al.Priority != tc.priority || al.Vigil.Action != tc.act || al.Vigil.KernelAction != tc.action ||
			al.OutputFields["vigil.egress.reason"] != tc.reason || al.OutputFields["fd.sip"] != "192.0.2.1" ||
			al.OutputFields["container.id"] != "0123456789ab" || al.Vigil.ContainerID != w.c.id || al.Vigil.Namespace != "ns" {
			t.Errorf("%s: %+v %+v", tc.name, al, al.Vigil)
		}
	}
	if _, ok := egressAlert(w, &event.Event{Type: event.Execve, KernelAction: monitor.KernelDenied}, "exec"); ok {
		t.Error("an exec event made an egress alert")
	}
}

func TestActionsFor(t *testing.T) {
	all := []policy.Action{policy.ActionForensics, policy.ActionIsolate, policy.ActionKill, policy.ActionAlert}
	cases := []struct {
		name                     string
		acts                     []policy.Action
		decided, audit           bool
		forensics, isolate, kill bool
	}{
		{"nothing", nil, false, false, false, false, false},
		{"decided kill, no response", nil, true, false, false, false, true},
		{"alert only", []policy.Action{policy.ActionAlert}, false, false, false, false, false},
		{"all", all, false, false, true, true, true},
		{"isolate", []policy.Action{policy.ActionIsolate}, false, false, false, true, false},
		{"audit keeps forensics only", all, true, true, true, false, false},
	}
	for _, tc := range cases {
		f, i, k := actionsFor(tc.acts, tc.decided, tc.audit)
		if f != tc.forensics || i != tc.isolate || k != tc.kill {
			t.Errorf("%s: forensics %v isolate %v kill %v", tc.name, f, i, k)
		}
	}
}

func TestAllowBundle(t *testing.T) {
	r := newResponder("/x")
	now := time.Unix(1000, 0)
	if !r.allowBundle("a", now) || r.allowBundle("a", now.Add(bundleEvery/2)) || !r.allowBundle("b", now) {
		t.Fatal("one bundle per rule per bundleEvery")
	}
	if !r.allowBundle("a", now.Add(bundleEvery)) {
		t.Fatal("no bundle after bundleEvery")
	}
	n := 3
	for i := 0; i < 100; i++ {
		if r.allowBundle(string(rune('c'+i)), now) {
			n++
		}
	}
	if n != maxBundles {
		t.Fatalf("%d bundles, want at most %d", n, maxBundles)
	}
}

// fakeSyncer records SyncDenySet calls.
type fakeSyncer struct {
	mu    sync.Mutex
	calls [][]string
	ch    chan struct{}
}

func (f *fakeSyncer) SyncDenySet(files []string) (monitor.DenySet, error) {
	f.mu.Lock()
	f.calls = append(f.calls, files)
	f.mu.Unlock()
	select {
	case f.ch <- struct{}{}:
	default:
	}
	return monitor.DenySet{Reloaded: true}, nil
}

func (f *fakeSyncer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// A deny file replaced by rename (as feed updaters do) or rewritten in
// place is reloaded after the debounce; other files of its directory are
// not its business; after the stop function nothing is reloaded.
func TestFeedsReload(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "threats.txt")
	if err := os.WriteFile(feed, []byte("192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := &fakeSyncer{ch: make(chan struct{}, 16)}
	f, err := newFeeds(fs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	stop, err := f.follow([]string{feed, feed})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-fs.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("no reload after %s", what)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp"), []byte("192.0.2.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * feedDebounce)
	if n := fs.count(); n != 0 {
		t.Fatalf("%d reloads for another file of the directory", n)
	}
	if err := os.Rename(filepath.Join(dir, "tmp"), feed); err != nil {
		t.Fatal(err)
	}
	wait("a rename over the file")
	fs.mu.Lock()
	got := fs.calls[0]
	fs.mu.Unlock()
	if !slices.Equal(got, []string{feed}) {
		t.Errorf("reloaded %v, want [%s]", got, feed)
	}
	if err := os.WriteFile(feed, []byte("192.0.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait("a write")
	stop()
	stop()
	n := fs.count()
	if err := os.WriteFile(feed, []byte("192.0.2.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * feedDebounce)
	if fs.count() != n {
		t.Errorf("reloaded after stop")
	}
}
