package alerts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func readLines(t *testing.T, path string) []Alert {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Alert
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %d %q: %v", len(out)+1, sc.Text(), err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFileLinesParseBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	// An existing line must survive: the file is appended to.
	prior := []byte(`{"hostname":"h","output":"o","output_fields":{"a":"b"},"priority":"Notice","rule":"old","source":"syscall","tags":[],"time":"2026-01-01T00:00:00.000000000Z"}` + "\n")
	if err := os.WriteFile(path, prior, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sent := []Alert{testAlert(PriorityWarning, "one"), testAlert(PriorityCritical, "two <&>"), testAlert(PriorityDebug, "three")}
	sent[1].Vigil = &Vigil{Action: ActionKill, KernelAction: "killed"}
	for _, a := range sent {
		o.Send(a)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if s := o.Stats(); s != (Stats{Sent: 3}) {
		t.Errorf("stats %+v", s)
	}
	got := readLines(t, path)
	if len(got) != 4 || got[0].Rule != "old" {
		t.Fatalf("got %d lines (first rule %q), want the old line and 3 new", len(got), got[0].Rule)
	}
	for i, a := range sent {
		want, _ := Marshal(a)
		have, _ := Marshal(got[i+1])
		if !bytes.Equal(want, have) {
			t.Errorf("line %d:\n got %s\nwant %s", i+2, have, want)
		}
	}
	o.Send(sent[0])
	if s := o.Stats(); s.Dropped != 1 {
		t.Errorf("Send after Close: %+v, want 1 dropped", s)
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	o, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestFileConcurrentLinesIntact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	o, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				o.Send(testAlert(PriorityNotice, "concurrent"))
			}
		})
	}
	wg.Wait()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != workers*each {
		t.Fatalf("%d lines, want %d", len(got), workers*each)
	}
}

func TestFileErrors(t *testing.T) {
	_, err := NewFile(filepath.Join(t.TempDir(), "missing-dir", "alerts.jsonl"))
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("NewFile in a missing directory: %v", err)
	}
	o, err := NewFile(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	bad := testAlert(PriorityNotice, "r")
	bad.Priority = 0 // cannot be encoded
	o.Send(bad)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if s := o.Stats(); s != (Stats{Failed: 1}) {
		t.Errorf("stats %+v, want 1 failed", s)
	}
}
