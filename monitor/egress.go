package monitor

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-dev/vigil/monitor/bpf"
)

// KernelAction values of connect events.
const (
	// KernelDenied: the connect or datagram failed with EPERM.
	KernelDenied = "denied"
	// KernelDeniedAudit: an egress policy in audit mode would have
	// refused it; it went through.
	KernelDeniedAudit = "denied-audit"
)

// KernelReason values of refused connects.
const (
	ReasonIsolated = "isolated"  // the container is isolated
	ReasonDenyList = "deny-list" // the destination is in a deny file
	ReasonPort     = "port"      // the port is not in AllowPorts
	ReasonCIDR     = "cidr"      // the address is not in AllowCIDRs
)

var denyReasons = []struct {
	flag bpf.VigilEventFlags
	name string
}{
	{bpf.VigilEventFlagsEV_WHY_ISOLATED, ReasonIsolated},
	{bpf.VigilEventFlagsEV_WHY_DENY_SET, ReasonDenyList},
	{bpf.VigilEventFlagsEV_WHY_PORT, ReasonPort},
	{bpf.VigilEventFlagsEV_WHY_CIDR, ReasonCIDR},
}

// ErrDenySetUnused is returned by SyncDenySet for files that no registered
// container names.
var ErrDenySetUnused = errors.New("deny set not in use")

// EgressMode is what the kernel does with a connect its policy refuses.
type EgressMode uint8

const (
	// EgressEnforce refuses it: connect() and sendmsg() fail with EPERM.
	EgressEnforce EgressMode = iota + 1
	// EgressAudit lets it through and reports it (KernelDeniedAudit).
	EgressAudit
)

// Limits of an egress policy.
const (
	// MaxDenyEntries bounds the prefixes of one deny set (the union of its
	// files): the size of the kernel's deny tries.
	MaxDenyEntries = 1 << 20
	// MaxAllowEntries bounds AllowPorts and AllowCIDRs of one container.
	MaxAllowEntries = 4096
)

// Egress is a container's outbound policy, checked by the connect4/6 and
// sendmsg4/6 programs for TCP connects, UDP connects and unconnected UDP
// datagrams, IPv4 and IPv6 alike (an IPv4-mapped IPv6 destination is its
// IPv4 address). Loopback and unspecified destinations (127.0.0.0/8, ::1,
// 0.0.0.0, ::) are inside the container's own network namespace and always
// allowed; only Isolate cuts them. Otherwise, in order: a destination in a
// deny file is refused; with AllowPorts set, a destination port outside it
// is refused; with AllowCIDRs set, an address outside it is refused.
type Egress struct {
	Mode       EgressMode
	AllowPorts []uint16
	AllowCIDRs []netip.Prefix
	// DenyFiles are threat feeds in the format ParseFeed reads. Their union
	// is one deny set, shared by every container that names the same
	// files; SyncDenySet reloads it.
	DenyFiles []string
}

// egressPlan is an Egress compiled into map entries.
type egressPlan struct {
	flags     uint32
	ports     []bpf.VigilPortKey
	allow     []bpf.VigilAllowKey
	denyID    uint64
	denyFiles []string
}

func planEgress(cgid uint64, e *Egress) (egressPlan, error) {
	var p egressPlan
	if e == nil {
		return p, nil
	}
	switch e.Mode {
	case EgressEnforce:
		p.flags |= uint32(bpf.VigilEgressFlagsEGRESS_ENFORCE)
	case EgressAudit:
		p.flags |= uint32(bpf.VigilEgressFlagsEGRESS_AUDIT)
	default:
		return p, fmt.Errorf("%w: Egress.Mode %d", ErrInvalid, e.Mode)
	}
	if len(e.AllowPorts) > MaxAllowEntries || len(e.AllowCIDRs) > MaxAllowEntries {
		return p, fmt.Errorf("%w: Egress: more than %d allowed ports or CIDRs", ErrInvalid, MaxAllowEntries)
	}
	if len(e.AllowPorts) > 0 {
		p.flags |= uint32(bpf.VigilEgressFlagsEGRESS_PORTS)
	}
	for _, port := range e.AllowPorts {
		if port == 0 {
			return p, fmt.Errorf("%w: Egress.AllowPorts: port 0", ErrInvalid)
		}
		p.ports = append(p.ports, bpf.VigilPortKey{Cgid: cgid, Port: port})
	}
	if len(e.AllowCIDRs) > 0 {
		p.flags |= uint32(bpf.VigilEgressFlagsEGRESS_CIDRS)
	}
	for _, pr := range e.AllowCIDRs {
		if !pr.IsValid() || pr.Addr().Zone() != "" {
			return p, fmt.Errorf("%w: Egress.AllowCIDRs: %q", ErrInvalid, pr)
		}
		addr, bits := addrKey(pr)
		k := bpf.VigilAllowKey{Prefixlen: 64 + uint32(bits), Addr: addr}
		binary.NativeEndian.PutUint64(k.Cgid[:], cgid)
		p.allow = append(p.allow, k)
	}
	if len(e.DenyFiles) > 0 {
		files, err := cleanFiles(e.DenyFiles)
		if err != nil {
			return p, err
		}
		p.denyFiles = files
		p.denyID = DenySetID(files)
	}
	return p, nil
}

// addrKey is a prefix in the kernel's 16-byte form: IPv4 as IPv4-mapped
// IPv6, its length counted in that form.
func addrKey(pr netip.Prefix) ([16]byte, int) {
	pr = pr.Masked()
	a := pr.Addr()
	if a.Is4() {
		return a.As16(), 96 + pr.Bits()
	}
	return a.As16(), pr.Bits()
}

func cleanFiles(files []string) ([]string, error) {
	out := make([]string, 0, len(files))
	for _, f := range files {
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("%w: Egress.DenyFiles: %q is not an absolute path", ErrInvalid, f)
		}
		out = append(out, filepath.Clean(f))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// DenySetID is the node-wide id of the deny set made of files: the same
// list of files (in any order) always has the same id, never 0.
func DenySetID(files []string) uint64 {
	clean := make([]string, 0, len(files))
	for _, f := range files {
		clean = append(clean, filepath.Clean(f))
	}
	slices.Sort(clean)
	clean = slices.Compact(clean)
	h := sha256.New()
	for _, f := range clean {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	id := binary.LittleEndian.Uint64(h.Sum(nil))
	if id == 0 {
		id = 1
	}
	return id
}

// writeEgress writes a container's allowed ports and CIDRs.
func (m *Monitor) writeEgress(p egressPlan) error {
	one := uint8(1)
	for i := range p.ports {
		if err := m.objs.egressPorts.Put(&p.ports[i], one); err != nil {
			return fmt.Errorf("egress_ports[%d]: %w", p.ports[i].Port, err)
		}
	}
	for i := range p.allow {
		if err := m.objs.egressAllow.Put(&p.allow[i], one); err != nil {
			return fmt.Errorf("egress_allow[%v/%d]: %w", netip.AddrFrom16(p.allow[i].Addr), p.allow[i].Prefixlen-64, err)
		}
	}
	return nil
}

// purgeEgress removes a container's allowed ports and CIDRs.
func (m *Monitor) purgeEgress(cgid uint64) error {
	return errors.Join(
		purge[bpf.VigilPortKey](m.objs.egressPorts, func(k *bpf.VigilPortKey) bool { return k.Cgid == cgid }),
		purge[bpf.VigilAllowKey](m.objs.egressAllow, func(k *bpf.VigilAllowKey) bool {
			return binary.NativeEndian.Uint64(k.Cgid[:]) == cgid
		}),
	)
}

// DenySet describes a deny set loaded in the kernel.
type DenySet struct {
	ID    uint64
	Files []string
	// Entries is the number of distinct prefixes of the files.
	Entries int
	// SHA256 is the digest of the files' contents, in order.
	SHA256 [32]byte
	// Reloaded is true when this call replaced the kernel's set (false:
	// it already held these contents).
	Reloaded bool
}

// SyncDenySet re-reads the files of a deny set in use and, when their
// contents changed, replaces the kernel's set with one update: connects
// see the old set or the new one, never a mix. A file that cannot be read
// or parsed leaves the old set in force and returns the error. Shims
// serialize on the node lock, so every shim watching the same files can
// call it. Files that no registered container names return
// ErrDenySetUnused.
func (m *Monitor) SyncDenySet(files []string) (DenySet, error) {
	clean, err := cleanFiles(files)
	if err != nil {
		return DenySet{}, err
	}
	var ds DenySet
	err = m.withNodeLock(func() error {
		var err error
		ds, err = m.loadDenySet(clean, false)
		return err
	})
	return ds, err
}

// withNodeLock runs fn holding the node-wide lock that serializes deny set
// changes between shims.
func (m *Monitor) withNodeLock(fn func() error) error {
	unlock, err := lockFile(m.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// loadDenySet makes the kernel's set for files match their contents. The
// caller holds the node lock. With create false, a set that is not loaded
// is not created (ErrDenySetUnused).
func (m *Monitor) loadDenySet(files []string, create bool) (DenySet, error) {
	ds := DenySet{ID: DenySetID(files), Files: files}
	var meta bpf.VigilDenySetMeta
	haveMeta := m.objs.denyMeta.Lookup(ds.ID, &meta) == nil
	var innerID uint32
	loaded := m.objs.denySets.Lookup(ds.ID, &innerID) == nil
	if !loaded && !create {
		return ds, fmt.Errorf("%w: %v", ErrDenySetUnused, files)
	}
	data, sum, err := readFeeds(files)
	if err != nil {
		return ds, err
	}
	ds.SHA256 = sum
	if loaded && haveMeta && meta.Sum == sum {
		ds.Entries = int(meta.Entries)
		return ds, nil
	}
	prefixes, err := parseFeeds(files, data)
	if err != nil {
		return ds, err
	}
	if len(prefixes) > MaxDenyEntries {
		return ds, fmt.Errorf("%w: deny files %v: %d entries, at most %d", ErrInvalid, files, len(prefixes), MaxDenyEntries)
	}
	trie, err := m.buildTrie(prefixes)
	if err != nil {
		return ds, err
	}
	defer trie.Close()
	// One update swaps the whole set for every container using it.
	if err := m.objs.denySets.Put(ds.ID, trie); err != nil {
		return ds, fmt.Errorf("deny_sets[%#x]: %w", ds.ID, err)
	}
	meta = bpf.VigilDenySetMeta{Sum: sum, Entries: uint32(len(prefixes)), LoadedNs: uint64(time.Now().UnixNano())}
	if err := m.objs.denyMeta.Put(ds.ID, &meta); err != nil {
		return ds, fmt.Errorf("deny_meta[%#x]: %w", ds.ID, err)
	}
	ds.Entries = len(prefixes)
	ds.Reloaded = true
	return ds, nil
}

// readFeeds reads the files and returns their contents and the digest of
// all of them.
func readFeeds(files []string) ([][]byte, [32]byte, error) {
	h := sha256.New()
	data := make([][]byte, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, [32]byte{}, fmt.Errorf("deny file: %w", err)
		}
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write([]byte(f))
		h.Write(n[:])
		h.Write(b)
		data = append(data, b)
	}
	return data, [32]byte(h.Sum(nil)), nil
}

// parseFeeds parses the files' contents into one list of distinct
// prefixes.
func parseFeeds(files []string, data [][]byte) ([]netip.Prefix, error) {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for i, f := range files {
		ps, err := ParseFeed(data[i], f)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// buildTrie creates a deny trie holding prefixes.
func (m *Monitor) buildTrie(prefixes []netip.Prefix) (*ebpf.Map, error) {
	trie, err := ebpf.NewMap(m.objs.denyTrieSpec)
	if err != nil {
		return nil, fmt.Errorf("%w: create deny trie: %w", ErrLoad, err)
	}
	keys := make([]bpf.VigilDenyKey, len(prefixes))
	vals := make([]uint8, len(prefixes))
	for i, p := range prefixes {
		addr, bits := addrKey(p)
		keys[i] = bpf.VigilDenyKey{Prefixlen: uint32(bits), Addr: addr}
		vals[i] = 1
	}
	if len(keys) == 0 {
		return trie, nil
	}
	_, err = trie.BatchUpdate(keys, vals, nil)
	if errors.Is(err, ebpf.ErrNotSupported) {
		err = nil
		for i := range keys {
			if err = trie.Put(&keys[i], vals[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		trie.Close()
		return nil, fmt.Errorf("fill deny trie: %w", err)
	}
	return trie, nil
}

// gcDenySet removes a deny set no registered container names any more.
// The caller holds m.mu.
func (m *Monitor) gcDenySet(id uint64) error {
	return m.withNodeLock(func() error {
		var (
			cgid uint64
			cfg  bpf.VigilContainerCfg
		)
		it := m.objs.containers.Iterate()
		for it.Next(&cgid, &cfg) {
			if cfg.DenySet == id {
				return nil
			}
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("iterate containers: %w", err)
		}
		var errs []error
		if err := m.objs.denySets.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("deny_sets[%#x]: %w", id, err))
		}
		if err := m.objs.denyMeta.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("deny_meta[%#x]: %w", id, err))
		}
		return errors.Join(errs...)
	})
}

// DenySets lists the deny sets loaded on the node.
func (m *Monitor) DenySets() ([]DenySet, error) {
	var (
		id   uint64
		meta bpf.VigilDenySetMeta
		out  []DenySet
	)
	it := m.objs.denyMeta.Iterate()
	for it.Next(&id, &meta) {
		out = append(out, DenySet{ID: id, Entries: int(meta.Entries), SHA256: meta.Sum})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate deny_meta: %w", err)
	}
	return out, nil
}

// DenySetReader looks addresses up in a deny set loaded in the kernel, the
// way the socket programs do (the same trie, the same lookup).
type DenySetReader struct {
	trie *ebpf.Map
}

// OpenDenySet opens the kernel's deny set of files; ErrDenySetUnused when
// no registered container names them.
func (m *Monitor) OpenDenySet(files []string) (*DenySetReader, error) {
	clean, err := cleanFiles(files)
	if err != nil {
		return nil, err
	}
	var id uint32
	if err := m.objs.denySets.Lookup(DenySetID(clean), &id); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrDenySetUnused, clean)
		}
		return nil, fmt.Errorf("deny_sets: %w", err)
	}
	trie, err := ebpf.NewMapFromID(ebpf.MapID(id))
	if err != nil {
		return nil, fmt.Errorf("deny set %v: %w", clean, err)
	}
	return &DenySetReader{trie: trie}, nil
}

// Contains reports whether a connect to addr would meet the deny set.
func (r *DenySetReader) Contains(addr netip.Addr) (bool, error) {
	// As16 of an IPv4 address is its IPv4-mapped form, as in the kernel.
	k := bpf.VigilDenyKey{Prefixlen: 128, Addr: addr.Unmap().As16()}
	var v uint8
	err := r.trie.Lookup(&k, &v)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ebpf.ErrKeyNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("deny set lookup %v: %w", addr, err)
	}
}

// Close releases the reader.
func (r *DenySetReader) Close() error { return r.trie.Close() }
