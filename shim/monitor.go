package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/monitor/fanotify"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// DefaultAlertFile is where alerts go when the policy file names no output.
const DefaultAlertFile = "/var/log/vigil/alerts.jsonl"

// AlertTopic is the containerd event topic vigil publishes alerts on.
const AlertTopic = "/vigil/alert"

// sensors are the node monitor, the file sensor and the alert outputs this
// shim uses, opened when the first watched container is created.
type sensors struct {
	mon   *monitor.Monitor
	files *fanotify.Sensor
	out   *alerts.Fanout
	// byCgroup finds a watched container from an event's cgroup id.
	mu       sync.RWMutex
	byCgroup map[uint64]*watched
	feeds    *feeds // deny file reloads, started by the first egress policy with one
}

// watched is the monitor's view of one container.
type watched struct {
	c     *container
	rules *rules.Ruleset
	mon   policy.Monitor
	// identity maps an executable's inode to the name it is known by in
	// the image, so a renamed or hard-linked interpreter is still called by
	// what it is.
	identity map[[2]uint64]string
	killOnce sync.Once
	resp     *responder
}

// pruneInterval is how often, node-wide, a starting shim removes what dead
// shims left in the monitor's maps.
const pruneInterval = time.Minute

// openSensors opens the shared sensors once per shim process.
func (s *service) openSensors(cfg *policy.Config) (*sensors, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sensors != nil {
		return s.sensors, nil
	}
	mon, err := monitor.Open(monitor.Options{})
	if err != nil {
		return nil, fmt.Errorf("open the eBPF monitor: %w", err)
	}
	// What shims that died without cleaning up left in the node's maps.
	s.pending.Add(1) // Shutdown waits for it before closing mon
	go func() {
		defer s.pending.Done()
		if n, err := mon.PruneDue(pruneInterval); err != nil {
			log.L.WithError(err).Warn("vigil could not prune the monitor's maps")
		} else if n > 0 {
			log.L.WithField("cgroups", n).Info("vigil pruned the monitor entries of cgroups that are gone")
		}
	}()
	files, err := fanotify.New()
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("open the fanotify file sensor: %w", err)
	}
	if n := fanotify.GroupLimitRaised(); n > 0 {
		log.L.WithField("limit", n).Warnf("vigil raised %s: the node had reached its limit of fanotify groups (two per vigil shim)", fanotify.GroupLimitFile)
	}
	acfg := alerts.Config{File: cfg.Alerts.File}
	if w := cfg.Alerts.Webhook; w != nil {
		min, _ := alerts.ParsePriority(w.MinimumPriority.String())
		acfg.Webhook = &alerts.WebhookConfig{URL: w.URL, MinimumPriority: min, Timeout: w.Timeout, Queue: w.Queue}
	}
	if acfg.File == "" && acfg.Webhook == nil {
		acfg.File = DefaultAlertFile
	}
	if acfg.File != "" {
		if err := os.MkdirAll(filepath.Dir(acfg.File), 0o700); err != nil {
			mon.Close()
			files.Close()
			return nil, fmt.Errorf("alerts file %s: %w", acfg.File, err)
		}
	}
	out, err := alerts.New(acfg)
	if err != nil {
		mon.Close()
		files.Close()
		return nil, fmt.Errorf("alert outputs: %w", err)
	}
	s.sensors = &sensors{mon: mon, files: files, out: out, byCgroup: map[uint64]*watched{}}
	go s.readEvents(s.sensors)
	return s.sensors, nil
}

// prepared is the monitor work that depends only on the policy: done while
// runc creates the container, so it costs the start path nothing.
type prepared struct {
	done  chan struct{}
	rules *rules.Ruleset
	sn    *sensors
	k     kernelFilter
	err   error
}

// monitored reports whether a policy asks for the monitor.
func monitored(p *policy.Policy) bool {
	return p.Monitor.Mode != policy.ModeOff && p.Monitor.Mode != ""
}

// prepare loads the rules, compiles the kernel filter and opens the
// sensors in the background; nil when the policy does not monitor.
func (s *service) prepare(p *plan) *prepared {
	if !monitored(p.policy) {
		return nil
	}
	pr := &prepared{done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		t0 := time.Now()
		if pr.rules, pr.err = loadRules(p.policy.Monitor.Rules); pr.err != nil {
			return
		}
		pr.k = kernelPlan(pr.rules, p.policy.Monitor)
		t1 := time.Now()
		pr.sn, pr.err = s.openSensors(p.cfg)
		log.L.WithFields(log.Fields{"rules": t1.Sub(t0), "sensors": time.Since(t1)}).Debug("vigil prepare")
	}()
	return pr
}

// watch registers a created container with the monitor and places its file
// marks, before Start lets its first instruction run. An error means the
// policy's monitoring cannot be had and the container must not start.
func (s *service) watch(ctx context.Context, c *container, spec *specs.Spec, pr *prepared) error {
	pol := c.plan.policy
	if pr == nil {
		if egressOf(pol.Egress) != nil {
			c.plan.notes = append(c.plan.notes, "egress policy not enforced: it needs monitor mode enforce or audit")
		}
		return nil
	}
	<-pr.done
	err := pr.err
	if err == nil {
		err = s.register(ctx, c, spec, pr)
	}
	if err == nil {
		return nil
	}
	if pol.OnError == policy.OnErrorAllow {
		log.G(ctx).WithError(err).Warn("vigil could not watch the container; its policy says onError: allow, so it starts unwatched")
		c.plan.notes = append(c.plan.notes, "not watched: "+err.Error())
		return nil
	}
	return fmt.Errorf("vigil refused container %s: policy %q asks for monitor mode %s: %w", c.id, pol.Name, pol.Monitor.Mode, err)
}

func (s *service) register(ctx context.Context, c *container, spec *specs.Spec, pr *prepared) error {
	pol := c.plan.policy
	rs, sn, k := pr.rules, pr.sn, pr.k
	cgDir, err := monitor.CgroupDirOfPID(int(c.pid))
	if err != nil {
		return fmt.Errorf("cgroup of init pid %d: %w", c.pid, err)
	}
	cgid, err := monitor.CgroupIDOfDir(cgDir)
	if err != nil {
		return err
	}
	c.cgid = cgid
	rootfs := rootfsOf(c.bundle, spec)
	tClassify := time.Now()
	exes, identity, err := classifyExes(rootfs, k.names)
	if err != nil {
		return err
	}
	w := &watched{c: c, rules: rs, mon: pol.Monitor, identity: identity, resp: newResponder(cgDir)}
	egress := egressOf(pol.Egress)
	mode := monitor.Enforce
	if pol.Monitor.Mode == policy.ModeAudit {
		mode = monitor.Audit
	}
	tRegister := time.Now()
	if err := sn.mon.Register(cgid, monitor.Container{
		InitTGID:       c.pid,
		Mode:           mode,
		KillMask:       k.killMask,
		KillEntrypoint: pol.Monitor.KillEntrypoint,
		Names:          k.names,
		Exes:           exes,
		CgroupV2Path:   cgDir,
		Egress:         egress,
		Meta:           containerMeta(ctx, c),
	}); err != nil {
		return fmt.Errorf("register with the eBPF monitor: %w", err)
	}
	w.resp.stopFeeds = sn.followFeeds(ctx, egress)
	sn.mu.Lock()
	sn.byCgroup[cgid] = w
	sn.mu.Unlock()

	tMarks := time.Now()
	defer func() {
		log.G(ctx).WithFields(log.Fields{"classify": tRegister.Sub(tClassify), "register": tMarks.Sub(tRegister), "marks": time.Since(tMarks)}).Debug("vigil watch")
	}()
	paths := markPaths(rs.FilePaths(nil))
	if len(paths) > 0 {
		res, err := sn.files.Watch(fanotify.Watch{Key: c.id, Rootfs: rootfs, Paths: paths, Decide: func(a fanotify.Access) fanotify.Verdict {
			return s.onFileAccess(w, a)
		}})
		if err != nil {
			s.unwatch(ctx, c)
			return fmt.Errorf("place fanotify marks: %w", err)
		}
		log.G(ctx).WithField("marked", res.Marked).WithField("missing", res.Missing).Debug("vigil file marks placed")
	}
	if err := sn.files.WatchMount(c.id+"/writes", rootfs, func(a fanotify.Access) { s.onFileWrite(w, a) }); err != nil {
		log.G(ctx).WithError(err).Warn("vigil cannot see writes in this container (write-drift rules only see execs)")
	}
	c.plan.applied[annMonitor] = fmt.Sprintf("%s (kernel kills %s)", pol.Monitor.Mode, monitor.ClassString(k.killMask))
	return nil
}

// unwatch removes everything watch placed.
func (s *service) unwatch(ctx context.Context, c *container) {
	s.mu.Lock()
	sn := s.sensors
	s.mu.Unlock()
	if sn == nil || c.cgid == 0 {
		return
	}
	sn.files.Unwatch(c.id)
	sn.files.Unwatch(c.id + "/writes")
	if err := sn.mon.Unregister(c.cgid); err != nil && !errors.Is(err, monitor.ErrNotRegistered) {
		log.G(ctx).WithError(err).Warn("vigil could not unregister the container from the monitor")
	}
	sn.mu.Lock()
	if w := sn.byCgroup[c.cgid]; w != nil {
		w.resp.stopFeeds()
	}
	delete(sn.byCgroup, c.cgid)
	sn.mu.Unlock()
}

// closeSensors closes this shim's handles; the pinned program set stays.
func (s *service) closeSensors() {
	s.mu.Lock()
	sn := s.sensors
	s.sensors = nil
	s.mu.Unlock()
	if sn == nil {
		return
	}
	// Alert delivery never blocks the shim, so what it could not deliver
	// is counted: report it once, when the shim ends.
	l := log.L.WithField("alerts", sn.out.Stats()).WithField("invalidAlerts", sn.out.Invalid())
	if st, err := sn.mon.Stats(); err == nil {
		l = l.WithField("events", st.Events).WithField("eventDrops", st.Drops).WithField("kernelKills", st.Kernel.Kills)
	}
	fst := sn.files.Stats()
	l = l.WithField("fileDenied", fst.Denied).WithField("fileOverflows", fst.Overflows)
	if sn.feeds != nil {
		sn.feeds.close()
	}
	sn.files.Close()
	// Closing the monitor takes this shim's ring buffer out of the node's
	// map, which waits for an RCU grace period (~10 ms): it need not hold up
	// containerd's Delete. A shim that exits first leaves the entry to the
	// next shim's Prune.
	go sn.mon.Close()
	if err := sn.out.Close(); err != nil {
		l = l.WithError(err)
	}
	l.Info("vigil sensors closed")
}

func rootfsOf(bundle string, spec *specs.Spec) string {
	if spec.Root != nil && spec.Root.Path != "" {
		if filepath.IsAbs(spec.Root.Path) {
			return spec.Root.Path
		}
		return filepath.Join(bundle, spec.Root.Path)
	}
	return filepath.Join(bundle, "rootfs")
}

func containerMeta(ctx context.Context, c *container) event.Container {
	f := c.plan.facts
	img := policy.NormalizeImage(f.Image)
	m := event.Container{
		ID:              c.id,
		Name:            f.ContainerName,
		Image:           img.Ref,
		ImageRepository: img.Name,
		ImageTag:        img.Tag,
		K8sNamespace:    f.K8sNamespace,
		K8sPodName:      firstNonEmpty(f.Annotations[annCRISandboxName], f.Labels[labelPodName], f.PodLabels[labelPodName]),
		Labels:          f.Labels,
	}
	return m
}

// readEvents evaluates the rules on every kernel event of this shim's
// containers.
func (s *service) readEvents(sn *sensors) {
	for ev := range sn.mon.Events() {
		sn.mu.RLock()
		w := sn.byCgroup[ev.Container.CgroupID]
		sn.mu.RUnlock()
		if w == nil {
			continue
		}
		w.identify(ev)
		s.evaluate(w, ev, "exec")
	}
}

// evaluate runs every rule on ev, reports each match and carries out the
// response (see respond). It returns whether the container is being killed.
func (s *service) evaluate(w *watched, ev *event.Event, sensor string) bool {
	return s.respond(w, ev, sensor, w.rules.Match(ev))
}

func newAlert(r *rules.Rule, ev *event.Event, w *watched, a rules.Action, sensor string) alerts.Alert {
	p, _ := alerts.ParsePriority(r.Priority().String())
	al := alerts.NewAlert(ev.Time, r.Name(), p, rules.FormatOutput(r, ev), rules.OutputFields(r, ev), r.Tags())
	act := alerts.ActionAlert
	if a == rules.Kill {
		act = alerts.ActionKill
	}
	al.Vigil = &alerts.Vigil{
		Action:       act,
		KernelAction: ev.KernelAction,
		Policy:       w.c.plan.policy.Name,
		ContainerID:  w.c.id,
		Namespace:    w.c.plan.facts.ContainerdNamespace,
		Sensor:       sensor,
	}
	return al
}

// killTask kills every process of the container through the runc task
// service, once: containerd then sees an ordinary exit 137.
func (s *service) killTask(w *watched, why string) {
	w.killOnce.Do(func() {
		w.c.killed = why
		ctx := namespaces.WithNamespace(context.Background(), w.c.plan.facts.ContainerdNamespace)
		go func() {
			_, err := s.inner.Kill(ctx, &taskapi.KillRequest{ID: w.c.id, Signal: 9, All: true})
			l := log.G(ctx).WithField("container", w.c.id).WithField("rule", why)
			if err != nil {
				l.WithError(err).Error("vigil could not kill the task")
				return
			}
			l.Warn("vigil killed the task")
		}()
	})
}

// onFileAccess answers a fanotify permission event: deny when a matching
// rule kills (and kill the task), allow otherwise.
func (s *service) onFileAccess(w *watched, a fanotify.Access) fanotify.Verdict {
	ev := fanotify.ToEvent(a)
	ev.Container = w.c.meta()
	if s.evaluateFile(w, ev) {
		return fanotify.Deny
	}
	return fanotify.Allow
}

func (s *service) evaluateFile(w *watched, ev *event.Event) bool {
	// A denied open must say so in the alert: decide first, then report.
	killAt, _ := rules.ParsePriority(w.mon.KillAt.String())
	for _, r := range w.rules.Match(ev) {
		if rules.Decide(r, string(w.mon.Mode), killAt, w.mon.Kill, w.mon.AlertOnly) == rules.Kill {
			ev.KernelAction = "denied"
			break
		}
	}
	return s.evaluate(w, ev, "fanotify")
}

// onFileWrite evaluates a write notification (drift by writing).
func (s *service) onFileWrite(w *watched, a fanotify.Access) {
	ev := fanotify.ToEvent(a)
	ev.Container = w.c.meta()
	s.evaluate(w, ev, "fanotify")
}

func (c *container) meta() event.Container {
	m := containerMeta(context.Background(), c)
	m.CgroupID = c.cgid
	return m
}

// identify names an exec by what its file is: a multi-call binary by its
// applet, a renamed or hard-linked interpreter by the name it has in the
// image.
func (w *watched) identify(ev *event.Event) {
	p := &ev.Process
	name, ok := w.identity[[2]uint64{p.ExeDev, p.ExeIno}]
	if !ok || name == "" {
		return
	}
	if self, ok := strings.CutPrefix(name, multicallMarker); ok {
		if applet := appletOf(p, self); applet != "" {
			p.Name = applet
		}
		return
	}
	p.Name = name
}

// appletOf is what a multi-call binary whose own file is named self runs,
// decided as busybox decides it and as the kernel hook does (scan_ctx in
// monitor/bpf/vigil.bpf.c): argv[0] without one leading '-', its last path
// component; while that names the multiplexer itself (a name starting with
// "busybox" or "toybox", or self), the last path component of the next
// argument. So "busybox /bin/sh", "busybox busybox sh", argv[0] "-sh" or
// "busybox-x sh" all run sh. It returns "" when no argument names an
// applet.
func appletOf(p *event.Process, self string) string {
	argv := append([]string{strings.TrimPrefix(p.Exe, "-")}, p.Args...)
	for _, a := range argv {
		name := a[strings.LastIndex(a, "/")+1:]
		if !strings.HasPrefix(name, "busybox") && !strings.HasPrefix(name, "toybox") && (name == "" || name != self) {
			return name
		}
	}
	return ""
}

// publishAlert puts the alert on containerd's event bus.
func (s *service) publishAlert(al alerts.Alert) {
	if s.publisher == nil {
		return
	}
	b, err := alerts.Marshal(al)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), al.Vigil.Namespace), 5*time.Second)
	defer cancel()
	if err := s.publisher.Publish(ctx, AlertTopic, alertEvent(b)); err != nil {
		log.G(ctx).WithError(err).Debug("vigil could not publish the alert event")
	}
}

// loadRules loads the built-in rules and the policy's extra files, once per
// list of files in this shim.
func loadRules(files []string) (*rules.Ruleset, error) {
	key := strings.Join(files, "\x00")
	rulesMu.Lock()
	defer rulesMu.Unlock()
	if rs, ok := rulesCache[key]; ok {
		return rs, nil
	}
	var extra []rules.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		extra = append(extra, rules.Source{Name: f, Data: b})
	}
	rs, _, err := rules.LoadBuiltin(extra...)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	rulesCache[key] = rs
	return rs, nil
}

var (
	rulesMu    sync.Mutex
	rulesCache = map[string]*rules.Ruleset{}
)
