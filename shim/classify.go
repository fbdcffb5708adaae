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

// execOptionTools are the programs whose "-e PROG" runs PROG on a
// connection (netcat's family): the kernel flags them as reverse shells
// when run with -e. Other names a reverse-shell rule mentions (python,
// perl, ruby with a socket one-liner, socat's EXEC:) are left to the rule:
// "-e" means something else to them ("perl -e", "sh -e" for errexit), and
// the kernel must not kill what no rule would report.
var execOptionTools = map[string]bool{"nc": true, "ncat": true, "netcat": true, "nc.traditional": true, "nc.openbsd": true}

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
			case class&monitor.ClassRevShell != 0 && execOptionTools[n]:
				// netcat named by a reverse-shell rule: the kernel flags
				// it when run with -e.
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
// binary named busybox* or toybox*, with more than one hard link, reached
// under names of different classes, or reached only through names that are
// not its own (sh -> busybox) is multi-call: the kernel then classifies it
// by applet name, never by its inode, or every applet would look like a
// shell. A binary reached under its own name and others of the same class
// (sh -> dash, with dash itself named by the rules) is what its inode says
// whatever it is called: a symbolic link to it elsewhere, or argv[0]
// renamed, is still a shell.
func classifyExes(rootfs string, names map[string]uint32) ([]monitor.Exe, map[[2]uint64]string, error) {
	type inode struct {
		class     uint32
		names     map[string]bool
		classes   map[uint32]bool // the class of each name it is reached under
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
				in = &inode{names: map[string]bool{}, classes: map[uint32]bool{}}
				inodes[key] = in
				paths[key] = p
			}
			in.class |= class
			in.names[name] = true
			in.classes[class] = true
			in.self = filepath.Base(full)
			var st unix.Stat_t
			if strings.HasPrefix(in.self, "busybox") || strings.HasPrefix(in.self, "toybox") || (unix.Stat(full, &st) == nil && st.Nlink > 1) {
				in.multicall = true
			}
		}
	}
	exes := make([]monitor.Exe, 0, len(inodes))
	identity := map[[2]uint64]string{}
	check := map[string]uint32{}
	for key, in := range inodes {
		if len(in.classes) > 1 || !in.names[in.self] {
			in.multicall = true
		}
		e := monitor.Exe{Dev: key[0], Ino: key[1], Class: in.class}
		if in.multicall {
			e.Class = monitor.ClassMulticall
			identity[key] = multicallMarker + in.self
		} else {
			identity[key] = in.self
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
