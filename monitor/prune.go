package monitor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Prune removes the entries of cgroups that no longer exist: what shims
// that died without Unregister left behind (their ring buffers included).
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
	var rb uint32
	it = m.objs.eventsByCgroup.Iterate()
	for it.Next(&id, &rb) {
		if !live[id] {
			dead[id] = true
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("iterate events_by_cgroup: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs == nil {
		return 0, ErrClosed
	}
	var errs []error
	for id := range dead {
		errs = append(errs, m.unregisterLocked(id))
	}
	return len(dead), errors.Join(errs...)
}
