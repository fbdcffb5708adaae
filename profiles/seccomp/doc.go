// Package seccomp resolves a seccomp profile name into the OCI
// specs.LinuxSeccomp that runc installs for a container.
//
// Contract:
//   - A name is a built-in ("runtime/default": moby's default profile;
//     "hardened": the reference document's Pattern 2 profile, embedded
//     verbatim; "unconfined": no filter, only when named explicitly; the empty
//     name means "runtime/default") or a file: an absolute path, or a path
//     relative to <profilesDir>/seccomp/ ("<name>" then "<name>.json").
//   - Files are Docker/moby profiles (archMap, includes/excludes, name,
//     comment) or OCI runtime-spec LinuxSeccomp documents; the format is
//     detected from the keys used. Moby profiles are resolved by
//     github.com/moby/profiles/seccomp for the host architecture and the
//     bounding capabilities of the spec's process.
//   - Every key, action, operator, architecture, flag, capability and syscall
//     name (checked with libseccomp for the native architecture) is validated
//     before resolution; a bad profile yields a *ProfileError naming the
//     file, line and field, matching ErrInvalidProfile (and ErrUnknownSyscall
//     for unknown syscalls).
//   - Resolve adds, to profiles whose default action denies, exactly the
//     syscalls runc itself makes after installing the filter (see
//     RuntimeNeeds) and reports them in Resolved.Added.
//
// The package is pure apart from reading profile files and asking libseccomp
// for syscall numbers; it never logs and does not know vigil's policies.
package seccomp
