package rules

import (
	"fmt"
	"strings"
)

// Priority is a Falco rule priority. Lower values are more severe, as in
// Falco: PriorityEmergency is 0 and PriorityDebug is 7.
type Priority int

// The Falco priorities, most severe first.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

// NoPriority, given as Decide's killAt, means that no priority alone kills.
const NoPriority Priority = -1

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns the name Falco prints in alerts ("Critical", "Warning", ...).
func (p Priority) String() string {
	if p >= 0 && int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	if p == NoPriority {
		return "None"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// AtLeast reports whether p is as severe as q or more.
func (p Priority) AtLeast(q Priority) bool { return q >= 0 && p <= q }

// ParsePriority parses a priority name case-insensitively; "INFO" is
// accepted for INFORMATIONAL, as Falco does.
func ParsePriority(s string) (Priority, error) {
	t := strings.TrimSpace(s)
	for i, n := range priorityNames {
		if strings.EqualFold(t, n) {
			return Priority(i), nil
		}
	}
	if strings.EqualFold(t, "info") {
		return PriorityInformational, nil
	}
	return NoPriority, fmt.Errorf("%w: %q (want one of emergency, alert, critical, error, warning, notice, informational, debug)", ErrInvalidPriority, s)
}
