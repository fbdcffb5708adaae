package shim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/log"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/monitor/response"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// Bounds of the response actions, per container.
const (
	// recentAlerts is how many of a container's alerts a forensics bundle
	// carries.
	recentAlerts = 64
	// bundleEvery is the least time between two bundles for one rule.
	bundleEvery = time.Minute
	// maxBundles is the most bundles one container produces.
	maxBundles = 10
)

// responder is the per-container state of the response actions.
type responder struct {
	cgDir  string
	recent *response.Ring
	// mu serializes the incidents of the container, so their steps and
	// alerts never interleave.
	mu       sync.Mutex
	bundles  map[string]time.Time // rule → last bundle
	nBundles int
	// stopFeeds stops reloading the container's deny set.
	stopFeeds func()
}

func newResponder(cgDir string) *responder {
	return &responder{cgDir: cgDir, recent: response.NewRing(recentAlerts), bundles: map[string]time.Time{}, stopFeeds: func() {}}
}

// incident is what one event calls for: its alerts and the response
// actions of the policy for their priorities.
type incident struct {
	alerts    []alerts.Alert
	forensics bool
	isolate   bool
	kill      bool
	why       string // the rule that asked for the strongest action
}

// respond reports what ev matched and carries out the response: the kill
// rules.Decide asks for (as without a response section) plus the actions
// the policy's response section lists for each alert's priority, in the
// order forensics, isolate, kill, then alert delivery. In monitor mode
// audit, nothing is isolated or killed (forensics still run). It returns
// whether the container is being killed.
func (s *service) respond(w *watched, ev *event.Event, sensor string, matches []*rules.Rule) bool {
	killAt, _ := rules.ParsePriority(w.mon.KillAt.String())
	pol := w.c.plan.policy
	audit := w.mon.Mode == policy.ModeAudit
	var inc incident
	add := func(al alerts.Alert, decidedKill bool, p string, respond bool) {
		var acts []policy.Action
		if respond {
			pp, _ := policy.ParsePriority(p)
			acts = pol.Response.For(pp)
		}
		forensics, isolate, kill := actionsFor(acts, decidedKill, audit)
		inc.forensics = inc.forensics || forensics
		inc.isolate = inc.isolate || isolate
		switch {
		case kill:
			al.Vigil.Action = alerts.ActionKill
			if !inc.kill {
				inc.kill, inc.why = true, al.Rule
			}
		case isolate && al.Vigil.Action == alerts.ActionAlert:
			al.Vigil.Action = alerts.ActionIsolate
		}
		inc.alerts = append(inc.alerts, al)
	}
	for _, r := range matches {
		a := rules.Decide(r, string(w.mon.Mode), killAt, w.mon.Kill, w.mon.AlertOnly)
		add(newAlert(r, ev, w, a, sensor), a == rules.Kill, r.Priority().String(), true)
	}
	if al, ok := egressAlert(w, ev, sensor); ok {
		// Refusals caused by isolation are its consequence, not a new
		// incident.
		add(al, false, al.Priority.String(), ev.KernelReason != monitor.ReasonIsolated)
	}
	if len(inc.alerts) == 0 {
		return false
	}
	for _, al := range inc.alerts {
		if b, err := alerts.Marshal(al); err == nil {
			w.resp.recent.Add(b)
		}
	}
	if !inc.forensics && !inc.isolate {
		if inc.kill {
			s.killTask(w, inc.why)
		}
		s.deliver(inc.alerts)
		return inc.kill
	}
	go s.runIncident(w, ev, inc)
	return inc.kill
}

// actionsFor is what one alert calls for: the kill rules.Decide chose plus
// the response actions listed for its priority; in monitor mode audit,
// nothing isolates or kills.
func actionsFor(acts []policy.Action, decidedKill, audit bool) (forensics, isolate, kill bool) {
	kill = decidedKill
	for _, a := range acts {
		switch a {
		case policy.ActionForensics:
			forensics = true
		case policy.ActionIsolate:
			isolate = true
		case policy.ActionKill:
			kill = true
		}
	}
	if audit {
		isolate, kill = false, false
	}
	return forensics, isolate, kill
}

// runIncident carries out forensics, isolate and kill in that order, each
// finished before the next starts, then delivers the alerts.
func (s *service) runIncident(w *watched, ev *event.Event, inc incident) {
	w.resp.mu.Lock()
	defer w.resp.mu.Unlock()
	l := log.L.WithField("container", w.c.id)
	var (
		done   []alerts.Action
		errs   []string
		steps  []response.Step
		bundle string
		mf     response.Manifest
	)
	rule := inc.alerts[0].Rule
	if inc.forensics && w.resp.allowBundle(rule, time.Now()) {
		req := response.Request{
			Dir:         w.c.plan.policy.Response.ForensicsDir,
			ContainerID: w.c.id,
			Rule:        rule,
			Priority:    inc.alerts[0].Priority.String(),
			Time:        ev.Time,
			Cgroup:      w.resp.cgDir,
			RootPID:     int(w.c.pid),
			PID:         int(ev.Process.PID),
			ExePath:     ev.Process.ExePath,
			Event:       ev,
			Alerts:      w.resp.recent.Items(),
		}
		dir, m, err := response.Capture(req)
		if err != nil {
			errs = append(errs, "forensics: "+err.Error())
			l.WithError(err).Error("vigil could not write a forensics bundle")
		} else {
			bundle, mf = dir, m
			done = append(done, alerts.ActionForensics)
		}
	}
	if inc.isolate {
		err := s.isolate(w)
		steps = append(steps, step(string(alerts.ActionIsolate), err))
		if err != nil {
			errs = append(errs, "isolate: "+err.Error())
			l.WithError(err).Error("vigil could not isolate the container")
		} else {
			done = append(done, alerts.ActionIsolate)
		}
	}
	if inc.kill {
		killed, err := s.killNow(w, inc.why)
		steps = append(steps, step(string(alerts.ActionKill), err))
		switch {
		case err != nil:
			errs = append(errs, "kill: "+err.Error())
		case killed:
			done = append(done, alerts.ActionKill)
		}
	}
	if bundle != "" {
		if err := response.AppendTimeline(bundle, mf, steps); err != nil {
			l.WithError(err).Warn("vigil could not write the forensics timeline")
		}
	}
	for i := range inc.alerts {
		v := inc.alerts[i].Vigil
		v.Response = done
		v.Forensics = bundle
		if len(errs) > 0 {
			v.ActionError = strings.Join(errs, "; ")
		}
	}
	s.deliver(inc.alerts)
}

func step(action string, err error) response.Step {
	st := response.Step{Action: action, At: time.Now()}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// allowBundle says whether a bundle for rule may be written now.
func (r *responder) allowBundle(rule string, now time.Time) bool {
	if r.nBundles >= maxBundles {
		return false
	}
	if last, ok := r.bundles[rule]; ok && now.Sub(last) < bundleEvery {
		return false
	}
	r.bundles[rule] = now
	r.nBundles++
	return true
}

// isolate cuts the container off the network; when it returns, isolation
// is in force for new connects and for connections already open.
func (s *service) isolate(w *watched) error {
	s.mu.Lock()
	sn := s.sensors
	s.mu.Unlock()
	if sn == nil {
		return errors.New("no monitor")
	}
	return sn.mon.SetIsolate(w.c.cgid, true)
}

// killNow kills every process of the container through the runc task
// service and waits for the request to return. killed is false when an
// earlier kill already ran.
func (s *service) killNow(w *watched, why string) (killed bool, err error) {
	w.killOnce.Do(func() {
		killed = true
		w.c.killed = why
		ctx := namespaces.WithNamespace(context.Background(), w.c.plan.facts.ContainerdNamespace)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = s.inner.Kill(ctx, &taskapi.KillRequest{ID: w.c.id, Signal: 9, All: true})
		l := log.G(ctx).WithField("container", w.c.id).WithField("rule", why)
		if err != nil {
			l.WithError(err).Error("vigil could not kill the task")
			return
		}
		l.Warn("vigil killed the task")
	})
	return killed, err
}

// deliver sends alerts to the outputs and containerd's event bus.
func (s *service) deliver(as []alerts.Alert) {
	s.mu.Lock()
	sn := s.sensors
	s.mu.Unlock()
	for _, al := range as {
		if sn != nil {
			sn.out.Send(al)
		}
		s.publishAlert(al)
	}
}
