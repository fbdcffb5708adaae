package apparmor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// DefaultProfile is the name of vigil's built-in profile.
const DefaultProfile = "vigil-default"

// Params fill the built-in profile template.
type Params struct {
	Name string // profile name
	// Abi is the policy ABI to pin ("abi/3.0"), or "" for the parser's.
	Abi string
	// Tunables includes <tunables/global>; without it @{PROC} is defined
	// inline.
	Tunables bool
	// BaseAbstraction includes <abstractions/base>.
	BaseAbstraction bool
	// DaemonProfile is the profile of the process that manages containers,
	// allowed to signal them ("unconfined" adds nothing).
	DaemonProfile string
}

// The built-in profile: docker-default's rules (moby's template, which
// containerd copies as contrib/apparmor) and, beyond them, no writes
// anywhere under /proc/sys (docker-default allows /proc/sys/kernel/shm*),
// no access to /proc/kallsyms (kernel addresses), no pivot_root, and no
// writes to cgroup v1 release agents (CVE-2022-0492).
const defaultTemplate = `{{if .Abi}}abi <{{.Abi}}>,

{{end}}{{if .Tunables}}#include <tunables/global>
{{else}}@{PROC}=/proc/
{{end}}
profile {{.Name}} flags=(attach_disconnected,mediate_deleted) {
{{- if .BaseAbstraction}}
  #include <abstractions/base>
{{- end}}

  network,
  capability,
  file,
  umount,

  # Host (privileged) processes, the runtime and the manager may signal
  # container processes; container processes may signal each other.
  signal (receive) peer=unconfined,
  signal (receive) peer=runc,
  signal (receive) peer=crun,
{{- if and .DaemonProfile (ne .DaemonProfile "unconfined")}}
  signal (receive) peer={{.DaemonProfile}},
{{- end}}
  signal (send,receive) peer={{.Name}},

  # /proc: no writes to files directly in /proc, to other processes'
  # entries or to any sysctl; no access to kernel memory or symbols.
  deny @{PROC}/* w,
  deny @{PROC}/{[^1-9/],[^1-9/][^0-9/],[^1-9s/][^0-9y/][^0-9s/],[^1-9/][^0-9/][^0-9/][^0-9/]*}/** w,
  deny @{PROC}/sys/** w,
  deny @{PROC}/sysrq-trigger rwklx,
  deny @{PROC}/kcore rwklx,
  deny @{PROC}/kallsyms rwklx,

  deny mount,
  deny pivot_root,

  # /sys: read-only except the cgroup filesystem; firmware, powercap and
  # securityfs are not even readable.
  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/fs/cgroup/**/release_agent w,
  deny /sys/firmware/** rwklx,
  deny /sys/devices/virtual/powercap/** rwklx,
  deny /sys/kernel/security/** rwklx,

  # Processes of the container may trace each other, as far as other
  # LSMs and yama allow.
  ptrace (trace,tracedby,read,readby) peer={{.Name}},
}
`

var profileTemplate = template.Must(template.New(DefaultProfile).Parse(defaultTemplate))

// Generate renders the built-in profile.
func Generate(p Params) (string, error) {
	if p.Name == "" || strings.ContainsAny(p.Name, " \t\n{}\"") {
		return "", fmt.Errorf("%w: profile name %q", ErrInvalidProfile, p.Name)
	}
	if strings.ContainsAny(p.DaemonProfile, " \t\n{},\"") {
		return "", fmt.Errorf("%w: daemon profile %q", ErrInvalidProfile, p.DaemonProfile)
	}
	var b strings.Builder
	if err := profileTemplate.Execute(&b, p); err != nil {
		return "", fmt.Errorf("render %s: %w", p.Name, err)
	}
	return b.String(), nil
}

// HostParams returns the parameters for this host: the ABI, tunables and
// base abstraction are used when apparmorDir (normally /etc/apparmor.d) has
// them, and the daemon profile is the calling process's own confinement.
func HostParams(apparmorDir string) Params {
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(apparmorDir, rel))
		return err == nil
	}
	p := Params{
		Name:            DefaultProfile,
		Tunables:        exists("tunables/global"),
		BaseAbstraction: exists("abstractions/base"),
		DaemonProfile:   "unconfined",
	}
	if exists("abi/3.0") {
		p.Abi = "abi/3.0"
	}
	if name := ownProfile(); name != "" {
		p.DaemonProfile = name
	}
	return p
}

// ownProfile returns the AppArmor profile confining this process, or "".
// The LSM-specific attr file is preferred; the shared one is only read when
// AppArmor is enabled, as another LSM (SELinux) may own it.
func ownProfile() string {
	cur, err := os.ReadFile("/proc/self/attr/apparmor/current")
	if err != nil {
		if on, _ := os.ReadFile(moduleParam); !strings.HasPrefix(string(on), "Y") {
			return ""
		}
		if cur, err = os.ReadFile("/proc/self/attr/current"); err != nil {
			return ""
		}
	}
	// "name (enforce)"; profile names cannot contain spaces.
	name, _, _ := strings.Cut(strings.TrimSpace(string(cur)), " ")
	return name
}
