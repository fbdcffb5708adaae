package alerts

import (
	"errors"
	"fmt"
	"strings"
)

// Priority is a Falco rule priority. Higher values are more severe; the zero
// value is not a priority and is rejected wherever one is required.
type Priority int

// Falco's priorities, least severe first.
const (
	PriorityDebug Priority = iota + 1
	PriorityInformational
	PriorityNotice
	PriorityWarning
	PriorityError
	PriorityCritical
	PriorityAlert
	PriorityEmergency
)

// ErrUnknownPriority is returned for a string that names no Falco priority.
var ErrUnknownPriority = errors.New("unknown priority")

// priorityNames holds Falco's spelling of each priority, indexed by value.
var priorityNames = [...]string{
	PriorityDebug:         "Debug",
	PriorityInformational: "Informational",
	PriorityNotice:        "Notice",
	PriorityWarning:       "Warning",
	PriorityError:         "Error",
	PriorityCritical:      "Critical",
	PriorityAlert:         "Alert",
	PriorityEmergency:     "Emergency",
}

// ParsePriority parses a priority the way Falco's rule loader does: the
// names Emergency, Alert, Critical, Error, Warning, Notice, Informational
// (or Info) and Debug, in any letter case, with no surrounding space.
func ParsePriority(s string) (Priority, error) {
	for p := PriorityDebug; p <= PriorityEmergency; p++ {
		if strings.EqualFold(s, priorityNames[p]) {
			return p, nil
		}
	}
	if strings.EqualFold(s, "info") {
		return PriorityInformational, nil
	}
	return 0, fmt.Errorf("%w %q (want one of emergency, alert, critical, error, warning, notice, informational, debug)", ErrUnknownPriority, s)
}

// Valid reports whether p is one of Falco's priorities.
func (p Priority) Valid() bool {
	return p >= PriorityDebug && p <= PriorityEmergency
}

// String returns Falco's spelling ("Warning"), or "Priority(n)" for a value
// that is not a priority.
func (p Priority) String() string {
	if !p.Valid() {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// MarshalText encodes p in Falco's spelling; it fails for an invalid p so an
// alert without a priority is never written.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownPriority, int(p))
	}
	return []byte(priorityNames[p]), nil
}

// UnmarshalText parses a priority with [ParsePriority].
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
