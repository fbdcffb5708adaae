// Package selinux validates SELinux process labels and applies them to a
// container's OCI spec.
//
// Contract:
//   - A label is user:role:type[:level]; the level is an MLS/MCS range such
//     as s0, s0:c1,c2 or s0-s0:c0.c1023. ValidateLabel reports what is wrong
//     and where, matching ErrInvalidLabel.
//   - Apply sets process.selinuxLabel only when the Host says SELinux is
//     enabled. Modes: required (otherwise an error naming the label and the
//     reason, matching profiles.ErrUnavailable) and best-effort (the default:
//     the spec is left alone and Outcome.Skipped says why). An invalid label
//     is an error in both modes and on every host.
//   - SystemHost is the real Host: go-selinux's GetEnabled, with the reason
//     taken from /sys/fs/selinux/enforce.
//
// The package does not log and does not know vigil's policies.
package selinux
