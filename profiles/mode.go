package profiles

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Mode says how strictly an LSM profile must be applied.
type Mode string

// Modes. The empty string means BestEffort, the policy default.
const (
	// Required refuses the container when the host cannot apply the profile.
	Required Mode = "required"
	// BestEffort applies the profile when the host can and otherwise starts
	// the container without it, reporting why.
	BestEffort Mode = "best-effort"
	// Emulate leaves the kernel LSM alone; vigil's monitor enforces the
	// profile's deny rules instead (AppArmor only).
	Emulate Mode = "emulate"
)

var (
	// ErrUnavailable: the host cannot apply a profile that is required.
	ErrUnavailable = errors.New("not available on this host")
	// ErrInvalidMode: a mode that is unknown or not allowed for the LSM.
	ErrInvalidMode = errors.New("invalid profile mode")
)

// ParseMode returns the mode s names, which must be one of allowed. The
// empty string is BestEffort.
func ParseMode(s string, allowed ...Mode) (Mode, error) {
	m := Mode(s)
	if m == "" {
		m = BestEffort
	}
	if !slices.Contains(allowed, m) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return "", fmt.Errorf("%w %q (want %s)", ErrInvalidMode, s, strings.Join(names, ", "))
	}
	return m, nil
}
