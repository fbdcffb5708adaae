// Package profiles holds what the LSM profile resolvers share: the modes a
// policy applies a profile in and the error for a host that lacks the LSM.
//
// The resolvers live in subpackages: seccomp (seccomp filters), apparmor
// (AppArmor profiles, host loading, deny-rule extraction for emulation) and
// selinux (SELinux labels). None of them imports vigil's policy package:
// callers pass plain values.
package profiles
