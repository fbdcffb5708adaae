package profiles

import (
	"errors"
	"testing"
)

func TestParseMode(t *testing.T) {
	all := []Mode{Required, BestEffort, Emulate}
	for _, tc := range []struct {
		in      string
		allowed []Mode
		want    Mode
		wantErr bool
	}{
		{"", all, BestEffort, false},
		{"required", all, Required, false},
		{"best-effort", all, BestEffort, false},
		{"emulate", all, Emulate, false},
		{"emulate", []Mode{Required, BestEffort}, "", true},
		{"strict", all, "", true},
		{"Required", all, "", true},
	} {
		got, err := ParseMode(tc.in, tc.allowed...)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidMode) {
				t.Errorf("ParseMode(%q, %v) err = %v, want ErrInvalidMode", tc.in, tc.allowed, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
