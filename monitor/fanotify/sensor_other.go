//go:build !linux

package fanotify

// Sensor is unavailable off Linux; New returns ErrUnsupported.
type Sensor struct{}

// New returns ErrUnsupported: fanotify is Linux only.
func New() (*Sensor, error) { return nil, ErrUnsupported }

// Watch returns ErrUnsupported.
func (*Sensor) Watch(Watch) (Result, error) { return Result{}, ErrUnsupported }

// WatchMount returns ErrUnsupported.
func (*Sensor) WatchMount(any, string, func(Access)) error { return ErrUnsupported }

// Unwatch returns ErrUnsupported.
func (*Sensor) Unwatch(any) error { return ErrUnsupported }

// Close does nothing.
func (*Sensor) Close() error { return nil }

// Stats returns zero counters.
func (*Sensor) Stats() Stats { return Stats{} }

// GroupLimitFile is the kernel's per-user limit on fanotify groups.
const GroupLimitFile = "/proc/sys/fs/fanotify/max_user_groups"

// GroupLimitRaised returns 0: fanotify is Linux only.
func GroupLimitRaised() int { return 0 }
