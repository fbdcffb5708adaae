package alerts

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Output delivers alerts somewhere.
type Output interface {
	// Send hands a over for delivery. It never blocks for long and never
	// fails: an output that cannot deliver counts the alert in its Stats.
	Send(a Alert)
	// Close flushes what can be flushed and releases the output. Send
	// after Close drops the alert.
	Close() error
}

// Stats counts what an output did with the alerts it was given.
type Stats struct {
	Sent     uint64 // delivered (a 2xx answer, a written line)
	Failed   uint64 // given up after errors (retries exhausted, write failed)
	Dropped  uint64 // never attempted: queue full, or output closed
	Filtered uint64 // below the output's minimum priority
}

// StatsReporter is implemented by outputs that count their work.
type StatsReporter interface {
	Stats() Stats
}

// ErrInvalidConfig is wrapped by every configuration error; the message
// names the field.
var ErrInvalidConfig = errors.New("invalid alerts configuration")

// Config selects the outputs [New] builds. The zero Config builds a Fanout
// with no outputs: alerts are discarded.
type Config struct {
	// File, if set, is the path of a JSON-lines file alerts are appended to.
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	// Webhook, if set, POSTs alerts to an HTTP endpoint (falcosidekick).
	Webhook *WebhookConfig `json:"webhook,omitempty" yaml:"webhook,omitempty"`
}

// New builds a Fanout with the outputs cfg selects. The file output gets
// every alert; the webhook gets alerts at or above its MinimumPriority.
func New(cfg Config) (*Fanout, error) {
	f := &Fanout{}
	if cfg.File != "" {
		out, err := NewFile(cfg.File)
		if err != nil {
			return nil, err
		}
		f.Add("file", out, PriorityDebug)
	}
	if cfg.Webhook != nil {
		out, err := NewWebhook(*cfg.Webhook)
		if err != nil {
			return nil, errors.Join(err, f.Close())
		}
		f.Add("webhook", out, out.cfg.MinimumPriority)
	}
	return f, nil
}

// Fanout sends each alert to every output whose minimum priority the alert
// meets. It is itself an Output. The zero Fanout is ready to use.
type Fanout struct {
	mu      sync.RWMutex
	routes  []route
	invalid atomic.Uint64
}

type route struct {
	name string
	out  Output
	min  Priority
}

// Add registers out under name; it receives alerts at or above min (an
// invalid min, such as 0, lets every alert through).
func (f *Fanout) Add(name string, out Output, min Priority) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, route{name: name, out: out, min: min})
}

// Send validates a and hands it to every output whose minimum it meets. An
// alert that fails [Alert.Validate] goes nowhere and is counted in Invalid.
func (f *Fanout) Send(a Alert) {
	if a.Validate() != nil {
		f.invalid.Add(1)
		return
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, r := range f.routes {
		if r.min.Valid() && a.Priority < r.min {
			continue
		}
		r.out.Send(a)
	}
}

// Invalid is the number of alerts Send refused because they failed
// [Alert.Validate].
func (f *Fanout) Invalid() uint64 { return f.invalid.Load() }

// Stats returns the counters of every output that keeps them, by name.
func (f *Fanout) Stats() map[string]Stats {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m := make(map[string]Stats, len(f.routes))
	for _, r := range f.routes {
		if s, ok := r.out.(StatsReporter); ok {
			m[r.name] = s.Stats()
		}
	}
	return m
}

// Close closes every output, in parallel (each may wait for its own drain
// deadline), and joins their errors.
func (f *Fanout) Close() error {
	f.mu.Lock()
	routes := f.routes
	f.routes = nil
	f.mu.Unlock()
	errs := make([]error, len(routes))
	var wg sync.WaitGroup
	for i, r := range routes {
		wg.Go(func() {
			if err := r.out.Close(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", r.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
