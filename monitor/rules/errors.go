package rules

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors wrapped by the *Error values Load returns.
var (
	// ErrYAML: a rules file is not valid YAML or not a list of items.
	ErrYAML = errors.New("invalid rules YAML")
	// ErrInvalidItem: an item lacks a required key or has a value of the
	// wrong shape.
	ErrInvalidItem = errors.New("invalid rules item")
	// ErrInvalidPriority: a priority is not one of Falco's names.
	ErrInvalidPriority = errors.New("invalid priority")
	// ErrCondition: a condition does not parse (see condition.ErrSyntax).
	ErrCondition = errors.New("invalid condition")
	// ErrUndefined: a condition names a macro that is not defined, or an
	// append/override names an item that does not exist.
	ErrUndefined = errors.New("undefined name")
	// ErrUnknownField: a condition names a field no Falco source defines.
	ErrUnknownField = errors.New("unknown field")
	// ErrInvalidValue: a value does not fit its field or operator
	// (`fd.sport = http`, a bad regex, an operator the field's type lacks).
	ErrInvalidValue = errors.New("invalid value")
)

// Error is one problem found while loading rules. It names the file, the
// line and the item ("rule 'Shell Spawned in Container'").
type Error struct {
	File string
	Line int
	Item string
	Msg  string
	Err  error // one of the sentinels above
}

func (e *Error) Error() string {
	return location(e.File, e.Line, e.Item) + e.Msg
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem one Load found; Load returns it as its error.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warning is a problem that does not stop a rule from loading: something
// Falco warns about, or a construct vigil accepts where Falco would not.
type Warning struct {
	File string
	Line int
	Item string
	Msg  string
}

func (w Warning) String() string { return location(w.File, w.Line, w.Item) + w.Msg }

func location(file string, line int, item string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		if line > 0 {
			fmt.Fprintf(&b, ":%d", line)
		}
		b.WriteString(": ")
	}
	if item != "" {
		b.WriteString(item)
		b.WriteString(": ")
	}
	return b.String()
}
