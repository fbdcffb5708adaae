package alerts

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in      string
		want    Priority
		wantErr bool
	}{
		{in: "Emergency", want: PriorityEmergency},
		{in: "ALERT", want: PriorityAlert},
		{in: "critical", want: PriorityCritical},
		{in: "Error", want: PriorityError},
		{in: "WARNING", want: PriorityWarning},
		{in: "notice", want: PriorityNotice},
		{in: "Informational", want: PriorityInformational},
		{in: "INFO", want: PriorityInformational},
		{in: "info", want: PriorityInformational},
		{in: "debug", want: PriorityDebug},
		{in: "", wantErr: true},
		{in: " warning", wantErr: true},
		{in: "warn", wantErr: true},
		{in: "informationa", wantErr: true},
		{in: "err", wantErr: true},
		{in: "7", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePriority(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownPriority) {
					t.Fatalf("ParsePriority(%q) = %v, %v; want ErrUnknownPriority", tt.in, got, err)
				}
				if !strings.Contains(err.Error(), "\""+tt.in+"\"") {
					t.Errorf("error %q does not quote the input", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePriority(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPriorityOrderAndNames(t *testing.T) {
	// Falco's names, least severe first.
	names := []string{"Debug", "Informational", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"}
	var prev Priority
	for _, name := range names {
		p, err := ParsePriority(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != name {
			t.Errorf("%v.String() = %q, want %q", int(p), p.String(), name)
		}
		if p <= prev {
			t.Errorf("%s (%d) does not rank above %s (%d)", p, int(p), prev, int(prev))
		}
		prev = p
	}
	for _, p := range []Priority{0, -1, PriorityEmergency + 1} {
		if p.Valid() {
			t.Errorf("Priority(%d).Valid() = true", int(p))
		}
		if _, err := p.MarshalText(); err == nil {
			t.Errorf("Priority(%d).MarshalText() succeeded", int(p))
		}
	}
}

func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{"Emergency", "alert", "CRITICAL", "error", "Warning", "notice", "info", "Informational", "debug", "", "warn", "ınfo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePriority(s)
		if err != nil {
			if !errors.Is(err, ErrUnknownPriority) {
				t.Fatalf("ParsePriority(%q): error %v does not wrap ErrUnknownPriority", s, err)
			}
			return
		}
		if !p.Valid() {
			t.Fatalf("ParsePriority(%q) = invalid %d without error", s, int(p))
		}
		if !strings.EqualFold(s, p.String()) && !(p == PriorityInformational && strings.EqualFold(s, "info")) {
			t.Fatalf("ParsePriority(%q) = %v, a different name", s, p)
		}
		text, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Priority
		if err := back.UnmarshalText(text); err != nil || back != p {
			t.Fatalf("round trip of %v: %v, %v", p, back, err)
		}
	})
}
