package shim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/fsnotify/fsnotify"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/alerts"
	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/policy"
)

// EgressRule names the alert raised for each connect or datagram an egress
// policy refused (or, in audit mode, would have refused).
const EgressRule = "Egress Denied by Policy"

// egressOf compiles a policy's egress section for the kernel; nil when it
// is off.
func egressOf(e policy.Egress) *monitor.Egress {
	var mode monitor.EgressMode
	switch e.Mode {
	case policy.ModeEnforce:
		mode = monitor.EgressEnforce
	case policy.ModeAudit:
		mode = monitor.EgressAudit
	default:
		return nil
	}
	return &monitor.Egress{Mode: mode, AllowPorts: e.AllowPorts, AllowCIDRs: e.AllowCIDRs, DenyFiles: e.DenyCIDRFiles}
}

// egressAlert is the alert for a connect event the kernel refused (or
// would have refused, in audit mode); ok is false for other events.
func egressAlert(w *watched, ev *event.Event, sensor string) (alerts.Alert, bool) {
	if ev.Type != event.Connect || (ev.KernelAction != monitor.KernelDenied && ev.KernelAction != monitor.KernelDeniedAudit) {
		return alerts.Alert{}, false
	}
	p, act, verb := alerts.PriorityWarning, alerts.ActionDeny, "refused"
	if ev.KernelAction == monitor.KernelDeniedAudit {
		p, act, verb = alerts.PriorityNotice, alerts.ActionAlert, "would be refused (audit)"
	}
	if ev.KernelReason == monitor.ReasonIsolated {
		verb = "refused: the container is isolated"
	}
	c := ev.Container
	image := c.ImageRepository
	if c.ImageTag != "" {
		image += ":" + c.ImageTag
	}
	id := c.ID
	if len(id) > 12 {
		id = id[:12]
	}
	fields := map[string]any{
		"evt.type":                   string(ev.Type),
		"fd.name":                    ev.File.Name,
		"fd.sip":                     ev.File.SIP,
		"fd.sport":                   ev.File.SPort,
		"fd.l4proto":                 ev.File.L4Proto,
		"proc.name":                  ev.Process.Name,
		"proc.pid":                   ev.Process.PID,
		"user.uid":                   ev.Process.UID,
		"container.id":               id,
		"container.name":             c.Name,
		"container.image.repository": c.ImageRepository,
		"vigil.egress.reason":        ev.KernelReason,
	}
	msg := fmt.Sprintf("Outbound connection %s by the egress policy (reason=%s connection=%s proto=%s process=%s pid=%d user_uid=%d container_id=%s container_name=%s image=%s)",
		verb, ev.KernelReason, ev.File.Name, ev.File.L4Proto, ev.Process.Name, ev.Process.PID, ev.Process.UID, id, c.Name, image)
	al := alerts.NewAlert(ev.Time, EgressRule, p, msg, fields, []string{"container", "network", "egress", "mitre_command_and_control"})
	al.Vigil = &alerts.Vigil{
		Action:       act,
		KernelAction: ev.KernelAction,
		Policy:       w.c.plan.policy.Name,
		ContainerID:  w.c.id,
		Namespace:    w.c.plan.facts.ContainerdNamespace,
		Sensor:       sensor,
	}
	return al, true
}

// feedResync is how often deny files are re-read even without a file
// system notification (a missed event, a file on a network file system).
// A re-read reloads the kernel's set only when the contents changed.
const feedResync = time.Minute

// feedDebounce lets a writer finish before a changed file is read.
const feedDebounce = 200 * time.Millisecond

// feeds reloads the deny sets of this shim's containers when their files
// change: it watches the files' directories (so a file replaced by rename
// is seen) and re-reads every set once a minute.
type feeds struct {
	mon denySyncer
	w   *fsnotify.Watcher

	mu   sync.Mutex
	sets map[string]*feedSet // by joined file list
	dirs map[string]int      // watched directory → sets using it
	done chan struct{}
}

// denySyncer reloads a deny set: *monitor.Monitor.
type denySyncer interface {
	SyncDenySet(files []string) (monitor.DenySet, error)
}

type feedSet struct {
	files []string
	users int
	timer *time.Timer
}

// followFeeds starts reloading the deny set of a container's egress
// policy; the returned function stops it. A failure to watch is logged:
// the set stays in force and is re-read once a minute.
func (sn *sensors) followFeeds(ctx context.Context, e *monitor.Egress) func() {
	if e == nil || len(e.DenyFiles) == 0 {
		return func() {}
	}
	sn.mu.Lock()
	if sn.feeds == nil {
		f, err := newFeeds(sn.mon)
		if err != nil {
			sn.mu.Unlock()
			log.G(ctx).WithError(err).Warn("vigil cannot watch deny files; they are re-read once a minute")
			return func() {}
		}
		sn.feeds = f
	}
	f := sn.feeds
	sn.mu.Unlock()
	stop, err := f.follow(e.DenyFiles)
	if err != nil {
		log.G(ctx).WithError(err).Warn("vigil cannot watch a deny file's directory; it is re-read once a minute")
	}
	return stop
}

// follow reloads the set of files when one of them changes, until the
// returned function is called.
func (f *feeds) follow(files []string) (func(), error) {
	files = slices.Clone(files)
	for i := range files {
		files[i] = filepath.Clean(files[i])
	}
	slices.Sort(files)
	files = slices.Compact(files)
	key := strings.Join(files, "\x00")
	err := f.add(key, files)
	var once sync.Once
	return func() { once.Do(func() { f.remove(key) }) }, err
}

func newFeeds(mon denySyncer) (*feeds, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch deny files: %w", err)
	}
	f := &feeds{mon: mon, w: w, sets: map[string]*feedSet{}, dirs: map[string]int{}, done: make(chan struct{})}
	go f.run()
	return f, nil
}

func (f *feeds) add(key string, files []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sets[key]; s != nil {
		s.users++
		return nil
	}
	f.sets[key] = &feedSet{files: files, users: 1}
	var errs []error
	for _, d := range dirsOf(files) {
		if f.dirs[d] == 0 {
			if err := f.w.Add(d); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		f.dirs[d]++
	}
	return errors.Join(errs...)
}

func (f *feeds) remove(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sets[key]
	if s == nil {
		return
	}
	if s.users--; s.users > 0 {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	delete(f.sets, key)
	for _, d := range dirsOf(s.files) {
		if f.dirs[d]--; f.dirs[d] <= 0 {
			delete(f.dirs, d)
			_ = f.w.Remove(d)
		}
	}
}

func dirsOf(files []string) []string {
	var ds []string
	for _, f := range files {
		ds = append(ds, filepath.Dir(f))
	}
	slices.Sort(ds)
	return slices.Compact(ds)
}

// run reloads the sets whose files an event names, after feedDebounce,
// and every set every feedResync.
func (f *feeds) run() {
	tick := time.NewTicker(feedResync)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-f.w.Events:
			if !ok {
				return
			}
			name := filepath.Clean(ev.Name)
			f.mu.Lock()
			for _, s := range f.sets {
				if slices.Contains(s.files, name) {
					f.schedule(s)
				}
			}
			f.mu.Unlock()
		case err, ok := <-f.w.Errors:
			if !ok {
				return
			}
			log.L.WithError(err).Warn("vigil deny file watch")
		case <-tick.C:
			f.mu.Lock()
			for _, s := range f.sets {
				f.schedule(s)
			}
			f.mu.Unlock()
		case <-f.done:
			return
		}
	}
}

// schedule reloads s after feedDebounce; f.mu is held.
func (f *feeds) schedule(s *feedSet) {
	if s.timer != nil {
		s.timer.Reset(feedDebounce)
		return
	}
	files := s.files
	s.timer = time.AfterFunc(feedDebounce, func() { f.sync(files) })
}

func (f *feeds) sync(files []string) {
	ds, err := f.mon.SyncDenySet(files)
	l := log.L.WithField("files", files)
	switch {
	case errors.Is(err, monitor.ErrDenySetUnused):
	case err != nil:
		l.WithError(err).Error("vigil could not reload a deny set; the previous one stays in force")
	case ds.Reloaded:
		l.WithField("entries", ds.Entries).Info("vigil reloaded a deny set")
	}
}

// close stops watching.
func (f *feeds) close() {
	close(f.done)
	f.w.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sets {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
}
