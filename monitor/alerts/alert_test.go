package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// eventTime is the instant of the golden alerts.
var eventTime = time.Date(2026, 12, 3, 19, 9, 10, 123456789, time.UTC)

// TestFalcoAlertRoundTrip decodes a line in Falco's own json_output format
// and encodes it again: the bytes must not change, so vigil's encoder emits
// Falco's field names, order, time format and escaping.
func TestFalcoAlertRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/falco-alert.json", "testdata/vigil-alert.json"} {
		t.Run(file, func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want = bytes.TrimSpace(want)
			var a Alert
			if err := json.Unmarshal(want, &a); err != nil {
				t.Fatal(err)
			}
			if err := a.Validate(); err != nil {
				t.Fatalf("golden alert invalid: %v", err)
			}
			got, err := Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("re-encoded alert differs\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// TestNewAlertGolden builds the vigil golden alert from parts.
func TestNewAlertGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/vigil-alert.json")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 20, 9, 10, 0, time.FixedZone("CET", 3600))
	a := NewAlert(at, "Sensitive File Access", PriorityCritical,
		"Sensitive file opened for reading (user=root file=/etc/shadow container=web image=nginx)",
		map[string]any{
			"container.id":               "4f2a6c1b9e3d",
			"container.image.repository": "nginx",
			"container.name":             "web",
			"fd.name":                    "/etc/shadow",
			"proc.name":                  "cat",
			"user.name":                  "root",
		}, []string{"container", "filesystem"})
	a.Hostname = "node-1"
	a.Vigil = &Vigil{Action: ActionDeny, KernelAction: "denied", Policy: "strict", ContainerID: "4f2a6c1b9e3d8a7b", Namespace: "k8s.io", Sensor: "fanotify"}
	got, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("alert differs from golden\n got: %s\nwant: %s", got, want)
	}
}

func TestAlertJSONKeys(t *testing.T) {
	a := NewAlert(eventTime, "r", PriorityNotice, "m", map[string]any{"proc.name": "sh"}, nil)
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// Falco's keys; vigil is omitted when nil; tags is [] not null.
	for _, k := range []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	if len(m) != 8 {
		t.Errorf("got %d keys, want 8: %s", len(m), b)
	}
	if string(m["tags"]) != "[]" || string(m["source"]) != `"syscall"` || string(m["priority"]) != `"Notice"` {
		t.Errorf("tags/source/priority = %s %s %s", m["tags"], m["source"], m["priority"])
	}
}

func TestTimeFormat(t *testing.T) {
	tests := []struct {
		name       string
		in         time.Time
		wantTime   string
		wantOutput string
	}{
		{"nanoseconds", eventTime, "2026-12-03T19:09:10.123456789Z", "19:09:10.123456789: Error m"},
		{"whole second keeps nine digits", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000000000Z", "03:04:05.000000000: Error m"},
		{"trailing zeros kept", time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC), "2026-01-02T03:04:05.120000000Z", "03:04:05.120000000: Error m"},
		{"converted to UTC", time.Date(2026, 1, 2, 1, 4, 5, 7, time.FixedZone("X", -2*3600)), "2026-01-02T03:04:05.000000007Z", "03:04:05.000000007: Error m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAlert(tt.in, "r", PriorityError, "m", map[string]any{"proc.name": "x"}, nil)
			if a.Output != tt.wantOutput {
				t.Errorf("Output = %q, want %q", a.Output, tt.wantOutput)
			}
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			var w struct{ Time string }
			if err := json.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			if w.Time != tt.wantTime {
				t.Errorf("time = %q, want %q", w.Time, tt.wantTime)
			}
			var back Alert
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !back.Time.Equal(tt.in) {
				t.Errorf("time round trip: %v, want %v", back.Time, tt.in)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := NewAlert(eventTime, "r", PriorityWarning, "m", map[string]any{"proc.name": "sh"}, nil)
	if err := good.Validate(); err != nil {
		t.Fatalf("valid alert: %v", err)
	}
	tests := []struct {
		field string
		edit  func(*Alert)
	}{
		{"priority", func(a *Alert) { a.Priority = 0 }},
		{"rule", func(a *Alert) { a.Rule = "" }},
		{"time", func(a *Alert) { a.Time = time.Time{} }},
		{"output", func(a *Alert) { a.Output = "" }},
		{"output_fields", func(a *Alert) { a.OutputFields = map[string]any{} }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			a := good
			tt.edit(&a)
			err := a.Validate()
			if !errors.Is(err, ErrInvalidAlert) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("Validate() = %v, want ErrInvalidAlert naming %q", err, tt.field)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		`{"priority":"Loud","rule":"r"}`,
		`{"priority":"Warning","time":"yesterday"}`,
		`{"tags":"notalist"}`,
		`[`,
	} {
		var a Alert
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %+v", in, a)
		}
	}
}

func FuzzAlertJSON(f *testing.F) {
	for _, file := range []string{"testdata/falco-alert.json", "testdata/vigil-alert.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"priority":"info","time":"2026-01-01T00:00:00+02:00"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var a Alert
		if err := json.Unmarshal(in, &a); err != nil {
			return
		}
		first, err := json.Marshal(a)
		if err != nil {
			if a.Priority.Valid() {
				t.Fatalf("Marshal of decoded alert with priority %v: %v", a.Priority, err)
			}
			return
		}
		var b Alert
		if err := json.Unmarshal(first, &b); err != nil {
			t.Fatalf("re-decoding %s: %v", first, err)
		}
		second, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding not stable:\n%s\n%s", first, second)
		}
	})
}
