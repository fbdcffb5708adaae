package policy

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Default locations and names.
const (
	// DefaultPath is the configuration file used when neither the runtime
	// option nor VIGIL_CONFIG names one.
	DefaultPath = "/etc/vigil/config.yaml"
	// EnvConfig is the environment variable that names the configuration file.
	EnvConfig = "VIGIL_CONFIG"
	// DefaultProfilesDir is profiles.dir when the file does not set it.
	DefaultProfilesDir = "/etc/vigil/profiles"
	// DefaultPolicyName is the name of the built-in default policy.
	DefaultPolicyName = "default"
)

// OnError says what happens to a container whose policy cannot be applied.
type OnError string

// OnError values.
const (
	OnErrorRefuse OnError = "refuse" // the container is not created
	OnErrorAllow  OnError = "allow"  // the container runs without the failed part
)

// Mode is the mode of the runtime monitor and of egress control.
type Mode string

// Mode values.
const (
	ModeEnforce Mode = "enforce" // kill / block
	ModeAudit   Mode = "audit"   // alert only
	ModeOff     Mode = "off"
)

// ProfileMode says how strictly an LSM profile must be applied.
type ProfileMode string

// ProfileMode values. Emulate is valid for AppArmor only.
const (
	ProfileRequired   ProfileMode = "required"    // the container is refused if the LSM cannot apply it
	ProfileBestEffort ProfileMode = "best-effort" // applied when the host supports it, skipped otherwise
	ProfileEmulate    ProfileMode = "emulate"     // enforced by vigil's monitor instead of the kernel LSM
)

// Action is a response to a rule match.
type Action string

// Action values.
const (
	ActionAlert     Action = "alert"
	ActionKill      Action = "kill"
	ActionIsolate   Action = "isolate"
	ActionForensics Action = "forensics"
)

// Built-in profile names.
const (
	ProfileRuntimeDefault = "runtime/default" // seccomp and AppArmor: the runtime's own default
	ProfileUnconfined     = "unconfined"      // seccomp and AppArmor: none
	SeccompHardened       = "hardened"        // seccomp: vigil's hardened profile
)

// Config is a loaded, validated vigil configuration.
type Config struct {
	// File is the file it was loaded from; "" for the built-in default.
	File     string    `json:"file,omitempty"`
	OnError  OnError   `json:"onError"`
	Profiles Profiles  `json:"profiles"`
	Alerts   Alerts    `json:"alerts"`
	Policies []*Policy `json:"policies"`
	// OnErrorPos is where the top-level onError was written.
	OnErrorPos Pos `json:"-"`
}

// Profiles says where profile files live.
type Profiles struct {
	// Dir holds seccomp/<name>.json and apparmor/<name>.
	Dir string `json:"dir"`
	Pos Pos    `json:"-"`
}

// Alerts says where alerts go.
type Alerts struct {
	// File is a JSON-lines file; "" for none.
	File    string   `json:"file,omitempty"`
	Webhook *Webhook `json:"webhook,omitempty"`
	Pos     Pos      `json:"-"`
}

// Webhook posts Falco-compatible JSON alerts to a URL (Falcosidekick).
type Webhook struct {
	URL             string        `json:"url"`
	MinimumPriority Priority      `json:"minimumPriority"` // default debug: everything
	Timeout         time.Duration `json:"timeout"`         // default 2s
	Queue           int           `json:"queue"`           // default 1024
	Pos             Pos           `json:"-"`
}

// MarshalJSON encodes w with its timeout as a duration string such as "2s".
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	return json.Marshal(struct {
		plain
		Timeout string `json:"timeout"`
	}{plain(w), w.Timeout.String()})
}

// Defaults of optional settings.
const (
	DefaultForensicsDir   = "/var/lib/vigil/forensics"
	DefaultWebhookTimeout = 2 * time.Second
	DefaultWebhookQueue   = 1024
)

// Policy is one entry of the ordered policy list.
type Policy struct {
	Name string `json:"name"`
	// Match selects the containers the policy applies to.
	Match Match `json:"match"`
	// OnError is the effective value: the policy's own or the file's.
	OnError OnError `json:"onError"`
	// Seccomp, AppArmor and SELinux are nil when the policy leaves the
	// container's own setting alone.
	Seccomp  *Seccomp  `json:"seccomp,omitempty"`
	AppArmor *AppArmor `json:"apparmor,omitempty"`
	SELinux  *SELinux  `json:"selinux,omitempty"`
	Monitor  Monitor   `json:"monitor"`
	Egress   Egress    `json:"egress"`
	// Response is nil when the policy does not set one.
	Response *Response `json:"response,omitempty"`
	// Pos is the position of the policy's list item, Field "policies[i]".
	Pos Pos `json:"-"`
	// OnErrorPos is where the effective onError was written.
	OnErrorPos Pos `json:"-"`

	namePos Pos
}

// Match selects containers. All of its selectors must match; an empty
// Match selects every container.
type Match struct {
	// Images: any pattern matches the container's normalized image.
	Images []ImagePattern `json:"images,omitempty"`
	// Labels: every selector matches a label, pod label or annotation.
	Labels []Selector `json:"labels,omitempty"`
	// Annotations: every selector matches an OCI annotation.
	Annotations []Selector `json:"annotations,omitempty"`
	// Namespaces: any pattern matches the containerd or Kubernetes namespace.
	Namespaces []Glob `json:"namespaces,omitempty"`
	Pos        Pos    `json:"-"`
}

// Empty reports whether m has no selector and so matches every container.
func (m Match) Empty() bool {
	return len(m.Images) == 0 && len(m.Labels) == 0 && len(m.Annotations) == 0 && len(m.Namespaces) == 0
}

// Selector requires the key to be present with a value matching Value.
type Selector struct {
	Key   string `json:"key"`
	Value Glob   `json:"value"`
	Pos   Pos    `json:"-"`
}

// Seccomp names the seccomp profile of a policy.
type Seccomp struct {
	// Profile is the value as written: a built-in name or a file path.
	Profile string `json:"profile"`
	// File is the absolute path of the profile file, "" for built-ins. A
	// relative value resolves under profiles.dir/seccomp/, with ".json"
	// appended when it has no extension.
	File string `json:"file,omitempty"`
	Pos  Pos    `json:"-"`
}

// Builtin reports whether the profile is one of runtime/default, hardened or
// unconfined.
func (s *Seccomp) Builtin() bool { return s.File == "" }

// AppArmor names the AppArmor profile of a policy.
type AppArmor struct {
	Profile string      `json:"profile"`
	Mode    ProfileMode `json:"mode"` // default best-effort
	// File is the profile's source, profiles.dir/apparmor/<profile>; "" for
	// the built-ins runtime/default and unconfined.
	File string `json:"file,omitempty"`
	Pos  Pos    `json:"-"`
}

// SELinux sets the SELinux process label of a policy.
type SELinux struct {
	Label string      `json:"label"` // user:role:type[:level]
	Mode  ProfileMode `json:"mode"`  // default best-effort
	Pos   Pos         `json:"-"`
}

// Monitor configures the runtime monitor for a policy.
type Monitor struct {
	Mode Mode `json:"mode"` // default enforce
	// KillAt is the priority at or above which a rule match kills.
	KillAt Priority `json:"killAt"` // default critical
	// Kill raises rules (by name, or "tag:<tag>") to kill.
	Kill []string `json:"kill,omitempty"`
	// AlertOnly lowers rules (by name, or "tag:<tag>") to alert.
	AlertOnly []string `json:"alertOnly,omitempty"`
	// Rules are extra Falco rule files (absolute paths).
	Rules          []string `json:"rules,omitempty"`
	KillEntrypoint bool     `json:"killEntrypoint"`
	Pos            Pos      `json:"-"`
}

// Egress configures outbound network control for a policy.
type Egress struct {
	Mode          Mode           `json:"mode"` // default off; enforce when the section is present
	AllowPorts    []uint16       `json:"allowPorts,omitempty"`
	AllowCIDRs    []netip.Prefix `json:"allowCIDRs,omitempty"`
	DenyCIDRFiles []string       `json:"denyCIDRFiles,omitempty"`
	Pos           Pos            `json:"-"`
}

// Response maps rule priorities to the actions taken on a match.
type Response struct {
	Actions map[Priority][]Action `json:"actions,omitempty"`
	// ForensicsDir is where forensics captures go; DefaultForensicsDir
	// when not set.
	ForensicsDir string `json:"forensicsDir,omitempty"`
	Pos          Pos    `json:"-"`
}

// For returns the actions for a match of priority p: those of the most
// severe configured priority that is not more severe than p. With
// {critical: [kill], error: [isolate]}, an emergency gets [kill], an error
// [isolate] and a warning nothing.
func (r *Response) For(p Priority) []Action {
	if r == nil {
		return nil
	}
	for q := p; q >= PriorityDebug; q-- {
		if a, ok := r.Actions[q]; ok {
			return a
		}
	}
	return nil
}

// DefaultPolicy returns the built-in default policy: it matches every
// container, applies the runtime's default seccomp profile and runs the
// monitor in enforce mode, killing at critical.
func DefaultPolicy() *Policy {
	return &Policy{
		Name:    DefaultPolicyName,
		OnError: OnErrorRefuse,
		Seccomp: &Seccomp{Profile: ProfileRuntimeDefault},
		Monitor: Monitor{Mode: ModeEnforce, KillAt: PriorityCritical},
		Egress:  Egress{Mode: ModeOff},
	}
}

// Default returns the built-in configuration used when no file exists: the
// single policy DefaultPolicy, onError refuse, profiles in
// DefaultProfilesDir and no alert outputs.
func Default() *Config {
	return &Config{
		OnError:  OnErrorRefuse,
		Profiles: Profiles{Dir: DefaultProfilesDir},
		Policies: []*Policy{DefaultPolicy()},
	}
}
