// Package harden applies one policy's seccomp, AppArmor and SELinux settings
// to an OCI spec. It is the glue between package policy (which policy, and
// where it was written) and the profile packages (what a profile is and
// whether this host can apply it); the shim calls it on Create and the CLI
// calls it to check and explain a configuration, so both say the same.
package harden
