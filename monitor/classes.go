package monitor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-dev/vigil/monitor/bpf"
)

// Class bits classify an exec. The low 16 bits are assigned per container
// from the rule set (Container.Names, Container.Exes); the kernel adds
// ClassRevShell, ClassMiner (from argv) and ClassDrift by itself. The values
// are the C enum class_bits of monitor/bpf/vigil.bpf.c.
const (
	ClassShell       = uint32(bpf.VigilClassBitsCLASS_SHELL)
	ClassPkgMgr      = uint32(bpf.VigilClassBitsCLASS_PKGMGR)
	ClassMiner       = uint32(bpf.VigilClassBitsCLASS_MINER)
	ClassNetTool     = uint32(bpf.VigilClassBitsCLASS_NETTOOL)
	ClassInterpreter = uint32(bpf.VigilClassBitsCLASS_INTERPRETER)
	ClassCompiler    = uint32(bpf.VigilClassBitsCLASS_COMPILER)
	ClassRecon       = uint32(bpf.VigilClassBitsCLASS_RECON)
	// ClassRevShell: a SHELL run with an argument "-i", a NETTOOL run with
	// "-e", or any argument containing "/dev/tcp/" or "/dev/udp/".
	ClassRevShell = uint32(bpf.VigilClassBitsCLASS_REVSHELL)
	// ClassDrift: the executable is in the overlay's upper layer, a memfd,
	// or has no name left (deleted).
	ClassDrift = uint32(bpf.VigilClassBitsCLASS_DRIFT)
	// ClassMulticall marks a busybox-like binary in Exes: the applet is
	// decided as busybox decides it (argv[0] without one leading '-', its
	// last path component; while that names the multiplexer, "busybox*",
	// "toybox*" or the file's own name, the next argument's), and its name
	// is looked up in Names.
	ClassMulticall = uint32(bpf.VigilClassBitsCLASS_MULTICALL)
)

var classNames = []struct {
	bit  uint32
	name string
}{
	{ClassShell, "shell"},
	{ClassPkgMgr, "pkgmgr"},
	{ClassMiner, "miner"},
	{ClassNetTool, "nettool"},
	{ClassInterpreter, "interpreter"},
	{ClassCompiler, "compiler"},
	{ClassRecon, "recon"},
	{ClassRevShell, "revshell"},
	{ClassDrift, "drift"},
	{ClassMulticall, "multicall"},
}

// ClassString names the bits of a class set, "shell|revshell"; unknown bits
// print as hex.
func ClassString(c uint32) string {
	var parts []string
	for _, cn := range classNames {
		if c&cn.bit != 0 {
			parts = append(parts, cn.name)
			c &^= cn.bit
		}
	}
	if c != 0 {
		parts = append(parts, fmt.Sprintf("%#x", c))
	}
	return strings.Join(parts, "|")
}

// ParseClass parses one class name as ClassString prints it.
func ParseClass(name string) (uint32, error) {
	for _, cn := range classNames {
		if cn.name == name {
			return cn.bit, nil
		}
	}
	known := make([]string, 0, len(classNames))
	for _, cn := range classNames {
		known = append(known, cn.name)
	}
	sort.Strings(known)
	return 0, fmt.Errorf("%w: %q (known: %s)", ErrUnknownClass, name, strings.Join(known, ", "))
}
