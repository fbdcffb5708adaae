package shim

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// tagClasses maps the tags of vigil's rules to the kernel's exec classes:
// the kernel can kill what a rule of that tag would kill before the
// program runs an instruction of its own.
var tagClasses = []struct {
	tag   string
	class uint32
}{
	{"shell", monitor.ClassShell},
	{"package_management", monitor.ClassPkgMgr},
	{"crypto_miner", monitor.ClassMiner},
	{"reverse_shell", monitor.ClassRevShell},
	{"drift", monitor.ClassDrift},
}

// nameClasses are the classes the kernel learns by process name; the others
// (drift, reverse shell markers) it finds by itself.
const nameClasses = monitor.ClassShell | monitor.ClassPkgMgr | monitor.ClassMiner

// kernelFilter is what the kernel is told about one container.
type kernelFilter struct {
	names    map[string]uint32
	killMask uint32
}

// kernelPlan compiles the rule set and the policy's monitor settings into
// the kernel's per-container filter: the process names of each class the
// rules look for, and the classes whose rules kill under this policy.
func kernelPlan(rs *rules.Ruleset, m policy.Monitor) kernelFilter {
	k := kernelFilter{names: map[string]uint32{}}
	killAt, _ := rules.ParsePriority(m.KillAt.String())
	for _, r := range rs.Rules() {
		if !r.Active() {
			continue
		}
		var class uint32
		for _, tc := range tagClasses {
			if r.HasTag(tc.tag) {
				class |= tc.class
			}
		}
		if class == 0 {
			continue
		}
		for _, n := range rs.ProcNames([]*rules.Rule{r}) {
			switch {
			case class&nameClasses != 0:
				k.names[n] |= class & nameClasses
			case class&monitor.ClassRevShell != 0 && k.names[n]&monitor.ClassShell == 0:
				// Tools a reverse-shell rule names (nc, socat): the kernel
				// flags them when run with -e.
				k.names[n] |= monitor.ClassNetTool
			}
		}
		if m.Mode == policy.ModeEnforce && rules.Decide(r, string(m.Mode), killAt, m.Kill, m.AlertOnly) == rules.Kill {
			k.killMask |= class
		}
	}
	return k
}

// binDirs are where an image's programs are looked up by name.
var binDirs = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}

// multicallMarker prefixes the identity of a busybox-like binary (followed
// by the binary's own file name): its applet, not its file, says what runs.
const multicallMarker = "\x00multicall"

// classifyExes finds, in the container's rootfs, the executables the rules
// name and returns the kernel's inode keys and each inode's identity. A
// binary reached under several names, through a symbolic link with another
// name, or with more than one hard link is multi-call (busybox): the kernel
// then classifies it by applet name, never by its inode, or every applet
// would look like a shell.
func classifyExes(rootfs string, names map[string]uint32) ([]monitor.Exe, map[[2]uint64]string, error) {
	type inode struct {
		class     uint32
		names     map[string]bool
		multicall bool
		self      string // the base name of the file itself
	}
	inodes := map[[2]uint64]*inode{}
	paths := map[[2]uint64]string{}
	for _, dir := range binDirs {
		// One directory read instead of a lookup per name and directory:
		// images hold far more programs than the rules name.
		hostDir, err := securejoin.SecureJoin(rootfs, dir)
		if err != nil {
			continue
		}
		entries, err := os.ReadDir(hostDir)
		if err != nil {
			continue
		}
		for _, de := range entries {
			name := de.Name()
			class, ok := names[name]
			if !ok {
				continue
			}
			p := path.Join(dir, name)
			full, err := securejoin.SecureJoin(rootfs, p)
			if err != nil {
				continue
			}
			e, err := monitor.StatExe(full, class)
			if err != nil {
				continue
			}
			key := [2]uint64{e.Dev, e.Ino}
			in := inodes[key]
			if in == nil {
				in = &inode{names: map[string]bool{}}
				inodes[key] = in
				paths[key] = p
			}
			in.class |= class
			in.names[name] = true
			base := filepath.Base(full)
			in.self = base
			var st unix.Stat_t
			if base != name || base == "busybox" || base == "toybox" || (unix.Stat(full, &st) == nil && st.Nlink > 1) {
				in.multicall = true
			}
		}
	}
	exes := make([]monitor.Exe, 0, len(inodes))
	identity := map[[2]uint64]string{}
	check := map[string]uint32{}
	for key, in := range inodes {
		if len(in.names) > 1 {
			in.multicall = true
		}
		e := monitor.Exe{Dev: key[0], Ino: key[1], Class: in.class}
		if in.multicall {
			e.Class = monitor.ClassMulticall
			identity[key] = multicallMarker + in.self
		} else {
			for n := range in.names {
				identity[key] = n
			}
		}
		exes = append(exes, e)
		check[paths[key]] = e.Class
	}
	// RootfsExes refuses rootfs layouts whose inode keys the kernel would
	// never see (layers on different file systems).
	if _, err := monitor.RootfsExes(rootfs, check); err != nil {
		return nil, nil, err
	}
	return exes, identity, nil
}

// markPaths turns the paths rules look at into fanotify marks: exact
// files, and directories for prefixes ending in "/". A prefix such as
// "/etc/shadow" marks the file of that name.
func markPaths(ps rules.PathSet) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = path.Clean(p)
		if !path.IsAbs(p) || p == "/" || seen[p] || strings.ContainsAny(p, "*?[") {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	for _, p := range ps.Exact {
		add(p)
	}
	for _, p := range ps.Prefixes {
		add(p)
	}
	return out
}

// alertEvent wraps an alert's JSON for containerd's event bus.
func alertEvent(b []byte) *structpb.Struct {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return &structpb.Struct{}
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return &structpb.Struct{}
	}
	return s
}
