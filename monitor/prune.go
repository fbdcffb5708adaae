package monitor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
)

// Prune removes the entries of cgroups that no longer exist, what shims
// that died without Unregister left behind, and the ring buffers of shims
// that died without Close.
// It returns the number of cgroups removed. Entries of live cgroups, this
// Monitor's or another's, are kept.
func (m *Monitor) Prune() (int, error) {
	root, err := UnifiedMount()
	if err != nil {
		return 0, err
	}
	live := map[uint64]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			live[st.Ino] = true
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("walk %s: %w", root, err)
	}

	var (
		id   uint64
		val  []byte
		dead = map[uint64]bool{}
	)
	it := m.objs.containers.Iterate()
	for it.Next(&id, &val) {
		if !live[id] {
			dead[id] = true
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("iterate containers: %w", err)
	}
	// Rings of shims that died without Close: their process is gone.
	var (
		ring  uint64
		rb    uint32
		rings []uint64
	)
	it = m.objs.eventRings.Iterate()
	for it.Next(&ring, &rb) {
		if pid := int(ring >> 32); pid != os.Getpid() && !processExists(pid) {
			rings = append(rings, ring)
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("iterate event_rings: %w", err)
	}
	var errs []error
	for _, r := range rings {
		if err := m.objs.eventRings.Delete(r); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("event_rings[%#x]: %w", r, err))
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs == nil {
		return 0, ErrClosed
	}
	for id := range dead {
		errs = append(errs, m.unregisterLocked(id))
	}
	return len(dead), errors.Join(errs...)
}

// PruneDue is Prune run at most once per interval on the node: the first
// Monitor to call it after interval has passed since the last run (a stamp
// file beside Options.LockPath) prunes, the others return 0 at once. Shims
// call it when they start, so walking the cgroup tree is not a cost of
// every container.
func (m *Monitor) PruneDue(interval time.Duration) (int, error) {
	stamp := m.lockPath + ".pruned"
	if st, err := os.Stat(stamp); err == nil && time.Since(st.ModTime()) < interval {
		return 0, nil
	}
	// Claim this run before the walk, so shims starting meanwhile skip it.
	now := time.Now()
	if err := os.WriteFile(stamp, nil, 0o600); err != nil {
		return 0, err
	}
	if err := os.Chtimes(stamp, now, now); err != nil {
		return 0, err
	}
	return m.Prune()
}

// processExists says whether a process with this id is alive.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
