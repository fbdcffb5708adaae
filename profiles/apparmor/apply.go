package apparmor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vigil-dev/vigil/profiles"
)

// Errors callers can test with errors.Is (see also profiles.ErrUnavailable
// and profiles.ErrInvalidMode).
var (
	ErrNotFound       = errors.New("apparmor profile not found")
	ErrInvalidProfile = errors.New("invalid apparmor profile")
	ErrLoad           = errors.New("cannot load apparmor profile")
)

// Unconfined is the name that asks for no AppArmor profile.
const Unconfined = "unconfined"

// SystemDir is where the host's AppArmor includes (tunables, abstractions)
// live.
const SystemDir = "/etc/apparmor.d"

// Source is a profile's text and where it came from.
type Source struct {
	Name string // the name the profile declares
	Text string // "" for a profile only found loaded in the kernel
	From string // "builtin", the file path, or "kernel"
}

// Find returns the text of profile: the built-in vigil-default (rendered for
// this host) or the file <profilesDir>/apparmor/<profile>. A profile with no
// file that host reports loaded is found without text.
func Find(profile, profilesDir string, host Host) (Source, error) {
	if profile == DefaultProfile {
		text, err := Generate(HostParams(SystemDir))
		return Source{Name: DefaultProfile, Text: text, From: "builtin"}, err
	}
	var tried error
	switch {
	case profilesDir == "":
		tried = errors.New("no profiles directory is configured")
	case !filepath.IsLocal(profile):
		tried = fmt.Errorf("%q cannot be a file name inside %s", profile, filepath.Join(profilesDir, "apparmor"))
	default:
		path := filepath.Join(profilesDir, "apparmor", profile)
		b, err := os.ReadFile(path)
		if err == nil {
			name, err := ProfileName(string(b))
			if err != nil {
				return Source{}, fmt.Errorf("apparmor profile %s: %w", path, err)
			}
			return Source{Name: name, Text: string(b), From: path}, nil
		}
		tried = err
	}
	if host != nil {
		if ok, _ := host.Enabled(); ok && host.Loaded(profile) {
			return Source{Name: profile, From: "kernel"}, nil
		}
	}
	return Source{}, fmt.Errorf("%w: %q is not %s, not loaded in the kernel, and %w", ErrNotFound, profile, DefaultProfile, tried)
}

// Outcome is what Apply did.
type Outcome struct {
	Profile string        // the declared profile name
	Mode    profiles.Mode // the mode applied
	From    string        // see Source.From
	// Applied is true when process.apparmorProfile was set.
	Applied bool
	// Skipped says why a best-effort profile was not applied:
	// "skipped: <reason>"; callers log it and record an annotation.
	Skipped string
	// DenyRules are the profile's exec/write deny rules (emulate mode).
	DenyRules []DenyRule
}

// Apply puts profile on spec's process in mode (required, best-effort, the
// default, or emulate) on host:
//   - "" and "unconfined" change nothing.
//   - required: the host must have AppArmor and load the profile, else an
//     error naming the profile and the reason (wrapping
//     profiles.ErrUnavailable or ErrLoad).
//   - best-effort: like required, but a host that cannot apply it yields an
//     Outcome with Skipped set and the spec unchanged.
//   - emulate: the spec is unchanged and nothing is loaded; Outcome carries
//     the profile's deny rules for the monitor.
//
// process.apparmorProfile is only set once host is enabled and has the
// profile loaded, so runc never gets a profile it would fail on. A missing
// or malformed profile is an error in every mode.
func Apply(spec *specs.Spec, profile, mode, profilesDir string, host Host) (Outcome, error) {
	m, err := profiles.ParseMode(mode, profiles.Required, profiles.BestEffort, profiles.Emulate)
	if err != nil {
		return Outcome{}, fmt.Errorf("apparmor profile %q: %w", profile, err)
	}
	out := Outcome{Profile: profile, Mode: m}
	if profile == "" || profile == Unconfined {
		return out, nil
	}
	src, err := Find(profile, profilesDir, host)
	if err != nil {
		return out, err
	}
	out.Profile, out.From = src.Name, src.From

	if m == profiles.Emulate {
		if src.Text == "" {
			return out, fmt.Errorf("apparmor profile %q: emulate mode needs the profile's text, but it is only loaded in the kernel", profile)
		}
		rules, err := ParseDenyRules(src.Text)
		if err != nil {
			return out, fmt.Errorf("apparmor profile %s: %w", src.From, err)
		}
		out.DenyRules = rules
		return out, nil
	}

	if spec == nil {
		return out, errors.New("apparmor: nil spec")
	}
	if err := load(host, src); err != nil {
		if m == profiles.BestEffort {
			out.Skipped = "skipped: " + err.Error()
			return out, nil
		}
		return out, fmt.Errorf("apparmor profile %q is required: %w", src.Name, err)
	}
	if spec.Process == nil {
		spec.Process = &specs.Process{}
	}
	spec.Process.ApparmorProfile = src.Name
	out.Applied = true
	return out, nil
}

// load makes sure host has src loaded.
func load(host Host, src Source) error {
	if host == nil {
		return fmt.Errorf("%w: no AppArmor host", profiles.ErrUnavailable)
	}
	if ok, reason := host.Enabled(); !ok {
		return fmt.Errorf("%w: %s", profiles.ErrUnavailable, reason)
	}
	if src.Text != "" {
		if err := host.Load(src.Name, src.Text); err != nil {
			return err
		}
	}
	if !host.Loaded(src.Name) {
		return fmt.Errorf("%w: %s: the kernel does not list the profile after loading it", ErrLoad, src.Name)
	}
	return nil
}
