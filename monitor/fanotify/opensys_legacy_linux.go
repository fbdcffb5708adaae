//go:build linux && !arm64 && !loong64 && !riscv64

package fanotify

import "golang.org/x/sys/unix"

// openFlagsArg maps the open-family system calls to the index of their
// flags argument. creat has none: it always opens for writing.
var openFlagsArg = map[int]int{
	unix.SYS_OPEN:   1,
	unix.SYS_OPENAT: 2,
}

const sysCreat = unix.SYS_CREAT
