package policy

import (
	"fmt"
	"strings"
)

// Priority is a Falco rule priority. Larger values are more severe, so
// "at or above critical" is p >= PriorityCritical.
type Priority int

// Falco's priorities, least severe first.
const (
	PriorityDebug Priority = iota
	PriorityInformational
	PriorityNotice
	PriorityWarning
	PriorityError
	PriorityCritical
	PriorityAlert
	PriorityEmergency
)

var priorityNames = [...]string{"debug", "informational", "notice", "warning", "error", "critical", "alert", "emergency"}

// priorityWant lists the accepted names, most severe first, for messages.
const priorityWant = "emergency, alert, critical, error, warning, notice, informational, debug"

// ParsePriority parses a Falco priority name, ignoring case; "info" is
// accepted for informational, as Falco does.
func ParsePriority(s string) (Priority, error) {
	l := strings.ToLower(s)
	if l == "info" {
		return PriorityInformational, nil
	}
	for i, n := range priorityNames {
		if l == n {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q (want %s)", s, priorityWant)
}

// String returns Falco's lower-case name of p.
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityNames[p]
}

// MarshalText encodes p as its name.
func (p Priority) MarshalText() ([]byte, error) {
	if p < 0 || int(p) >= len(priorityNames) {
		return nil, fmt.Errorf("invalid priority %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a priority name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
