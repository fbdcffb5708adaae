package monitor

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// MapMemory is the kernel memory of one map, as the kernel accounts it
// (fdinfo "memlock", what `bpftool map show` prints as memlock).
type MapMemory struct {
	Name  string
	Bytes uint64
}

// KernelMemory lists the memory of the shared maps and of this Monitor's
// ring buffer.
func (m *Monitor) KernelMemory() ([]MapMemory, error) {
	maps := []struct {
		name string
		mp   *ebpf.Map
	}{
		{"containers", m.objs.containers},
		{"name_class", m.objs.nameClass},
		{"exe_class", m.objs.exeClass},
		{"event_rings", m.objs.eventRings},
		{"stats", m.objs.stats},
		{"ring buffer (this shim)", m.ring},
	}
	out := make([]MapMemory, 0, len(maps))
	for _, x := range maps {
		b, err := memlock(x.mp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.name, err)
		}
		out = append(out, MapMemory{Name: x.name, Bytes: b})
	}
	return out, nil
}

func memlock(mp *ebpf.Map) (uint64, error) {
	info, err := mp.Info()
	if err != nil {
		return 0, err
	}
	b, _ := info.Memlock()
	return b, nil
}

// ContainerMemory is the kernel memory one registered container costs.
type ContainerMemory struct {
	// Entries is what its entries add to the shared maps (containers,
	// name_class, exe_class).
	Entries uint64
	// RingBuffer is the memory of one shim's ring buffer; it is shared by
	// the containers of one shim (a pod), so a lone container pays it all.
	RingBuffer uint64
}

// Total is the memory of a container that has a ring buffer of its own.
func (c ContainerMemory) Total() uint64 { return c.Entries + c.RingBuffer }

// MeasureContainerMemory registers c under a cgroup id no cgroup can have,
// measures what the shared maps grew by, and unregisters it.
func (m *Monitor) MeasureContainerMemory(c Container) (ContainerMemory, error) {
	const probeID = 1<<63 | 0x7669676c // "vigl"; cgroup ids are small counters
	c.CgroupV2Path = ""                // attachments cost no map memory
	c.InitTGID, c.MntNS = 0, 1
	shared := []*ebpf.Map{m.objs.containers, m.objs.nameClass, m.objs.exeClass}
	sum := func() (uint64, error) {
		var total uint64
		for _, mp := range shared {
			b, err := memlock(mp)
			if err != nil {
				return 0, err
			}
			total += b
		}
		return total, nil
	}
	before, err := sum()
	if err != nil {
		return ContainerMemory{}, err
	}
	if err := m.Register(probeID, c); err != nil {
		return ContainerMemory{}, err
	}
	after, err := sum()
	if uerr := m.Unregister(probeID); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return ContainerMemory{}, err
	}
	ring, err := memlock(m.ring)
	if err != nil {
		return ContainerMemory{}, err
	}
	var res ContainerMemory
	if after > before {
		res.Entries = after - before
	}
	res.RingBuffer = ring
	return res, nil
}
