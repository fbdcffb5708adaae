package monitor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-dev/vigil/monitor/bpf"
)

// Defaults for Options.
const (
	DefaultPinRoot  = "/sys/fs/bpf/vigil"
	DefaultLockPath = "/run/vigil/monitor.lock"
	// PinVersion is bumped when the pin layout changes.
	PinVersion = "v1"
)

// ErrBPFFS is returned when bpffs cannot be found or mounted.
var ErrBPFFS = errors.New("bpffs unavailable")

// pinned names inside the versioned directory.
const (
	pinContainers = "map_containers"
	pinNameClass  = "map_name_class"
	pinExeClass   = "map_exe_class"
	pinEvents     = "map_event_rings"
	pinStats      = "map_stats"
	pinPorts      = "map_egress_ports"
	pinAllow      = "map_egress_allow"
	pinDenySets   = "map_deny_sets"
	pinDenyMeta   = "map_deny_meta"
	pinSkbEgress  = "prog_skb_egress"
	pinConnect4   = "prog_connect4"
	pinConnect6   = "prog_connect6"
	pinSendmsg4   = "prog_sendmsg4"
	pinSendmsg6   = "prog_sendmsg6"
	// pinLSMLink ("link_lsm", lsm.go) is the LSM exec hook's link, pinned
	// before the exec link when the kernel allows the hook.
	// pinExecLink is written last: its presence marks a complete set.
	pinExecLink = "link_exec"
)

// sockHooks are the cgroup programs attached to each container's cgroup.
var sockHooks = []struct {
	pin    string
	prog   string
	attach ebpf.AttachType
}{
	{pinConnect4, bpf.VigilProgVigilConnect4, ebpf.AttachCGroupInet4Connect},
	{pinConnect6, bpf.VigilProgVigilConnect6, ebpf.AttachCGroupInet6Connect},
	{pinSendmsg4, bpf.VigilProgVigilSendmsg4, ebpf.AttachCGroupUDP4Sendmsg},
	{pinSendmsg6, bpf.VigilProgVigilSendmsg6, ebpf.AttachCGroupUDP6Sendmsg},
}

// isolateHook is attached to a container's cgroup when it is first
// isolated: it drops the packets of connections opened before.
var isolateHook = struct {
	pin    string
	prog   string
	attach ebpf.AttachType
}{pinSkbEgress, bpf.VigilProgVigilSkbEgress, ebpf.AttachCGroupInetEgress}

// objects is one shim's handle on the node-wide program set.
type objects struct {
	dir          string
	loaded       bool // this process loaded the set (false: reused the pins)
	containers   *ebpf.Map
	nameClass    *ebpf.Map
	exeClass     *ebpf.Map
	eventRings   *ebpf.Map
	stats        *ebpf.Map
	egressPorts  *ebpf.Map
	egressAllow  *ebpf.Map
	denySets     *ebpf.Map
	denyMeta     *ebpf.Map
	progs        []*ebpf.Program // parallel to sockHooks
	skbEgress    *ebpf.Program
	innerSpec    *ebpf.MapSpec
	denyTrieSpec *ebpf.MapSpec
	// exec is the set's exec enforcement; execReason why it is not LSM.
	exec       ExecEnforcement
	execReason string
}

func (o *objects) close() {
	for _, m := range []*ebpf.Map{o.containers, o.nameClass, o.exeClass, o.eventRings, o.stats,
		o.egressPorts, o.egressAllow, o.denySets, o.denyMeta} {
		if m != nil {
			m.Close()
		}
	}
	for _, p := range append(o.progs, o.skbEgress) {
		if p != nil {
			p.Close()
		}
	}
}

// PinDir returns the versioned directory of this binary's program set under
// root: <root>/v1-<hash of the BPF objects> (the main one and the LSM exec
// hook's). Binaries with different objects never share a set.
func PinDir(root string) string {
	if root == "" {
		root = DefaultPinRoot
	}
	return filepath.Join(root, PinVersion+"-"+bpf.ObjectHash())
}

// ensureBPFFS makes sure dir's parent is a bpffs mount, mounting one on it
// when it is not (a fresh machine has none).
func ensureBPFFS(mnt string) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(mnt, &sfs); err == nil && sfs.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		return fmt.Errorf("%w: mkdir %s: %w", ErrBPFFS, mnt, err)
	}
	if err := unix.Mount("bpf", mnt, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("%w: mount bpf on %s: %w", ErrBPFFS, mnt, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path (created if needed) and returns
// the unlock function.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// loadOrReuse returns the pinned set in dir, loading and pinning it first
// when this is the first shim on the node. The caller holds the lock.
func loadOrReuse(dir string, logf func(string, ...any)) (*objects, error) {
	if _, err := os.Stat(filepath.Join(dir, pinExecLink)); err == nil {
		o, err := loadPinned(dir)
		if err == nil {
			o.setExecEnforcement(nil, logf)
			return o, nil
		}
		// A complete-looking but unreadable set: start over.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return nil, fmt.Errorf("reuse pinned set %s: %w (and remove: %w)", dir, err, rmErr)
		}
	} else {
		// No marker: nothing, or what a crashed loader left. Start over.
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove partial pinned set %s: %w", dir, err)
		}
	}
	return loadAndPin(dir, logf)
}

// innerSpecs returns the specs of the ring buffer each Monitor creates and
// of the deny set tries.
func innerSpecs() (ring, deny *ebpf.MapSpec, err error) {
	spec, err := bpf.LoadVigil()
	if err != nil {
		return nil, nil, err
	}
	inner := func(name string) (*ebpf.MapSpec, error) {
		outer := spec.Maps[name]
		if outer == nil || outer.InnerMap == nil {
			return nil, fmt.Errorf("object has no %s inner map", name)
		}
		return outer.InnerMap.Copy(), nil
	}
	if ring, err = inner(bpf.VigilMapEventRings); err != nil {
		return nil, nil, err
	}
	if deny, err = inner(bpf.VigilMapDenySets); err != nil {
		return nil, nil, err
	}
	return ring, deny, nil
}

func loadPinned(dir string) (_ *objects, err error) {
	o := &objects{dir: dir}
	defer func() {
		if err != nil {
			o.close()
		}
	}()
	maps := []struct {
		name string
		dst  **ebpf.Map
	}{
		{pinContainers, &o.containers},
		{pinNameClass, &o.nameClass},
		{pinExeClass, &o.exeClass},
		{pinEvents, &o.eventRings},
		{pinStats, &o.stats},
		{pinPorts, &o.egressPorts},
		{pinAllow, &o.egressAllow},
		{pinDenySets, &o.denySets},
		{pinDenyMeta, &o.denyMeta},
	}
	for _, m := range maps {
		if *m.dst, err = ebpf.LoadPinnedMap(filepath.Join(dir, m.name), nil); err != nil {
			return nil, fmt.Errorf("load pinned map: %w", err)
		}
	}
	for _, h := range sockHooks {
		p, err := ebpf.LoadPinnedProgram(filepath.Join(dir, h.pin), nil)
		if err != nil {
			return nil, fmt.Errorf("load pinned program: %w", err)
		}
		o.progs = append(o.progs, p)
	}
	if o.skbEgress, err = ebpf.LoadPinnedProgram(filepath.Join(dir, isolateHook.pin), nil); err != nil {
		return nil, fmt.Errorf("load pinned program: %w", err)
	}
	if o.innerSpec, o.denyTrieSpec, err = innerSpecs(); err != nil {
		return nil, err
	}
	return o, nil
}

func loadAndPin(dir string, logf func(string, ...any)) (_ *objects, err error) {
	spec, err := bpf.LoadVigil()
	if err != nil {
		return nil, err
	}
	// Programs and maps only: the object's .bss (which exists only to
	// export C types to Go) is never loaded.
	var objs struct {
		bpf.VigilPrograms
		bpf.VigilMaps
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: %+v", ErrLoad, ve)
		}
		return nil, fmt.Errorf("%w: %w", ErrLoad, err)
	}
	// Maps and programs this process does not hand out are closed at the
	// end; the pins and the exec link keep them alive.
	defer func() {
		objs.Scratch.Close()
		objs.VigilExec.Close()
		if err != nil {
			objs.VigilPrograms.Close()
			objs.VigilMaps.Close()
			os.RemoveAll(dir)
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBPFFS, err)
	}
	pins := []struct {
		name string
		obj  interface{ Pin(string) error }
	}{
		{pinContainers, objs.Containers},
		{pinNameClass, objs.NameClass},
		{pinExeClass, objs.ExeClass},
		{pinEvents, objs.EventRings},
		{pinStats, objs.Stats},
		{pinPorts, objs.EgressPorts},
		{pinAllow, objs.EgressAllow},
		{pinDenySets, objs.DenySets},
		{pinDenyMeta, objs.DenyMeta},
		{pinSkbEgress, objs.VigilSkbEgress},
		{pinConnect4, objs.VigilConnect4},
		{pinConnect6, objs.VigilConnect6},
		{pinSendmsg4, objs.VigilSendmsg4},
		{pinSendmsg6, objs.VigilSendmsg6},
	}
	for _, p := range pins {
		if err := p.obj.Pin(filepath.Join(dir, p.name)); err != nil {
			return nil, fmt.Errorf("pin %s: %w", p.name, err)
		}
	}
	// The LSM exec hook, where the kernel allows it, on the set's maps. Its
	// failure is not the set's: the tracepoint enforces alone.
	lsmErr := attachLSM(dir, map[string]*ebpf.Map{
		bpf.VigilMapContainers: objs.Containers,
		bpf.VigilMapNameClass:  objs.NameClass,
		bpf.VigilMapExeClass:   objs.ExeClass,
		bpf.VigilMapEventRings: objs.EventRings,
		bpf.VigilMapStats:      objs.Stats,
	})
	// Attach the exec hook last and pin its link: it stays attached when
	// this process exits, and its pin marks the set complete.
	l, err := link.AttachTracing(link.TracingOptions{Program: objs.VigilExec, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		return nil, fmt.Errorf("%w: attach tp_btf/sched_process_exec: %w", ErrLoad, err)
	}
	defer l.Close()
	if err := l.Pin(filepath.Join(dir, pinExecLink)); err != nil {
		return nil, fmt.Errorf("pin exec link: %w", err)
	}
	inner, deny, err := innerSpecs()
	if err != nil {
		return nil, err
	}
	o := &objects{
		dir:          dir,
		loaded:       true,
		containers:   objs.Containers,
		nameClass:    objs.NameClass,
		exeClass:     objs.ExeClass,
		eventRings:   objs.EventRings,
		stats:        objs.Stats,
		egressPorts:  objs.EgressPorts,
		egressAllow:  objs.EgressAllow,
		denySets:     objs.DenySets,
		denyMeta:     objs.DenyMeta,
		progs:        []*ebpf.Program{objs.VigilConnect4, objs.VigilConnect6, objs.VigilSendmsg4, objs.VigilSendmsg6},
		skbEgress:    objs.VigilSkbEgress,
		innerSpec:    inner,
		denyTrieSpec: deny,
	}
	o.setExecEnforcement(lsmErr, logf)
	return o, nil
}

// Unload removes every pinned program set under opts.PinRoot (all
// versions): the exec hook detaches once no process holds it. Cgroup socket
// programs stay attached to cgroups that were not unregistered until those
// cgroups are removed. For tests and uninstall.
func Unload(opts Options) error {
	opts = opts.withDefaults()
	unlock, err := lockFile(opts.LockPath)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.RemoveAll(opts.PinRoot); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unload %s: %w", opts.PinRoot, err)
	}
	return nil
}
