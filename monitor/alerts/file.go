package alerts

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// File appends alerts to a file, one JSON object per line. Each line is
// written with a single write(2) on an O_APPEND descriptor, so concurrent
// writers never interleave lines. Lines are not synced one by one; Close
// syncs.
type File struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
	stats  Stats
}

// NewFile opens path for appending, creating it with mode 0600.
func NewFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: file: %w", ErrInvalidConfig, err)
	}
	return &File{f: f}, nil
}

// Send appends a as one line. A write that fails is counted in Failed.
func (o *File) Send(a Alert) {
	line, err := Marshal(a)
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		o.stats.Dropped++
	case err != nil:
		o.stats.Failed++
	default:
		if _, err := o.f.Write(append(line, '\n')); err != nil {
			o.stats.Failed++
			return
		}
		o.stats.Sent++
	}
}

// Stats returns the output's counters.
func (o *File) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// Close syncs and closes the file.
func (o *File) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return errors.Join(o.f.Sync(), o.f.Close())
}
