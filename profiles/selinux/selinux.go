package selinux

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vigil-dev/vigil/profiles"
)

// ErrInvalidLabel: a label that is not user:role:type[:level].
var ErrInvalidLabel = errors.New("invalid SELinux label")

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	sensRe  = regexp.MustCompile(`^s([0-9]+)$`)
	catRe   = regexp.MustCompile(`^c([0-9]+)$`)
)

// ValidateLabel checks label's syntax (not whether the loaded policy
// defines its parts).
func ValidateLabel(label string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidLabel, label, fmt.Sprintf(format, args...))
	}
	parts := strings.SplitN(label, ":", 4)
	if len(parts) < 3 {
		return fail("want user:role:type[:level], got %d field(s)", len(parts))
	}
	for i, field := range []string{"user", "role", "type"} {
		if !identRe.MatchString(parts[i]) {
			return fail("%s %q is not an identifier", field, parts[i])
		}
	}
	if len(parts) == 4 {
		if err := validateRange(parts[3]); err != nil {
			return fail("level %q: %v", parts[3], err)
		}
	}
	return nil
}

// validateRange checks low[-high], each sensitivity[:categories].
func validateRange(r string) error {
	low, high, isRange := strings.Cut(r, "-")
	ls, err := validateLevel(low)
	if err != nil {
		return err
	}
	if isRange {
		hs, err := validateLevel(high)
		if err != nil {
			return err
		}
		if hs < ls {
			return fmt.Errorf("high sensitivity s%d is below low s%d", hs, ls)
		}
	}
	return nil
}

func validateLevel(l string) (int, error) {
	sens, cats, hasCats := strings.Cut(l, ":")
	m := sensRe.FindStringSubmatch(sens)
	if m == nil {
		return 0, fmt.Errorf("sensitivity %q is not s<N>", sens)
	}
	s, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("sensitivity %q: %w", sens, err)
	}
	if !hasCats {
		return s, nil
	}
	if cats == "" {
		return 0, errors.New("empty category set after ':'")
	}
	for _, c := range strings.Split(cats, ",") {
		lo, hi, isSpan := strings.Cut(c, ".")
		a, err := category(lo)
		if err != nil {
			return 0, err
		}
		if isSpan {
			b, err := category(hi)
			if err != nil {
				return 0, err
			}
			if b <= a {
				return 0, fmt.Errorf("category range %q does not go up", c)
			}
		}
	}
	return s, nil
}

func category(c string) (int, error) {
	m := catRe.FindStringSubmatch(c)
	if m == nil {
		return 0, fmt.Errorf("category %q is not c<N>", c)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("category %q: %w", c, err)
	}
	return n, nil
}

// Host is the SELinux side of the machine.
type Host interface {
	// Enabled reports whether SELinux labels can be applied; when not,
	// reason says what showed it.
	Enabled() (ok bool, reason string)
}

// Outcome is what Apply did.
type Outcome struct {
	Label   string
	Mode    profiles.Mode
	Applied bool   // process.selinuxLabel was set
	Skipped string // "skipped: <reason>" for a best-effort label not applied
}

// Apply puts label on spec's process in mode ("required" or "best-effort",
// the default) on host. An empty label changes nothing.
func Apply(spec *specs.Spec, label, mode string, host Host) (Outcome, error) {
	m, err := profiles.ParseMode(mode, profiles.Required, profiles.BestEffort)
	if err != nil {
		return Outcome{}, fmt.Errorf("selinux label %q: %w", label, err)
	}
	out := Outcome{Label: label, Mode: m}
	if label == "" {
		return out, nil
	}
	if err := ValidateLabel(label); err != nil {
		return out, err
	}
	if spec == nil {
		return out, errors.New("selinux: nil spec")
	}
	ok, reason := false, "no SELinux host"
	if host != nil {
		ok, reason = host.Enabled()
	}
	if !ok {
		if m == profiles.BestEffort {
			out.Skipped = "skipped: " + reason
			return out, nil
		}
		return out, fmt.Errorf("selinux label %q is required: %w: %s", label, profiles.ErrUnavailable, reason)
	}
	if spec.Process == nil {
		spec.Process = &specs.Process{}
	}
	spec.Process.SelinuxLabel = label
	out.Applied = true
	return out, nil
}
