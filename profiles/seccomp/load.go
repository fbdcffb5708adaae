package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ProfileError is a problem in a profile, located by file, line and field.
type ProfileError struct {
	File  string // path or built-in name
	Line  int    // 1-based; 0 when unknown
	Field string // JSON path such as "syscalls[3].names[2]"; "" for the document
	Msg   string
	Kind  error // a more specific sentinel (ErrUnknownSyscall), or nil
}

func (e *ProfileError) Error() string {
	var b strings.Builder
	b.WriteString("seccomp profile ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes the error match ErrInvalidProfile and its Kind.
func (e *ProfileError) Unwrap() []error {
	if e.Kind != nil {
		return []error{ErrInvalidProfile, e.Kind}
	}
	return []error{ErrInvalidProfile}
}

// Load parses, validates and resolves one profile document. file names it
// in errors and becomes Resolved.Source. Moby profiles are resolved for the
// host architecture and spec's bounding capabilities (spec may be nil: no
// capabilities). Runtime needs are not added; Resolve does that.
func Load(data []byte, file string, spec *specs.Spec) (*Resolved, error) {
	return load(data, file, spec, false)
}

// load is Load; lenient turns syscalls unknown to libseccomp into warnings
// (for moby's default profile, which lists syscalls newer than the installed
// libseccomp; runc ignores those too).
func load(data []byte, file string, spec *specs.Spec, lenient bool) (*Resolved, error) {
	root, err := parseTree(data)
	if err != nil {
		var pe *posError
		if errors.As(err, &pe) {
			return nil, &ProfileError{File: file, Line: lineOf(data, pe.off), Msg: pe.msg}
		}
		return nil, &ProfileError{File: file, Msg: err.Error()}
	}
	v := validator{data: data, file: file}
	format := v.profile(root)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	var warnings []string
	if len(v.unknown) > 0 {
		if !lenient {
			return nil, errors.Join(v.unknown...)
		}
		warnings = append(warnings, fmt.Sprintf("%s: %d syscall(s) unknown to libseccomp %s on %s are ignored by runc: %s",
			file, len(v.unknownNames), libseccompVersion(), v.archName(), strings.Join(v.unknownNames, ", ")))
	}

	var out *specs.LinuxSeccomp
	switch format {
	case FormatMoby:
		out, err = mobyseccomp.LoadProfile(string(data), mobySpec(spec))
	default:
		out = new(specs.LinuxSeccomp)
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return nil, &ProfileError{File: file, Msg: err.Error()}
	}
	if out == nil {
		// Unreachable after validation (defaultAction is required), but a
		// nil filter here would silently mean "unconfined".
		return nil, &ProfileError{File: file, Msg: "profile resolved to no filter"}
	}
	return &Resolved{Seccomp: out, Source: file, Format: format, Warnings: warnings}, nil
}

// mobySpec returns a spec whose process capabilities are non-nil, as
// moby's includes/excludes evaluation dereferences them.
func mobySpec(spec *specs.Spec) *specs.Spec {
	if spec != nil && spec.Process != nil && spec.Process.Capabilities != nil {
		return spec
	}
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	if spec != nil && spec.Process != nil {
		p := *spec.Process
		p.Capabilities = &specs.LinuxCapabilities{}
		s.Process = &p
	}
	return s
}
