//go:build linux && (arm64 || loong64 || riscv64)

package fanotify

import "golang.org/x/sys/unix"

// openFlagsArg maps the open-family system calls to the index of their
// flags argument. These architectures have no open or creat.
var openFlagsArg = map[int]int{
	unix.SYS_OPENAT: 2,
}

const sysCreat = -1
