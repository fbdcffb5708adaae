package seccomp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	runcseccomp "github.com/opencontainers/runc/libcontainer/seccomp"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Keys each object of a profile may have. The moby-only keys decide the
// format: a document using none of them is an OCI LinuxSeccomp.
var (
	topKeys     = []string{"defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath", "listenerMetadata", "syscalls"}
	syscallKeys = []string{"names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"}
	argKeys     = []string{"index", "value", "valueTwo", "op"}
	filterKeys  = []string{"caps", "arches", "minKernel"}
	archMapKeys = []string{"architecture", "subArchitectures"}

	mobyTopKeys     = []string{"archMap"}
	mobySyscallKeys = []string{"name", "comment", "includes", "excludes"}

	// nativeArches are the architecture names moby's includes/excludes
	// "arches" compare with: libseccomp's names, i.e. moby's goToNative
	// values, plus "x32", which moby's default profile uses.
	nativeArches = []string{"x86", "amd64", "x32", "arm", "arm64", "loongarch64", "mips64", "mips64n32", "mipsel64", "mips3l64n32", "mipsel", "ppc", "ppc64", "ppc64le", "riscv64", "s390", "s390x"}
)

const (
	maxSyscallArgs = 6    // seccomp compares syscall arguments 0..5
	maxErrno       = 4095 // MAX_ERRNO in the kernel
)

type validator struct {
	data []byte
	file string

	errs         []error // invalid profile
	unknown      []error // syscalls libseccomp does not know
	unknownNames []string

	arch    libseccomp.ScmpArch
	archErr error
	archSet bool
}

func (v *validator) fail(n *node, field, format string, args ...any) {
	e := &ProfileError{File: v.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = lineOf(v.data, n.off)
	}
	v.errs = append(v.errs, e)
}

// profile validates the whole document and returns its format.
func (v *validator) profile(root *node) Format {
	if root.kind != '{' {
		v.fail(root, "", "the profile must be a JSON object, not %s", root.kindName())
		return FormatOCI
	}
	format := FormatOCI
	if hasAny(root, mobyTopKeys) {
		format = FormatMoby
	}
	v.keys(root, "", topKeys)

	da, ok := root.fields["defaultAction"]
	if !ok {
		v.fail(root, "defaultAction", "missing: a profile without a default action would disable seccomp; name the profile %q for that", Unconfined)
	} else if v.action(da, "defaultAction") && da.str == "SCMP_ACT_NOTIFY" {
		v.fail(da, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action")
	}
	if n, ok := root.fields["defaultErrnoRet"]; ok {
		v.errno(n, "defaultErrnoRet")
		if da != nil && da.kind == 's' && da.str != "SCMP_ACT_ERRNO" && da.str != "SCMP_ACT_TRACE" {
			v.fail(n, "defaultErrnoRet", "only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", da.str)
		}
	}
	if n, ok := root.fields["architectures"]; ok {
		v.strings(n, "architectures", func(s *node, f string) { v.scmpArch(s, f) })
	}
	if n, ok := root.fields["archMap"]; ok {
		if _, both := root.fields["architectures"]; both {
			v.fail(n, "archMap", "use either architectures or archMap, not both")
		}
		v.objects(n, "archMap", func(o *node, f string) {
			v.keys(o, f, archMapKeys)
			if a, ok := o.fields["architecture"]; ok {
				v.scmpArch(a, f+".architecture")
			} else {
				v.fail(o, f+".architecture", "missing")
			}
			if s, ok := o.fields["subArchitectures"]; ok {
				v.strings(s, f+".subArchitectures", func(s *node, f string) { v.scmpArch(s, f) })
			}
		})
	}
	if n, ok := root.fields["flags"]; ok {
		v.strings(n, "flags", func(s *node, f string) {
			if !slices.Contains(runcseccomp.KnownFlags(), s.str) {
				v.fail(s, f, "unknown flag %q (known: %s)", s.str, strings.Join(runcseccomp.KnownFlags(), ", "))
			}
		})
	}
	for _, k := range []string{"listenerPath", "listenerMetadata"} {
		if n, ok := root.fields[k]; ok && n.kind != 's' {
			v.fail(n, k, "must be a string, not %s", n.kindName())
		}
	}

	sc, ok := root.fields["syscalls"]
	if !ok {
		return format
	}
	notify := false
	v.objects(sc, "syscalls", func(o *node, f string) {
		if hasAny(o, mobySyscallKeys) {
			format = FormatMoby
		}
		if v.syscall(o, f) {
			notify = true
		}
	})
	if notify {
		if lp, ok := root.fields["listenerPath"]; !ok || lp.kind != 's' || lp.str == "" {
			v.fail(root, "listenerPath", "required when a rule uses SCMP_ACT_NOTIFY")
		}
	}
	return format
}

// syscall validates one syscalls[] entry and reports whether it notifies.
func (v *validator) syscall(o *node, f string) (notify bool) {
	v.keys(o, f, syscallKeys)
	act, ok := o.fields["action"]
	if !ok {
		v.fail(o, f+".action", "missing")
	} else if v.action(act, f+".action") {
		notify = act.str == "SCMP_ACT_NOTIFY"
	}
	names, hasNames := o.fields["names"]
	name, hasName := o.fields["name"]
	switch {
	case hasNames && hasName:
		v.fail(name, f+".name", "use either name or names, not both")
	case !hasNames && !hasName:
		v.fail(o, f+".names", "missing")
	case hasName:
		if name.kind != 's' {
			v.fail(name, f+".name", "must be a string, not %s", name.kindName())
		} else {
			v.syscallName(name, f+".name", notify)
		}
	default:
		if (names.kind == '[' && len(names.items) == 0) || names.kind == '0' {
			v.fail(names, f+".names", "empty: the rule would match no syscall")
		}
		v.strings(names, f+".names", func(s *node, f string) { v.syscallName(s, f, notify) })
	}
	if n, ok := o.fields["errnoRet"]; ok {
		v.errno(n, f+".errnoRet")
		if act != nil && act.kind == 's' && act.str != "SCMP_ACT_ERRNO" && act.str != "SCMP_ACT_TRACE" {
			v.fail(n, f+".errnoRet", "only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", act.str)
		}
	}
	if n, ok := o.fields["args"]; ok {
		v.objects(n, f+".args", v.arg)
	}
	if n, ok := o.fields["comment"]; ok && n.kind != 's' {
		v.fail(n, f+".comment", "must be a string, not %s", n.kindName())
	}
	for _, k := range []string{"includes", "excludes"} {
		if n, ok := o.fields[k]; ok {
			v.filter(n, f+"."+k)
		}
	}
	return notify
}

func (v *validator) arg(o *node, f string) {
	v.keys(o, f, argKeys)
	if n, ok := o.fields["index"]; !ok {
		v.fail(o, f+".index", "missing")
	} else if i, ok := v.uint(n, f+".index", 64); ok && i >= maxSyscallArgs {
		v.fail(n, f+".index", "%d is out of range: syscalls have arguments 0 to %d", i, maxSyscallArgs-1)
	}
	if n, ok := o.fields["value"]; ok {
		v.uint(n, f+".value", 64)
	}
	if n, ok := o.fields["valueTwo"]; ok {
		v.uint(n, f+".valueTwo", 64)
	}
	op, ok := o.fields["op"]
	if !ok {
		v.fail(o, f+".op", "missing")
		return
	}
	if op.kind != 's' {
		v.fail(op, f+".op", "must be a string, not %s", op.kindName())
		return
	}
	if _, err := runcseccomp.ConvertStringToOperator(op.str); err != nil {
		v.fail(op, f+".op", "unknown operator %q (known: %s)", op.str, strings.Join(runcseccomp.KnownOperators(), ", "))
	}
}

func (v *validator) filter(o *node, f string) {
	if o.kind == '0' {
		return
	}
	if o.kind != '{' {
		v.fail(o, f, "must be an object, not %s", o.kindName())
		return
	}
	v.keys(o, f, filterKeys)
	if n, ok := o.fields["caps"]; ok {
		v.strings(n, f+".caps", func(s *node, f string) {
			if !knownCap(s.str) {
				v.fail(s, f, "unknown capability %q", s.str)
			}
		})
	}
	if n, ok := o.fields["arches"]; ok {
		v.strings(n, f+".arches", func(s *node, f string) {
			if !slices.Contains(nativeArches, s.str) {
				v.fail(s, f, "unknown architecture %q (known: %s)", s.str, strings.Join(nativeArches, ", "))
			}
		})
	}
	if n, ok := o.fields["minKernel"]; ok {
		if n.kind != 's' {
			v.fail(n, f+".minKernel", "must be a string, not %s", n.kindName())
		} else if n.str != "" && !validKernelVersion(n.str) {
			v.fail(n, f+".minKernel", "%q is not a kernel version of the form <kernel>.<major>", n.str)
		}
	}
}

// action reports whether n is a known action.
func (v *validator) action(n *node, f string) bool {
	if n.kind != 's' {
		v.fail(n, f, "must be a string, not %s", n.kindName())
		return false
	}
	if _, err := runcseccomp.ConvertStringToAction(n.str); err != nil {
		v.fail(n, f, "unknown action %q (known: %s)", n.str, strings.Join(runcseccomp.KnownActions(), ", "))
		return false
	}
	return true
}

func (v *validator) scmpArch(n *node, f string) {
	if _, err := runcseccomp.ConvertStringToArch(n.str); err != nil {
		v.fail(n, f, "unknown architecture %q (known: %s)", n.str, strings.Join(runcseccomp.KnownArchs(), ", "))
	}
}

func (v *validator) errno(n *node, f string) {
	if e, ok := v.uint(n, f, 32); ok && e > maxErrno {
		v.fail(n, f, "%d is not an errno (at most %d)", e, maxErrno)
	}
}

func (v *validator) uint(n *node, f string, bits int) (uint64, bool) {
	if n.kind != 'n' {
		v.fail(n, f, "must be a number, not %s", n.kindName())
		return 0, false
	}
	u, err := strconv.ParseUint(n.num.String(), 10, bits)
	if err != nil {
		v.fail(n, f, "%s is not an unsigned %d-bit integer", n.num, bits)
		return 0, false
	}
	return u, true
}

// syscallName checks name against libseccomp's table for the native
// architecture. libseccomp resolves names of other architectures' syscalls
// to pseudo numbers, so only names it does not know at all fail.
func (v *validator) syscallName(n *node, f string, notify bool) {
	if n.str == "" {
		v.fail(n, f, "empty syscall name")
		return
	}
	if notify && n.str == "write" {
		v.fail(n, f, "SCMP_ACT_NOTIFY cannot be used for write (runc reports the notify fd with it)")
	}
	arch, err := v.nativeArch()
	if err != nil {
		v.fail(n, f, "cannot check syscall %q: %v", n.str, err)
		return
	}
	if _, err := libseccomp.GetSyscallFromNameByArch(n.str, arch); err != nil {
		v.unknown = append(v.unknown, &ProfileError{
			File: v.file, Line: lineOf(v.data, n.off), Field: f, Kind: ErrUnknownSyscall,
			Msg: fmt.Sprintf("unknown syscall %q for architecture %s (libseccomp %s)", n.str, arch, libseccompVersion()),
		})
		if !slices.Contains(v.unknownNames, n.str) {
			v.unknownNames = append(v.unknownNames, n.str)
		}
	}
}

func (v *validator) nativeArch() (libseccomp.ScmpArch, error) {
	if !v.archSet {
		v.arch, v.archErr = libseccomp.GetNativeArch()
		v.archSet = true
	}
	return v.arch, v.archErr
}

func (v *validator) archName() string {
	a, err := v.nativeArch()
	if err != nil {
		return "the native architecture"
	}
	return a.String()
}

// keys reports members of o not in allowed: a misspelt key would otherwise
// be dropped silently and weaken the filter.
func (v *validator) keys(o *node, f string, allowed []string) {
	for _, k := range o.keys {
		if !slices.Contains(allowed, k) {
			v.fail(o.fields[k], join(f, k), "unknown key %q (known: %s)", k, strings.Join(allowed, ", "))
		}
	}
}

// strings calls each for every element of the string array n; null is an
// absent array, as encoding/json decodes it.
func (v *validator) strings(n *node, f string, each func(*node, string)) {
	if n.kind == '0' {
		return
	}
	if n.kind != '[' {
		v.fail(n, f, "must be an array of strings, not %s", n.kindName())
		return
	}
	for i, it := range n.items {
		fi := fmt.Sprintf("%s[%d]", f, i)
		if it.kind != 's' {
			v.fail(it, fi, "must be a string, not %s", it.kindName())
			continue
		}
		each(it, fi)
	}
}

// objects calls each for every element of the object array n; null is an
// absent array.
func (v *validator) objects(n *node, f string, each func(*node, string)) {
	if n.kind == '0' {
		return
	}
	if n.kind != '[' {
		v.fail(n, f, "must be an array of objects, not %s", n.kindName())
		return
	}
	for i, it := range n.items {
		fi := fmt.Sprintf("%s[%d]", f, i)
		if it.kind != '{' {
			v.fail(it, fi, "must be an object, not %s", it.kindName())
			continue
		}
		each(it, fi)
	}
}

func hasAny(o *node, keys []string) bool {
	for _, k := range keys {
		if _, ok := o.fields[k]; ok {
			return true
		}
	}
	return false
}

func join(f, k string) string {
	if f == "" {
		return k
	}
	return f + "." + k
}

func knownCap(name string) bool {
	for _, c := range capability.ListKnown() {
		if name == "CAP_"+strings.ToUpper(c.String()) {
			return true
		}
	}
	return false
}

// validKernelVersion mirrors the form moby's KernelVersion accepts.
func validKernelVersion(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(b, ".") {
		return false
	}
	x, err1 := strconv.ParseUint(a, 10, 8)
	y, err2 := strconv.ParseUint(b, 10, 8)
	return err1 == nil && err2 == nil && (x != 0 || y != 0)
}

func libseccompVersion() string {
	ma, mi, mc := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", ma, mi, mc)
}
