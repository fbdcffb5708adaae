package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/test/harness"
)

// Every attack of the catalogue `vigil selftest` runs, each in a fresh
// container under vigil: the detections, and the evasions that must not
// slip through (a shell by another name or argv[0], a copied interpreter, a
// script written into the container, a memfd binary), and what must not be
// mistaken for an attack (the entrypoint shell, runc's own exec).
func TestEvasions(t *testing.T) {
	d := needDaemon(t)
	// runc's state directory is per namespace, not per containerd: another
	// run of these tests on the host must not meet the same ids.
	run := os.Getpid()
	for i, a := range harness.Attacks() {
		t.Run(a.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id := fmt.Sprintf("evasion-%d-%d", run, i)
			o, err := d.RunAttack(ctx, a, imgBusybox, id, t.TempDir())
			if err != nil {
				t.Fatalf("could not carry out the attack: %v", err)
			}
			t.Logf("exit %d, task exit %d, output %q, alerts %s", o.ExitCode, o.TaskExit, o.Output, alertList(o.Alerts))
			for _, al := range o.Alerts {
				if err := al.Validate(); err != nil {
					t.Errorf("alert %q is not a valid Falco alert: %v", al.Rule, err)
				}
			}
			switch a.Expect {
			case harness.ExpectKill:
				if a.Marker == "" || strings.Contains(o.Output, a.Marker) {
					t.Errorf("the attack ran (or has no marker to tell): its output %q has %q", o.Output, a.Marker)
				}
				al := o.Verdict(a)
				if al == nil {
					t.Fatalf("no %q alert; alerts: %s", a.Rule, alertList(o.Alerts))
				}
				if al.Vigil == nil || al.Vigil.Action != alerts.ActionKill || (a.KernelAction != "" && al.Vigil.KernelAction != a.KernelAction) {
					t.Errorf("%q alert: action %s, want kill/%s", a.Rule, harness.Action(al), a.KernelAction)
				}
				if o.TaskExit != 137 {
					t.Errorf("task exit %d, want 137", o.TaskExit)
				}
			case harness.ExpectAlert:
				if !strings.Contains(o.Output, a.Marker) {
					t.Errorf("the attack did not run: its output %q lacks %q", o.Output, a.Marker)
				}
				al := o.Verdict(a)
				if al == nil {
					t.Fatalf("no %q alert; alerts: %s", a.Rule, alertList(o.Alerts))
				}
				if al.Vigil == nil || al.Vigil.Action != alerts.ActionAlert || al.Vigil.KernelAction != "" {
					t.Errorf("%q alert: action %s, want alert", a.Rule, harness.Action(al))
				}
				if o.TaskExit != -1 {
					t.Errorf("task ended with %d, want it left running", o.TaskExit)
				}
			case harness.ExpectNothing:
				sentinel := false
				for _, al := range o.Alerts {
					if harness.IsSentinel(al) {
						sentinel = true
						continue
					}
					t.Errorf("unexpected %q alert (%s): %s", al.Rule, harness.Action(&al), al.Output)
				}
				if !sentinel {
					t.Fatal("the sentinel's alert never came: nothing was checked")
				}
				if a.Cmd != nil && o.ExitCode != 0 {
					t.Errorf("exec exit %d, want 0: %q", o.ExitCode, o.Output)
				}
				if o.TaskExit != -1 {
					t.Errorf("task ended with %d, want it left running", o.TaskExit)
				}
			}
			if ok, why := a.Judge(o); !ok {
				t.Errorf("the self test would report this row as missed: %s", why)
			}
		})
	}
}

func alertList(as []alerts.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, fmt.Sprintf("%s(%s, proc.name=%v)", a.Rule, harness.Action(&a), a.OutputFields["proc.name"]))
	}
	return "[" + strings.Join(s, ", ") + "]"
}
