package alerts

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recorder is an Output that keeps what it is sent.
type recorder struct {
	mu     sync.Mutex
	rules  []string
	closed bool
	err    error
}

func (r *recorder) Send(a Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, a.Rule)
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.err
}

func (r *recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Sent: uint64(len(r.rules))}
}

func TestFanoutMinimumPriority(t *testing.T) {
	all, warn, crit := &recorder{}, &recorder{}, &recorder{}
	f := &Fanout{}
	f.Add("all", all, 0)
	f.Add("warn", warn, PriorityWarning)
	f.Add("crit", crit, PriorityCritical)
	for _, p := range []Priority{PriorityDebug, PriorityNotice, PriorityWarning, PriorityError, PriorityCritical, PriorityEmergency} {
		f.Send(testAlert(p, p.String()))
	}
	bad := testAlert(PriorityEmergency, "invalid")
	bad.OutputFields = nil
	f.Send(bad)
	if f.Invalid() != 1 {
		t.Errorf("Invalid() = %d, want 1", f.Invalid())
	}
	want := map[*recorder][]string{
		all:  {"Debug", "Notice", "Warning", "Error", "Critical", "Emergency"},
		warn: {"Warning", "Error", "Critical", "Emergency"},
		crit: {"Critical", "Emergency"},
	}
	for r, w := range want {
		if !slices.Equal(r.rules, w) {
			t.Errorf("output got %v, want %v", r.rules, w)
		}
	}
	if s := f.Stats(); s["all"].Sent != 6 || s["warn"].Sent != 4 || s["crit"].Sent != 2 {
		t.Errorf("Stats() = %v", s)
	}
	warn.err = errors.New("boom")
	err := f.Close()
	if err == nil || !strings.Contains(err.Error(), "warn: boom") {
		t.Errorf("Close() = %v, want the warn output's error", err)
	}
	if !all.closed || !warn.closed || !crit.closed {
		t.Error("not every output was closed")
	}
}

func TestNewFromConfig(t *testing.T) {
	var accepted atomic.Int64
	srv := httptest.NewServer(sidekick(func(sidekickPayload) { accepted.Add(1) }))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	f, err := New(Config{File: path, Webhook: &WebhookConfig{URL: srv.URL, MinimumPriority: PriorityError}})
	if err != nil {
		t.Fatal(err)
	}
	f.Send(testAlert(PriorityWarning, "w"))
	f.Send(testAlert(PriorityCritical, "c"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != 2 {
		t.Errorf("file has %d lines, want 2", len(got))
	}
	if accepted.Load() != 1 {
		t.Errorf("webhook accepted %d, want 1", accepted.Load())
	}
}

func TestNewConfigErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Config{File: filepath.Join(dir, "a.jsonl"), Webhook: &WebhookConfig{URL: "nope"}})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "webhook.url:") {
		t.Fatalf("New() = %v, want an error naming webhook.url", err)
	}
	_, err = New(Config{File: filepath.Join(dir, "no", "a.jsonl")})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "file:") {
		t.Fatalf("New() = %v, want an error naming file", err)
	}
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.Send(testAlert(PriorityEmergency, "nowhere"))
	if len(f.Stats()) != 0 || f.Close() != nil {
		t.Error("empty config should build an empty fanout")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.jsonl")); err != nil {
		t.Errorf("file output of the failed New: %v", err)
	}
}
