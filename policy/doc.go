// Package policy loads vigil's configuration file, validates it, and decides
// which policy applies to a container from what is known about it (Facts),
// with the reasons for the choice.
//
// The package is pure: it touches no containerd, kernel or profile file. It
// reads one file (Load) and otherwise works on its inputs. Profile files,
// rule files and CIDR lists that the configuration names are checked by the
// packages that use them, through Check functions run by RunChecks, and they
// report problems at the line of the setting using the Pos kept on it.
//
// # Finding the file
//
// Locate picks the runtime option ConfigPath, then $VIGIL_CONFIG, then
// /etc/vigil/config.yaml. When none is named and the default file does not
// exist, the built-in Default applies: one policy "default" that matches
// every container, applies the runtime's default seccomp profile and runs
// the monitor in enforce mode, killing at critical.
//
// When vigil runs as root, Load refuses a file that is not owned by root or
// is writable by group or others (ErrInsecureFile).
//
// # The file
//
//	onError: refuse            # refuse | allow: what happens to a container whose policy cannot be
//	                           # applied (default refuse); a policy may override it
//	profiles:
//	  dir: /etc/vigil/profiles # holds seccomp/<name>.json and apparmor/<name> (default shown)
//	alerts:                    # where alerts go (used by the alert outputs)
//	  file: /var/log/vigil/alerts.jsonl
//	  webhook: {url: "http://falcosidekick:2801/", minimumPriority: warning, timeout: 2s, queue: 1024}
//	policies:                  # ordered: the first policy that matches wins
//	  - name: payments         # letters, digits, '.', '_', '-'; unique
//	    match:                 # required; all selectors must match; match: {} matches everything
//	      images: ["registry.example.com/payments/**", "nginx:*"]   # any pattern matches
//	      labels: {tier: critical}   # a container label, pod label or annotation; values may be patterns
//	      annotations: {"io.kubernetes.cri.container-type": container}  # OCI annotations only
//	      namespaces: [prod]   # the containerd or the Kubernetes namespace; any matches
//	    onError: allow
//	    seccomp: hardened      # runtime/default | hardened | unconfined | a file: absolute, or relative
//	                           # to <dir>/seccomp/ (".json" appended when it has no extension)
//	    apparmor: {profile: vigil-default, mode: required}   # mode required | best-effort (default) | emulate;
//	                           # profile runtime/default | unconfined | a name whose source is <dir>/apparmor/<name>;
//	                           # "apparmor: vigil-default" is short for {profile: vigil-default}
//	    selinux: {label: "system_u:system_r:container_t:s0:c1,c2", mode: best-effort}  # required | best-effort
//	    monitor:               # default: mode enforce, killAt critical
//	      mode: enforce        # enforce | audit | off
//	      killAt: critical     # Falco priority at or above which a match kills
//	      kill: ["Shell Spawned in Container", "tag:shell"]   # rules raised to kill (name or tag:<tag>)
//	      alertOnly: ["tag:drift"]                            # rules lowered to alert
//	      rules: [/etc/vigil/rules/custom.yaml]               # extra Falco rule files
//	      killEntrypoint: false
//	    egress:                # absent: off; present: mode defaults to enforce
//	      mode: enforce        # enforce | audit | off
//	      allowPorts: [443, 5432]
//	      allowCIDRs: ["10.0.0.0/8", "fd00::/8"]
//	      denyCIDRFiles: [/etc/vigil/threats.txt]
//	    response:              # priority: actions (alert, kill, isolate, forensics); see Response.For
//	      critical: [forensics, kill]
//	      error: [isolate]
//	      forensicsDir: /var/lib/vigil/forensics
//	  - name: default
//	    match: {}
//	    seccomp: runtime/default
//
// A policy that leaves seccomp, apparmor or selinux out leaves the
// container's own setting alone. Every path other than a seccomp or
// AppArmor profile name must be absolute.
//
// Every problem is reported, not just the first, as *Errors: each Error
// names the file, line, column and field path, e.g.
//
//	/etc/vigil/config.yaml:12:7: policies[0].apparmor.mode: unknown value "strict" (want required, best-effort, emulate)
//
// Unknown fields (with the nearest known name), duplicate keys and policy
// names, policies made unreachable by an earlier match-all, bad patterns,
// label keys, CIDRs, ports, priorities, durations and URLs are all errors.
// YAML anchors and aliases may be used; merge keys (<<) may not. A file is at
// most 1 MiB and at most 1,000 problems are reported.
//
// # Matching
//
// Image references are normalized with github.com/distribution/reference:
// "nginx" is "docker.io/library/nginx:latest". Image patterns are
// normalized the same way where they parse as references ("nginx:*" is
// "docker.io/library/nginx:*"); a pattern with neither tag nor digest
// matches every tag and digest of its repositories. In image patterns '*'
// and '?' stay within a '/'-separated segment and '**' crosses segments; a
// pattern starting with "**" is not normalized, so "**" matches every image.
// Label, annotation and namespace values are patterns without separator.
// See Glob and ImagePattern.
//
// Config.Decide returns the first matching policy and the reasons: why each
// earlier policy was skipped and which selectors chose the winner. When no
// policy matches, Decision.Policy is nil and the caller applies
// DefaultPolicy.
package policy
