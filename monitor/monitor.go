package monitor

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/bpf"
	"github.com/vigil-dev/vigil/monitor/event"
)

// Errors callers may test with errors.Is.
var (
	// ErrLoad: the kernel refused to load or attach the program set.
	ErrLoad = errors.New("load BPF programs")
	// ErrInvalid: a Register argument is invalid.
	ErrInvalid = errors.New("invalid container registration")
	// ErrNotRegistered: the cgroup id is not registered by this Monitor.
	ErrNotRegistered = errors.New("cgroup not registered")
	// ErrClosed: the Monitor was closed.
	ErrClosed = errors.New("monitor closed")
	// ErrUnknownClass: a class name ParseClass does not know.
	ErrUnknownClass = errors.New("unknown class")
)

// DefaultRingBufferSize is the size of each shim's event ring buffer.
const DefaultRingBufferSize = 16 << 10

// Mode is what the kernel does when an exec matches a container's KillMask.
type Mode uint8

const (
	// Audit reports every exec; the kernel kills nothing.
	Audit Mode = iota
	// Enforce stops execs whose class intersects KillMask: the LSM exec
	// hook refuses them (EPERM) where the kernel allows it, the exec
	// tracepoint kills them (SIGKILL) elsewhere (see ExecEnforcement).
	Enforce
)

// Container is what the kernel programs know about one container.
type Container struct {
	// InitTGID is the host pid of the container's init (runc create's pid):
	// its exec is the entrypoint, killed only when KillEntrypoint is set.
	InitTGID uint32
	Mode     Mode
	// KillMask holds the classes stopped in the kernel in Enforce mode
	// (refused or killed, see ExecEnforcement).
	KillMask       uint32
	KillEntrypoint bool
	// Names maps a process name (comm, 15 bytes at most: longer names are
	// truncated as the kernel truncates comm) to class bits.
	Names map[string]uint32
	// Exes classifies executables by inode (see RootfsExes).
	Exes []Exe
	// CgroupV2Path is the container's cgroup2 directory; when set, the
	// connect/sendmsg programs are attached to it.
	CgroupV2Path string
	// Isolate denies every outbound connect/sendmsg (EPERM) and drops
	// every packet the container sends (see SetIsolate).
	Isolate bool
	// Egress is the container's outbound policy; nil for none.
	Egress *Egress
	// MntNS is the inode of the container's mount namespace; 0 reads it
	// from /proc/<InitTGID>/ns/mnt. Execs outside it started from outside
	// the container are the runtime's own (runc init) and are ignored.
	MntNS uint32
	// Meta is copied into every event's Container (CgroupID is set by the
	// Monitor).
	Meta event.Container
}

// Options configure Open.
type Options struct {
	// PinRoot is where the program set is pinned; its parent must be (or
	// becomes) a bpffs mount. Default DefaultPinRoot.
	PinRoot string
	// LockPath serializes loading between shims. Default DefaultLockPath.
	LockPath string
	// EventBuffer is the capacity of the Events channel. Default 256.
	EventBuffer int
	// Logf logs what the caller is not told otherwise (once per process:
	// that the LSM exec hook is unavailable). Default log.Printf.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.PinRoot == "" {
		o.PinRoot = DefaultPinRoot
	}
	if o.LockPath == "" {
		o.LockPath = DefaultLockPath
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 256
	}
	if o.Logf == nil {
		o.Logf = defaultLogf
	}
	return o
}

// Stats counts what one Monitor saw.
type Stats struct {
	// Events is the number of records decoded by this Monitor.
	Events uint64
	// Drops is the number of records the kernel could not write to this
	// Monitor's ring buffer (full), summed over its registered cgroups.
	Drops uint64
	// Malformed is the number of records that could not be decoded.
	Malformed uint64
	// Kernel holds the node-wide counters of the shared program set.
	Kernel KernelStats
}

// KernelStats are the node-wide counters of the shared program set.
type KernelStats struct {
	Execs          uint64 // execs in monitored containers
	Connects       uint64 // connect/sendmsg calls in monitored containers
	Drops          uint64 // records lost, ring buffer full
	NoRingBuffer   uint64 // records for a cgroup without a ring buffer
	Kills          uint64 // SIGKILLs sent by the exec tracepoint
	ExecsDenied    uint64 // execs refused (EPERM) by the LSM exec hook
	RuntimeSkipped uint64 // container runtime execs (runc init) not reported
	EgressDenied   uint64 // connects/datagrams refused (policy or isolation)
	IsolatedDrops  uint64 // packets of isolated containers dropped
}

type registration struct {
	cgroupDir string
	attached  []int // indexes into sockHooks
	// isolating: isolateHook is attached to cgroupDir.
	isolating bool
	meta      event.Container
}

// Monitor is one shim's handle on the node-wide program set.
type Monitor struct {
	objs      *objects
	ring      *ebpf.Map
	ringID    uint64 // ring's key in event_rings: pid<<32 | random
	reader    *ringbuf.Reader
	events    chan *event.Event
	done      chan struct{}
	wg        sync.WaitGroup
	bootEpoch time.Time
	lockPath  string

	mu   sync.RWMutex
	regs map[uint64]*registration

	closeOnce sync.Once
	nEvents   atomic.Uint64
	nBad      atomic.Uint64
}

// Open mounts bpffs when needed, loads and pins the program set (or reuses
// the one another shim pinned), and creates this Monitor's ring buffer.
func Open(opts Options) (_ *Monitor, err error) {
	opts = opts.withDefaults()
	if err := ensureBPFFS(bpffsMount(opts.PinRoot)); err != nil {
		return nil, err
	}
	unlock, err := lockFile(opts.LockPath)
	if err != nil {
		return nil, err
	}
	objs, err := loadOrReuse(PinDir(opts.PinRoot), opts.Logf)
	unlock()
	if err != nil {
		return nil, err
	}
	m := &Monitor{
		objs:      objs,
		events:    make(chan *event.Event, opts.EventBuffer),
		done:      make(chan struct{}),
		regs:      map[uint64]*registration{},
		bootEpoch: bootEpoch(),
		lockPath:  opts.LockPath,
	}
	defer func() {
		if err != nil {
			m.closeFDs()
		}
	}()
	if m.ring, err = ebpf.NewMap(objs.innerSpec); err != nil {
		return nil, fmt.Errorf("%w: create ring buffer: %w", ErrLoad, err)
	}
	if m.reader, err = ringbuf.NewReader(m.ring); err != nil {
		return nil, fmt.Errorf("%w: ring buffer reader: %w", ErrLoad, err)
	}
	// The ring enters event_rings once, here: a map-in-map update waits
	// for an RCU grace period, which Register then never pays.
	m.ringID = uint64(os.Getpid())<<32 | uint64(rand.Uint32()|1)
	if err := objs.eventRings.Update(m.ringID, m.ring, ebpf.UpdateNoExist); err != nil {
		return nil, fmt.Errorf("%w: event_rings[%#x]: %w", ErrLoad, m.ringID, err)
	}
	m.wg.Add(1)
	go m.read()
	return m, nil
}

// bpffsMount is the directory that must be a bpffs mount for root.
func bpffsMount(root string) string {
	for d := root; d != "/" && d != "."; d = parentDir(d) {
		var sfs unix.Statfs_t
		if unix.Statfs(d, &sfs) == nil && sfs.Type == unix.BPF_FS_MAGIC {
			return d
		}
	}
	return parentDir(root)
}

func parentDir(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

// bootEpoch is the wall-clock time of CLOCK_BOOTTIME zero, to convert the
// kernel's bpf_ktime_get_boot_ns stamps.
func bootEpoch() time.Time {
	// The wall clock at boot: CLOCK_REALTIME minus CLOCK_BOOTTIME, read
	// between two wall clock reads; of a few tries, the one with the
	// tightest bracket, so a preemption between the reads does not skew
	// every event's time.
	var (
		best  time.Time
		width = time.Duration(1<<63 - 1)
	)
	for range 5 {
		var ts unix.Timespec
		before := time.Now()
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
			return before
		}
		after := time.Now()
		if w := after.Sub(before); w < width {
			width = w
			best = before.Add(w / 2).Add(-time.Duration(ts.Nano()))
		}
	}
	return best
}

// Loaded reports whether this Monitor loaded the program set (true) or
// reused the set another process had pinned (false).
func (m *Monitor) Loaded() bool { return m.objs.loaded }

// PinDir is the directory of the pinned program set this Monitor uses.
func (m *Monitor) PinDir() string { return m.objs.dir }

// Events returns the channel of decoded kernel events for this Monitor's
// cgroups. It is closed by Close. A reader that falls behind makes the
// kernel drop records (see Stats).
func (m *Monitor) Events() <-chan *event.Event { return m.events }

func (m *Monitor) read() {
	defer m.wg.Done()
	defer close(m.events)
	var rec ringbuf.Record
	for {
		if err := m.reader.ReadInto(&rec); err != nil {
			if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			m.nBad.Add(1)
			continue
		}
		ev, err := m.decode(rec.RawSample)
		if err != nil {
			m.nBad.Add(1)
			continue
		}
		m.nEvents.Add(1)
		select {
		case m.events <- ev:
		case <-m.done:
			return
		}
	}
}

func (m *Monitor) meta(cgid uint64) event.Container {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var c event.Container
	if r := m.regs[cgid]; r != nil {
		c = r.meta
	}
	c.CgroupID = cgid
	return c
}

// Register writes a container's entry: call it after runc create and before
// start, so the workload's first exec is already watched. Registering a
// registered cgroup id replaces its entry. On error nothing is left behind.
func (m *Monitor) Register(cgid uint64, c Container) (err error) {
	if cgid == 0 {
		return fmt.Errorf("%w: cgroup id 0", ErrInvalid)
	}
	cfg := bpf.VigilContainerCfg{
		KillMask: c.KillMask,
		InitTgid: c.InitTGID,
		Mntns:    c.MntNS,
		Ring:     m.ringID,
	}
	switch c.Mode {
	case Enforce:
		cfg.Flags |= uint32(bpf.VigilCfgFlagsCFG_ENFORCE)
	case Audit:
		cfg.Flags |= uint32(bpf.VigilCfgFlagsCFG_AUDIT)
	default:
		return fmt.Errorf("%w: Mode %d", ErrInvalid, c.Mode)
	}
	if c.KillEntrypoint {
		cfg.Flags |= uint32(bpf.VigilCfgFlagsCFG_KILL_ENTRYPOINT)
	}
	if c.Isolate {
		cfg.EgressFlags |= uint32(bpf.VigilEgressFlagsEGRESS_ISOLATE)
	}
	eg, err := planEgress(cgid, c.Egress)
	if err != nil {
		return err
	}
	cfg.EgressFlags |= eg.flags
	cfg.DenySet = eg.denyID
	if cfg.Mntns == 0 && c.InitTGID != 0 {
		ns, err := mntNS(int(c.InitTGID))
		if err != nil {
			return fmt.Errorf("%w: InitTGID %d: %w", ErrInvalid, c.InitTGID, err)
		}
		cfg.Mntns = ns
	}
	nameKeys := make([]bpf.VigilNameKey, 0, len(c.Names))
	nameVals := make([]uint32, 0, len(c.Names))
	for name, class := range c.Names {
		k, err := nameKey(cgid, name)
		if err != nil {
			return err
		}
		nameKeys = append(nameKeys, k)
		nameVals = append(nameVals, class)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs == nil {
		return ErrClosed
	}
	// Replace a previous entry, ours or a dead shim's.
	if err := m.unregisterLocked(cgid); err != nil {
		return err
	}
	reg := &registration{cgroupDir: c.CgroupV2Path, meta: c.Meta}
	defer func() {
		if err != nil {
			m.regs[cgid] = reg
			if uerr := m.unregisterLocked(cgid); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
	}()
	for i := range nameKeys {
		if err := m.objs.nameClass.Put(&nameKeys[i], nameVals[i]); err != nil {
			return fmt.Errorf("name_class[%q]: %w", cString(nameKeys[i].Name[:]), err)
		}
	}
	for _, e := range c.Exes {
		k := bpf.VigilExeKey{Cgid: cgid, Dev: e.Dev, Ino: e.Ino}
		if err := m.objs.exeClass.Put(&k, e.Class); err != nil {
			return fmt.Errorf("exe_class[dev %#x ino %d]: %w", e.Dev, e.Ino, err)
		}
	}
	if err := m.writeEgress(eg); err != nil {
		return err
	}
	if c.CgroupV2Path != "" {
		if err := m.attach(reg); err != nil {
			return err
		}
		if c.Isolate {
			if err := m.attachIsolate(reg); err != nil {
				return err
			}
		}
	}
	put := func() error {
		if err := m.objs.containers.Put(cgid, &cfg); err != nil {
			return fmt.Errorf("containers[%d]: %w", cgid, err)
		}
		return nil
	}
	if eg.denyID != 0 {
		// Under the node lock, so no other shim removes the set between
		// loading it and the entry that names it.
		err = m.withNodeLock(func() error {
			if _, err := m.loadDenySet(eg.denyFiles, true); err != nil {
				return err
			}
			return put()
		})
	} else {
		err = put()
	}
	if err != nil {
		return err
	}
	m.regs[cgid] = reg
	return nil
}

func nameKey(cgid uint64, name string) (bpf.VigilNameKey, error) {
	k := bpf.VigilNameKey{Cgid: cgid}
	if name == "" {
		return k, fmt.Errorf("%w: Names: empty name", ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 || name[i] == '/' {
			return k, fmt.Errorf("%w: Names[%q]: contains NUL or '/'", ErrInvalid, name)
		}
	}
	for i := 0; i < len(name) && i < len(k.Name)-1; i++ {
		k.Name[i] = int8(name[i])
	}
	return k, nil
}

func mntNS(pid int) (uint32, error) {
	var st syscall.Stat_t
	p := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	if err := syscall.Stat(p, &st); err != nil {
		return 0, fmt.Errorf("mount namespace: %w", err)
	}
	return uint32(st.Ino), nil
}

func (m *Monitor) attach(reg *registration) error {
	dir, err := os.Open(reg.cgroupDir)
	if err != nil {
		return fmt.Errorf("%w: CgroupV2Path: %w", ErrInvalid, err)
	}
	defer dir.Close()
	for i, h := range sockHooks {
		err := link.RawAttachProgram(link.RawAttachProgramOptions{
			Target:  int(dir.Fd()),
			Program: m.objs.progs[i],
			Attach:  h.attach,
			Flags:   unix.BPF_F_ALLOW_MULTI,
		})
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%w: attach %s to %s: %w", ErrLoad, h.prog, reg.cgroupDir, err)
		}
		reg.attached = append(reg.attached, i)
	}
	return nil
}

// Unregister removes every map entry and cgroup attachment of cgid. It is
// idempotent and also cleans entries another (dead) shim left for cgid.
func (m *Monitor) Unregister(cgid uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs == nil {
		return ErrClosed
	}
	return m.unregisterLocked(cgid)
}

func (m *Monitor) unregisterLocked(cgid uint64) error {
	var errs []error
	var old bpf.VigilContainerCfg
	hadCfg := m.objs.containers.Lookup(cgid, &old) == nil
	if err := m.objs.containers.Delete(cgid); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		errs = append(errs, fmt.Errorf("containers[%d]: %w", cgid, err))
	}
	if reg := m.regs[cgid]; reg != nil && (len(reg.attached) > 0 || reg.isolating) {
		errs = append(errs, m.detach(reg))
	}
	errs = append(errs, m.purgeEgress(cgid))
	if hadCfg && old.DenySet != 0 {
		errs = append(errs, m.gcDenySet(old.DenySet))
	}
	delete(m.regs, cgid)
	errs = append(errs, purge[bpf.VigilNameKey](m.objs.nameClass, func(k *bpf.VigilNameKey) bool { return k.Cgid == cgid }))
	errs = append(errs, purge[bpf.VigilExeKey](m.objs.exeClass, func(k *bpf.VigilExeKey) bool { return k.Cgid == cgid }))
	return errors.Join(errs...)
}

func (m *Monitor) detach(reg *registration) error {
	dir, err := os.Open(reg.cgroupDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the cgroup is gone and its programs with it
	}
	if err != nil {
		return fmt.Errorf("detach from %s: %w", reg.cgroupDir, err)
	}
	defer dir.Close()
	var errs []error
	for _, i := range reg.attached {
		h := sockHooks[i]
		err := link.RawDetachProgram(link.RawDetachProgramOptions{
			Target:  int(dir.Fd()),
			Program: m.objs.progs[i],
			Attach:  h.attach,
		})
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("detach %s from %s: %w", h.prog, reg.cgroupDir, err))
		}
	}
	reg.attached = nil
	if reg.isolating {
		err := link.RawDetachProgram(link.RawDetachProgramOptions{
			Target:  int(dir.Fd()),
			Program: m.objs.skbEgress,
			Attach:  isolateHook.attach,
		})
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("detach %s from %s: %w", isolateHook.prog, reg.cgroupDir, err))
		}
		reg.isolating = false
	}
	return errors.Join(errs...)
}

// attachIsolate attaches the packet hook that enforces isolation on
// connections opened before it.
func (m *Monitor) attachIsolate(reg *registration) error {
	if reg.isolating {
		return nil
	}
	dir, err := os.Open(reg.cgroupDir)
	if err != nil {
		return fmt.Errorf("%w: CgroupV2Path: %w", ErrInvalid, err)
	}
	defer dir.Close()
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target:  int(dir.Fd()),
		Program: m.objs.skbEgress,
		Attach:  isolateHook.attach,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%w: attach %s to %s: %w", ErrLoad, isolateHook.prog, reg.cgroupDir, err)
	}
	reg.isolating = true
	return nil
}

// purge deletes the keys of a hash map for which match is true.
func purge[K any](mp *ebpf.Map, match func(*K) bool) error {
	var (
		k    K
		v    []byte
		dead []K
	)
	it := mp.Iterate()
	for it.Next(&k, &v) {
		if match(&k) {
			dead = append(dead, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate %v: %w", mp, err)
	}
	for i := range dead {
		if err := mp.Delete(&dead[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete from %v: %w", mp, err)
		}
	}
	return nil
}

// SetIsolate switches the egress isolation of a registered cgroup: when on,
// every outbound connect/sendmsg from it fails with EPERM (loopback
// included) and, for a cgroup this Monitor registered with a CgroupV2Path,
// every packet its sockets send is dropped, so connections opened before
// isolation go silent too (not even a FIN leaves when its processes die).
// When it returns, isolation is in force.
func (m *Monitor) SetIsolate(cgid uint64, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cfg bpf.VigilContainerCfg
	if err := m.objs.containers.Lookup(cgid, &cfg); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("%w: %d", ErrNotRegistered, cgid)
		}
		return fmt.Errorf("containers[%d]: %w", cgid, err)
	}
	bit := uint32(bpf.VigilEgressFlagsEGRESS_ISOLATE)
	if on {
		cfg.EgressFlags |= bit
	} else {
		cfg.EgressFlags &^= bit
	}
	if err := m.objs.containers.Update(cgid, &cfg, ebpf.UpdateExist); err != nil {
		return fmt.Errorf("containers[%d]: %w", cgid, err)
	}
	if reg := m.regs[cgid]; on && reg != nil && reg.cgroupDir != "" {
		return m.attachIsolate(reg)
	}
	return nil
}

// Stats returns this Monitor's counters and the node-wide kernel counters.
func (m *Monitor) Stats() (Stats, error) {
	s := Stats{Events: m.nEvents.Load(), Malformed: m.nBad.Load()}
	m.mu.RLock()
	ids := make([]uint64, 0, len(m.regs))
	for id := range m.regs {
		ids = append(ids, id)
	}
	m.mu.RUnlock()
	for _, id := range ids {
		var cfg bpf.VigilContainerCfg
		if err := m.objs.containers.Lookup(id, &cfg); err == nil {
			s.Drops += cfg.Drops
		}
	}
	var err error
	s.Kernel, err = m.kernelStats()
	return s, err
}

func (m *Monitor) kernelStats() (KernelStats, error) {
	var ks KernelStats
	fields := []struct {
		idx bpf.VigilStatIndex
		dst *uint64
	}{
		{bpf.VigilStatIndexSTAT_EXEC, &ks.Execs},
		{bpf.VigilStatIndexSTAT_CONNECT, &ks.Connects},
		{bpf.VigilStatIndexSTAT_DROPS, &ks.Drops},
		{bpf.VigilStatIndexSTAT_NO_RINGBUF, &ks.NoRingBuffer},
		{bpf.VigilStatIndexSTAT_KILLS, &ks.Kills},
		{bpf.VigilStatIndexSTAT_RUNTIME, &ks.RuntimeSkipped},
		{bpf.VigilStatIndexSTAT_EGRESS_DENIED, &ks.EgressDenied},
		{bpf.VigilStatIndexSTAT_ISOLATED_DROPS, &ks.IsolatedDrops},
		{bpf.VigilStatIndexSTAT_EXEC_DENIED, &ks.ExecsDenied},
	}
	for _, f := range fields {
		var per []uint64
		if err := m.objs.stats.Lookup(uint32(f.idx), &per); err != nil {
			return ks, fmt.Errorf("stats[%d]: %w", f.idx, err)
		}
		for _, v := range per {
			*f.dst += v
		}
	}
	return ks, nil
}

// Close stops reading events and closes this Monitor's file descriptors.
// The pinned program set and every registration stay: the kernel keeps
// enforcing KillMask for registered containers after the shim exits (their
// events are then lost). Unregister first to remove a container.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		close(m.done)
		if m.reader != nil {
			m.reader.Close()
		}
		m.wg.Wait()
		m.mu.Lock()
		m.regs = nil
		m.mu.Unlock()
		m.closeFDs()
	})
	return nil
}

// dropRing removes this Monitor's ring from event_rings: the containers it
// registered report nothing more.
func (m *Monitor) dropRing() {
	if m.ringID != 0 && m.objs != nil && m.objs.eventRings != nil {
		m.objs.eventRings.Delete(m.ringID)
	}
}

func (m *Monitor) closeFDs() {
	m.dropRing()
	if m.reader != nil {
		m.reader.Close()
	}
	if m.ring != nil {
		m.ring.Close()
	}
	m.objs.close()
}
