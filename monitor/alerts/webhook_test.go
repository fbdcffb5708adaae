package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sidekickPayload mirrors falcosidekick's types.FalcoPayload.
type sidekickPayload struct {
	UUID         string         `json:"uuid,omitempty"`
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags,omitempty"`
	Hostname     string         `json:"hostname,omitempty"`
}

// sidekickPriorities are the names falcosidekick's PriorityType accepts
// (compared lowercased); anything else decodes to its empty Default.
var sidekickPriorities = map[string]bool{
	"emergency": true, "alert": true, "critical": true, "error": true,
	"warning": true, "notice": true, "informational": true, "debug": true,
}

// sidekick validates a request the way falcosidekick's mainHandler does:
// POST only, a JSON body, then FalcoPayload.Check (known priority,
// non-empty rule, non-zero time, non-empty output_fields) → 200, else 400.
// Accepted payloads are passed to accept.
func sidekick(accept func(sidekickPayload)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "Please send with post http method", http.StatusBadRequest)
			return
		}
		var p sidekickPayload
		d := json.NewDecoder(r.Body)
		d.UseNumber()
		if err := d.Decode(&p); err != nil ||
			!sidekickPriorities[strings.ToLower(p.Priority)] ||
			p.Rule == "" || p.Time.IsZero() || len(p.OutputFields) == 0 {
			http.Error(w, "Please send a valid request body", http.StatusBadRequest)
			return
		}
		if accept != nil {
			accept(p)
		}
	}
}

func testAlert(p Priority, rule string) Alert {
	return NewAlert(time.Now(), rule, p, "Shell spawned (container=web)", map[string]any{
		"container.id": "4f2a6c1b9e3d", "container.name": "web", "proc.name": "sh",
	}, []string{"container", "shell"})
}

// waitStats polls until cond holds for w's stats or fails the test.
func waitStats(t *testing.T, w *Webhook, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := w.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the expected state: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSidekickValidator checks the stand-in server really rejects what
// falcosidekick rejects, so the tests below mean something.
func TestSidekickValidator(t *testing.T) {
	srv := httptest.NewServer(sidekick(nil))
	defer srv.Close()
	good, err := Marshal(testAlert(PriorityWarning, "r"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		body   string
		want   int
	}{
		{"vigil alert", http.MethodPost, string(good), 200},
		{"GET", http.MethodGet, string(good), 400},
		{"not JSON", http.MethodPost, "{", 400},
		{"unknown priority", http.MethodPost, `{"output":"o","priority":"Loud","rule":"r","time":"2026-01-01T00:00:00Z","output_fields":{"a":1}}`, 400},
		{"no rule", http.MethodPost, `{"output":"o","priority":"Warning","time":"2026-01-01T00:00:00Z","output_fields":{"a":1}}`, 400},
		{"no time", http.MethodPost, `{"output":"o","priority":"Warning","rule":"r","output_fields":{"a":1}}`, 400},
		{"no fields", http.MethodPost, `{"output":"o","priority":"Warning","rule":"r","time":"2026-01-01T00:00:00Z","output_fields":{}}`, 400},
		{"sidekick test event", http.MethodPost, `{"output":"This is a test from falcosidekick","priority":"Debug","rule":"Test rule","time":"2026-01-01T00:00:00Z","output_fields":{"proc.name":"falcosidekick"}}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestWebhookDelivers(t *testing.T) {
	var mu sync.Mutex
	var got []sidekickPayload
	srv := httptest.NewServer(sidekick(func(p sidekickPayload) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(PriorityCritical, "Terminal shell in container")
	a.Vigil = &Vigil{Action: ActionKill, ContainerID: "4f2a6c1b9e3d"}
	w.Send(a)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Sent: 1}) {
		t.Fatalf("stats %+v, want 1 sent", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("server got %d alerts", len(got))
	}
	p := got[0]
	if p.Rule != a.Rule || p.Priority != "Critical" || !p.Time.Equal(a.Time) || p.Output != a.Output ||
		p.Source != "syscall" || p.OutputFields["container.id"] != "4f2a6c1b9e3d" || len(p.Tags) != 2 {
		t.Errorf("server got %+v, sent %+v", p, a)
	}
}

func TestWebhookRejectedNotRetried(t *testing.T) {
	var hits atomic.Int64
	h := sidekick(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Retries: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bad := testAlert(PriorityWarning, "r")
	bad.OutputFields = nil // falcosidekick answers 400
	w.Send(bad)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Failed: 1}) || hits.Load() != 1 {
		t.Fatalf("stats %+v after %d requests; want 1 failed after 1 request", s, hits.Load())
	}
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	var hits atomic.Int64
	var accepted atomic.Int64
	h := sidekick(func(sidekickPayload) { accepted.Add(1) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		h(w, r)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Retries: 3, Backoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Send(testAlert(PriorityError, "r"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Sent: 1}) || hits.Load() != 3 || accepted.Load() != 1 {
		t.Fatalf("stats %+v, %d requests, %d accepted; want 1 sent after 3 requests", s, hits.Load(), accepted.Load())
	}
}

func TestWebhookRetriesBounded(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Retries: 2, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Send(testAlert(PriorityError, "r"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Failed: 1}) || hits.Load() != 3 {
		t.Fatalf("stats %+v after %d requests; want 1 failed after 3 requests", s, hits.Load())
	}
}

func TestWebhookConnectionRefusedRetried(t *testing.T) {
	srv := httptest.NewServer(sidekick(nil))
	url := srv.URL
	srv.Close() // nothing listens there any more
	w, err := NewWebhook(WebhookConfig{URL: url, Retries: 1, Backoff: time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w.Send(testAlert(PriorityError, "r"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Failed: 1}) {
		t.Fatalf("stats %+v, want 1 failed", s)
	}
}

func TestWebhookMinimumPriority(t *testing.T) {
	var mu sync.Mutex
	var rules []string
	srv := httptest.NewServer(sidekick(func(p sidekickPayload) {
		mu.Lock()
		defer mu.Unlock()
		rules = append(rules, p.Rule+"/"+p.Priority)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, MinimumPriority: PriorityError})
	if err != nil {
		t.Fatal(err)
	}
	w.Send(testAlert(PriorityWarning, "a"))
	w.Send(testAlert(PriorityError, "b"))
	w.Send(testAlert(PriorityDebug, "c"))
	w.Send(testAlert(PriorityEmergency, "d"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Sent: 2, Filtered: 2}) {
		t.Errorf("stats %+v, want 2 sent 2 filtered", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(rules) != "[b/Error d/Emergency]" {
		t.Errorf("server got %v", rules)
	}
}

// TestWebhookSlowReceiverNeverBlocksSend: the receiver takes forever, yet
// every Send returns at once; what does not fit the queue is dropped and
// counted, and nothing goes missing from the counters.
func TestWebhookSlowReceiverNeverBlocksSend(t *testing.T) {
	release := make(chan struct{})
	var accepted atomic.Int64
	h := sidekick(func(sidekickPayload) { accepted.Add(1) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		h(w, r)
	}))
	defer srv.Close()
	const queue, n = 8, 500
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Queue: queue, Timeout: 30 * time.Second, DrainTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(PriorityWarning, "r")
	var slowest time.Duration
	start := time.Now()
	for range n {
		t0 := time.Now()
		w.Send(a)
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	// A Send that waited for the receiver would take forever; allow for a
	// loaded CI machine but nothing close to a network round trip.
	if slowest > 20*time.Millisecond || total > 200*time.Millisecond {
		t.Errorf("%d sends took %v, slowest %v", n, total, slowest)
	}
	// At most the queue plus the one alert in flight are kept.
	if d := w.Stats().Dropped; d < n-queue-1 {
		t.Errorf("dropped %d, want at least %d", d, n-queue-1)
	}
	close(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Sent+s.Failed+s.Dropped != n || s.Failed != 0 || s.Sent != uint64(accepted.Load()) || s.Sent < queue {
		t.Errorf("stats %+v, accepted %d; want sent+dropped = %d, sent >= %d", s, accepted.Load(), n, queue)
	}
}

func TestWebhookCloseDrains(t *testing.T) {
	var accepted atomic.Int64
	srv := httptest.NewServer(sidekick(func(sidekickPayload) { accepted.Add(1) }))
	defer srv.Close()
	const n = 50
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Queue: n})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		w.Send(testAlert(PriorityWarning, "r"))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s != (Stats{Sent: n}) || accepted.Load() != n {
		t.Fatalf("stats %+v, accepted %d; want all %d sent", s, accepted.Load(), n)
	}
	w.Send(testAlert(PriorityWarning, "late"))
	if s := w.Stats(); s.Dropped != 1 {
		t.Errorf("Send after Close: stats %+v, want 1 dropped", s)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWebhookCloseDeadline(t *testing.T) {
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stuck)
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Timeout: time.Minute, DrainTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for range n {
		w.Send(testAlert(PriorityWarning, "r"))
	}
	start := time.Now()
	err = w.Close()
	if !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Close() = %v, want ErrDrainTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a 100ms drain deadline", d)
	}
	if s := w.Stats(); s.Sent != 0 || s.Failed+s.Dropped != n {
		t.Errorf("stats %+v, want all %d failed or dropped", s, n)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%d alerts undelivered", n)) {
		t.Errorf("error %q does not count the %d undelivered alerts", err, n)
	}
}

func TestWebhookConfig(t *testing.T) {
	tests := []struct {
		name  string
		cfg   WebhookConfig
		field string // "" for valid
	}{
		{"valid", WebhookConfig{URL: "http://falcosidekick:2801/"}, ""},
		{"https", WebhookConfig{URL: "https://h/x", Retries: -1}, ""},
		{"empty url", WebhookConfig{}, "webhook.url"},
		{"relative url", WebhookConfig{URL: "/x"}, "webhook.url"},
		{"ftp url", WebhookConfig{URL: "ftp://h/"}, "webhook.url"},
		{"no host", WebhookConfig{URL: "http:///x"}, "webhook.url"},
		{"bad url", WebhookConfig{URL: "http://[::1"}, "webhook.url"},
		{"priority", WebhookConfig{URL: "http://h/", MinimumPriority: 42}, "webhook.minimumPriority"},
		{"timeout", WebhookConfig{URL: "http://h/", Timeout: -1}, "webhook.timeout"},
		{"queue", WebhookConfig{URL: "http://h/", Queue: -1}, "webhook.queue"},
		{"queue too big", WebhookConfig{URL: "http://h/", Queue: MaxWebhookQueue + 1}, "webhook.queue"},
		{"retries", WebhookConfig{URL: "http://h/", Retries: MaxWebhookRetries + 1}, "webhook.retries"},
		{"backoff", WebhookConfig{URL: "http://h/", Backoff: -time.Second}, "webhook.backoff"},
		{"drain", WebhookConfig{URL: "http://h/", DrainTimeout: -time.Second}, "webhook.drainTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Timeout <= 0 || got.Queue <= 0 || got.Retries < 0 || got.Backoff <= 0 || got.DrainTimeout <= 0 {
					t.Errorf("defaults not filled: %+v", got)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("error %v, want ErrInvalidConfig naming %s", err, tt.field)
			}
			if _, err := NewWebhook(tt.cfg); err == nil {
				t.Error("NewWebhook accepted the config")
			}
		})
	}
}
