package response

import "sync"

// Ring keeps the last N items added (a container's recent alerts). It is
// safe for concurrent use.
type Ring struct {
	mu   sync.Mutex
	buf  [][]byte
	next int
	full bool
}

// NewRing returns a ring of n items (at least 1).
func NewRing(n int) *Ring {
	if n < 1 {
		n = 1
	}
	return &Ring{buf: make([][]byte, n)}
}

// Add records b, dropping the oldest item when the ring is full.
func (r *Ring) Add(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = b
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Items returns the recorded items, oldest first.
func (r *Ring) Items() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([][]byte(nil), r.buf[:r.next]...)
	}
	return append(append([][]byte(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}
