package monitor

import (
	"errors"
	"fmt"
	"io/fs"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// ErrExeKeyMismatch is returned when stat() through a rootfs cannot give
// the inode key the kernel hook reads.
var ErrExeKeyMismatch = errors.New("executable key would not match the kernel's")

// Exe identifies an executable of a container by the inode the kernel sees
// at exec time, with the class bits it carries (ClassShell, ClassMulticall,
// ...).
type Exe struct {
	// Dev is the kernel dev_t (MAJOR<<20 | MINOR) of the inode's file
	// system; KernelDev converts a stat(2) st_dev.
	Dev   uint64
	Ino   uint64
	Class uint32
}

// KernelDev converts a user-space st_dev (glibc/new_encode_dev encoding) to
// the kernel's internal dev_t, which is what super_block.s_dev holds.
func KernelDev(stDev uint64) uint64 {
	return uint64(unix.Major(stDev))<<20 | uint64(unix.Minor(stDev))
}

// StatExe returns the Exe key of path (following symlinks, as exec does).
func StatExe(path string, class uint32) (Exe, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Exe{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return Exe{}, fmt.Errorf("stat %s: not a regular file", path)
	}
	return Exe{Dev: KernelDev(st.Dev), Ino: st.Ino, Class: class}, nil
}

// RootfsExes stats the given paths inside a container's root file system
// (e.g. "/bin/sh" → class) and returns their keys. Symlinks are resolved
// inside rootfs, never on the host. Paths that do not exist are skipped; two
// paths naming the same inode (busybox applets) merge their classes.
//
// The rootfs must be the mounted overlay the container will see (runc's
// <bundle>/rootfs after create): on overlayfs, stat() returns the overlay's
// st_dev and the real file's inode number, which is what the kernel hook
// reads from the exec'd file (inode->i_sb->s_dev, inode->i_ino), as long as
// all layers live on one file system (containerd's overlay snapshotter).
//
// When the layers of an overlay rootfs are on different file systems,
// stat() reports a per-layer pseudo device instead of the overlay's: the
// keys would never match, and RootfsExes returns ErrExeKeyMismatch.
func RootfsExes(rootfs string, classes map[string]uint32) ([]Exe, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(rootfs, &sfs); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", rootfs, err)
	}
	var overlayDev uint64
	if sfs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		var st unix.Stat_t
		if err := unix.Stat(rootfs, &st); err != nil {
			return nil, fmt.Errorf("stat %s: %w", rootfs, err)
		}
		overlayDev = KernelDev(st.Dev) // a directory reports the overlay's own device
	}
	index := map[[2]uint64]int{}
	var out []Exe
	for p, class := range classes {
		full, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			return nil, fmt.Errorf("resolve %s in %s: %w", p, rootfs, err)
		}
		e, err := StatExe(full, class)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if overlayDev != 0 && e.Dev != overlayDev {
			return nil, fmt.Errorf("%w: %s: st_dev %#x is not the overlay's %#x (layers on different file systems)",
				ErrExeKeyMismatch, full, e.Dev, overlayDev)
		}
		k := [2]uint64{e.Dev, e.Ino}
		if i, ok := index[k]; ok {
			out[i].Class |= class
			continue
		}
		index[k] = len(out)
		out = append(out, e)
	}
	return out, nil
}
