// Package apparmor resolves, loads and applies AppArmor profiles for
// containers.
//
// Contract:
//   - Profiles are the built-in "vigil-default" (Generate renders it from a
//     text/template: docker-default's rules plus no /proc/sys writes, no
//     /proc/kallsyms, no pivot_root, no cgroup release_agent writes) or
//     files <profilesDir>/apparmor/<name>; a file's profile name is the one it
//     declares (`profile NAME ... {`).
//   - Apply sets process.apparmorProfile only when the Host says AppArmor is
//     enabled and the profile is loaded, so runc never fails on it. Modes:
//     required (error naming the profile and the reason otherwise),
//     best-effort (the default: skip and say why), emulate (nothing is
//     loaded; the profile's exec/write deny rules are returned for the
//     monitor, see ParseDenyRules).
//   - SystemHost is the real Host: enabled means the module parameter says
//     "Y" and securityfs (mounted if needed, as runc does) has an apparmor
//     directory; it loads with `apparmor_parser -Kr` only when the kernel
//     lacks the profile or its text changed since vigil loaded it.
//
// The package does not log and does not know vigil's policies.
package apparmor
