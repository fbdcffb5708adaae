package seccomp

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Built-in profile names.
const (
	RuntimeDefault = "runtime/default"
	Hardened       = "hardened"
	Unconfined     = "unconfined"
)

// Errors callers can test with errors.Is.
var (
	// ErrNotFound: the name is neither a built-in nor an existing file.
	ErrNotFound = errors.New("seccomp profile not found")
	// ErrInvalidProfile: the profile could not be parsed or failed validation.
	ErrInvalidProfile = errors.New("invalid seccomp profile")
	// ErrUnknownSyscall: a syscall name that libseccomp does not know for
	// the target architecture; it also matches ErrInvalidProfile.
	ErrUnknownSyscall = errors.New("unknown syscall")
	// ErrRuntimeNeedDenied: the profile explicitly denies a syscall runc
	// needs after installing the filter, so the container could never start.
	ErrRuntimeNeedDenied = errors.New("profile denies a syscall the runtime needs")
)

// Format is the JSON dialect a profile was written in.
type Format string

// Formats.
const (
	FormatMoby Format = "moby" // Docker/moby: archMap, includes/excludes, ...
	FormatOCI  Format = "oci"  // runtime-spec LinuxSeccomp
)

// Resolved is a profile ready to be put in an OCI spec.
type Resolved struct {
	// Seccomp is the filter; nil means unconfined.
	Seccomp *specs.LinuxSeccomp
	// Source is the built-in name or the profile file's path.
	Source string
	// Format is the dialect of the source ("" for unconfined).
	Format Format
	// Added lists the syscalls allowed on top of the profile because runc
	// needs them (see RuntimeNeeds); callers surface them as a warning.
	Added []string
	// Warnings are non-fatal findings, e.g. syscalls of a built-in profile
	// that this libseccomp does not know (runc ignores those).
	Warnings []string
}

//go:embed builtin/hardened.json
var hardenedJSON []byte

// Names returns the built-in profile names.
func Names() []string { return []string{RuntimeDefault, Hardened, Unconfined} }

// Resolve turns name into a filter for spec (see the package doc for how
// names are found). spec supplies the bounding capabilities used by moby
// includes/excludes and process.noNewPrivileges used by RuntimeNeeds; it is
// not modified and may be nil.
func Resolve(name, profilesDir string, spec *specs.Spec) (*Resolved, error) {
	var (
		r   *Resolved
		err error
	)
	switch name {
	case Unconfined:
		return &Resolved{Source: Unconfined}, nil
	case "", RuntimeDefault:
		// The start path: moby resolves its own default directly (tens of
		// microseconds); resolveDefaultChecked, the validated path, is
		// tested to give the same filter.
		r, err = resolveDefaultFast(spec)
	case Hardened:
		r, err = load(hardenedJSON, Hardened, spec, false)
	default:
		var path string
		path, err = findFile(name, profilesDir)
		if err != nil {
			return nil, err
		}
		var body []byte
		body, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
		}
		r, err = load(body, path, spec, false)
	}
	if err != nil {
		return nil, err
	}
	added, err := EnsureRuntimeNeeds(r.Seccomp, spec)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", r.Source, err)
	}
	r.Added = added
	return r, nil
}

// findFile maps a profile name to a file path.
func findFile(name, profilesDir string) (string, error) {
	if filepath.IsAbs(name) {
		if err := isRegular(name); err != nil {
			return "", fmt.Errorf("seccomp profile %s: %w: %w", name, ErrNotFound, err)
		}
		return name, nil
	}
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("seccomp profile %q: a relative name must stay inside the profiles directory: %w", name, ErrNotFound)
	}
	if profilesDir == "" {
		return "", fmt.Errorf("seccomp profile %q is not a built-in (%s) and no profiles directory is configured: %w",
			name, strings.Join(Names(), ", "), ErrNotFound)
	}
	base := filepath.Join(profilesDir, "seccomp", name)
	tried := []string{base}
	if !strings.HasSuffix(name, ".json") {
		tried = append(tried, base+".json")
	}
	for _, p := range tried {
		if isRegular(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("seccomp profile %q is not a built-in (%s) and none of %s exists: %w",
		name, strings.Join(Names(), ", "), strings.Join(tried, ", "), ErrNotFound)
}

func isRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// resolveDefaultFast resolves the moby default profile for spec without
// re-validating it.
func resolveDefaultFast(spec *specs.Spec) (*Resolved, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}, Linux: &specs.Linux{}}
	if spec != nil && spec.Process != nil && spec.Process.Capabilities != nil {
		rs.Process.Capabilities = spec.Process.Capabilities
	}
	p, err := mobyseccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", RuntimeDefault, err)
	}
	return &Resolved{Seccomp: p, Source: RuntimeDefault, Format: FormatMoby}, nil
}

// resolveDefaultChecked resolves the moby default profile through the same
// validation as a user's file.
func resolveDefaultChecked(spec *specs.Spec) (*Resolved, error) {
	body, err := json.MarshalIndent(mobyseccomp.DefaultProfile(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: encode moby default: %w", RuntimeDefault, err)
	}
	return load(body, RuntimeDefault, spec, true)
}
