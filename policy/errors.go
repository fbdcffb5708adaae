package policy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrInvalid is matched by every *Errors: the configuration is malformed.
	ErrInvalid = errors.New("invalid vigil configuration")
	// ErrInsecureFile means that a configuration file read by root is not
	// owned by root or is writable by group or others.
	ErrInsecureFile = errors.New("insecure configuration file")
)

// Pos is where a setting was written: its file, line and column (1-based)
// and its field path, such as "policies[0].seccomp". The zero Pos (File "")
// stands for the built-in default.
type Pos struct {
	File   string
	Line   int
	Column int
	Field  string
}

// String formats the position as "file:line:column"; the built-in default
// formats as "built-in default".
func (p Pos) String() string {
	if p.File == "" && p.Line == 0 {
		return "built-in default"
	}
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	return b.String()
}

// Errorf returns an Error at p for p's field. Later stages (profile
// resolution, rule loading) use it to report problems at the right line.
func (p Pos) Errorf(format string, args ...any) Error {
	return Error{File: p.File, Line: p.Line, Column: p.Column, Field: p.Field, Msg: fmt.Sprintf(format, args...)}
}

// Error is one problem in a configuration file.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem concerns the whole file
	Column int // 1-based; 0 when unknown
	Field  string
	Msg    string
}

// Error formats the problem as "file:line:column: field: message".
func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" || e.Line > 0 {
		b.WriteString(Pos{File: e.File, Line: e.Line, Column: e.Column}.String())
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors collects every problem found in a configuration. It matches
// ErrInvalid with errors.Is.
type Errors struct {
	List []Error
}

// Error joins the problems one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }

// Add appends a problem.
func (e *Errors) Add(x Error) { e.List = append(e.List, x) }

// Err returns e sorted by file and position, or nil when e holds no problem.
func (e *Errors) Err() error {
	if e == nil || len(e.List) == 0 {
		return nil
	}
	sort.SliceStable(e.List, func(i, j int) bool {
		a, b := e.List[i], e.List[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return e
}
