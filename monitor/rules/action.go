package rules

import "strings"

// Action is what vigil does when a rule matches.
type Action int

const (
	// Alert reports the match.
	Alert Action = iota
	// Kill reports the match and kills the offending process's container task.
	Kill
)

func (a Action) String() string {
	if a == Kill {
		return "kill"
	}
	return "alert"
}

// DefaultKillAt is the priority at or above which enforce mode kills when
// no policy says otherwise.
const DefaultKillAt = PriorityCritical

// Decide picks the action for a matched rule.
//
// mode "audit" (any case) always alerts. Otherwise kill and alertOnly list
// rule names or "tag:<tag>" selectors: a rule selected by kill is killed
// whatever else applies; a rule selected by alertOnly only alerts; any
// other rule is killed when its priority is killAt or more severe (killAt
// NoPriority disables that).
func Decide(r *Rule, mode string, killAt Priority, kill, alertOnly []string) Action {
	if strings.EqualFold(mode, "audit") {
		return Alert
	}
	if selects(r, kill) {
		return Kill
	}
	if selects(r, alertOnly) {
		return Alert
	}
	if r.priority.AtLeast(killAt) {
		return Kill
	}
	return Alert
}

// selects reports whether any selector (a rule name or tag:<tag>) picks r.
func selects(r *Rule, selectors []string) bool {
	for _, s := range selectors {
		if tag, ok := strings.CutPrefix(s, "tag:"); ok {
			if r.HasTag(tag) {
				return true
			}
			continue
		}
		if s == r.name {
			return true
		}
	}
	return false
}
