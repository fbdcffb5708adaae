package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook defaults and bounds.
const (
	DefaultWebhookTimeout = 5 * time.Second
	DefaultWebhookQueue   = 1024
	DefaultWebhookRetries = 3
	DefaultWebhookBackoff = 200 * time.Millisecond
	DefaultDrainTimeout   = 5 * time.Second

	MaxWebhookRetries = 10
	MaxWebhookQueue   = 1 << 20
	maxBackoff        = 5 * time.Second
)

// ErrDrainTimeout is returned by [Webhook.Close] when alerts were still
// queued or in flight at the drain deadline.
var ErrDrainTimeout = errors.New("webhook drain deadline passed")

// WebhookConfig configures a [Webhook]. Zero durations and sizes take the
// defaults above.
type WebhookConfig struct {
	// URL receives one POST per alert with the alert as a JSON body
	// (falcosidekick: "http://falcosidekick:2801/").
	URL string `json:"url" yaml:"url"`
	// MinimumPriority drops alerts below it; zero sends every alert.
	MinimumPriority Priority `json:"minimumPriority,omitempty" yaml:"minimumPriority,omitempty"`
	// Timeout bounds one POST attempt.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Queue is how many alerts may wait for delivery; more are dropped.
	Queue int `json:"queue,omitempty" yaml:"queue,omitempty"`
	// Retries is how many times a failed POST (network error, 408, 429,
	// 5xx) is retried; other answers are final. Zero takes the default,
	// negative means never retry, at most MaxWebhookRetries.
	Retries int `json:"retries,omitempty" yaml:"retries,omitempty"`
	// Backoff is the wait before the first retry; it doubles on each
	// further retry, up to 5s.
	Backoff time.Duration `json:"backoff,omitempty" yaml:"backoff,omitempty"`
	// DrainTimeout bounds how long Close keeps delivering queued alerts.
	DrainTimeout time.Duration `json:"drainTimeout,omitempty" yaml:"drainTimeout,omitempty"`
}

// withDefaults validates c and fills in its defaults. Errors name the field.
func (c WebhookConfig) withDefaults() (WebhookConfig, error) {
	bad := func(field, format string, args ...any) (WebhookConfig, error) {
		return c, fmt.Errorf("%w: webhook.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return bad("url", "empty")
	case err != nil:
		return bad("url", "%v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("url", "%q: scheme must be http or https", c.URL)
	case u.Host == "":
		return bad("url", "%q: no host", c.URL)
	case c.MinimumPriority != 0 && !c.MinimumPriority.Valid():
		return bad("minimumPriority", "%v is not a Falco priority", c.MinimumPriority)
	case c.Timeout < 0:
		return bad("timeout", "%v is negative", c.Timeout)
	case c.Queue < 0 || c.Queue > MaxWebhookQueue:
		return bad("queue", "%d is outside 0..%d", c.Queue, MaxWebhookQueue)
	case c.Retries > MaxWebhookRetries:
		return bad("retries", "%d is more than %d", c.Retries, MaxWebhookRetries)
	case c.Backoff < 0:
		return bad("backoff", "%v is negative", c.Backoff)
	case c.DrainTimeout < 0:
		return bad("drainTimeout", "%v is negative", c.DrainTimeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultWebhookTimeout
	}
	if c.Queue == 0 {
		c.Queue = DefaultWebhookQueue
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultWebhookRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultWebhookBackoff
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	return c, nil
}

// Webhook POSTs alerts to a URL from one background goroutine, in order.
// Send only enqueues: it never waits for the network.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client

	mu     sync.RWMutex // guards closed and the send side of queue
	closed bool
	queue  chan Alert

	ctx    context.Context // canceled at the drain deadline
	cancel context.CancelFunc
	done   chan struct{}

	sent, failed, dropped, filtered atomic.Uint64
}

// NewWebhook validates cfg and starts the delivery goroutine.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("webhook: http.DefaultTransport is a %T, not an *http.Transport", http.DefaultTransport)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{
		cfg:    cfg,
		client: &http.Client{Transport: tr.Clone()},
		queue:  make(chan Alert, cfg.Queue),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Send enqueues a, or counts it as Filtered (below MinimumPriority) or
// Dropped (queue full, or Close called). It never blocks on delivery.
func (w *Webhook) Send(a Alert) {
	if w.cfg.MinimumPriority.Valid() && a.Priority < w.cfg.MinimumPriority {
		w.filtered.Add(1)
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return
	}
	select {
	case w.queue <- a:
	default:
		w.dropped.Add(1)
	}
}

// Stats returns the output's counters. After Close returns,
// Sent+Failed+Dropped+Filtered equals the number of Send calls.
func (w *Webhook) Stats() Stats {
	return Stats{
		Sent:     w.sent.Load(),
		Failed:   w.failed.Load(),
		Dropped:  w.dropped.Load(),
		Filtered: w.filtered.Load(),
	}
}

// Close stops accepting alerts and keeps delivering the queued ones for at
// most DrainTimeout. Alerts still queued at the deadline are counted as
// Dropped, one in flight as Failed, and Close returns [ErrDrainTimeout].
func (w *Webhook) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()

	defer w.client.CloseIdleConnections()
	timer := time.NewTimer(w.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-timer.C:
	}
	before := w.dropped.Load() + w.failed.Load()
	w.cancel()
	<-w.done
	lost := w.dropped.Load() + w.failed.Load() - before
	return fmt.Errorf("%w after %v: %d alerts undelivered", ErrDrainTimeout, w.cfg.DrainTimeout, lost)
}

func (w *Webhook) run() {
	defer close(w.done)
	for a := range w.queue {
		if w.ctx.Err() != nil {
			w.dropped.Add(1)
			continue
		}
		w.deliver(a)
	}
}

// deliver POSTs a, retrying with exponential backoff, and counts the outcome.
func (w *Webhook) deliver(a Alert) {
	body, err := Marshal(a)
	if err != nil {
		w.failed.Add(1)
		return
	}
	backoff := w.cfg.Backoff
	for attempt := 0; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			w.sent.Add(1)
			return
		}
		if !retry || attempt >= w.cfg.Retries {
			w.failed.Add(1)
			return
		}
		select {
		case <-w.ctx.Done():
			w.failed.Add(1)
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// post makes one attempt. It reports whether a failure is worth retrying.
func (w *Webhook) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil")
	resp, err := w.client.Do(req)
	if err != nil {
		return w.ctx.Err() == nil, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return true, fmt.Errorf("webhook: %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook: %s", resp.Status)
	}
}
