package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups/systemd"
)

// ErrNoCgroup2 is returned when no cgroup2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup2 hierarchy mounted")

// ErrBadCgroupsPath is returned for a cgroupsPath that runc would reject.
var ErrBadCgroupsPath = errors.New("invalid cgroupsPath")

// UnifiedMount returns the mount point of the cgroup2 hierarchy, found in
// /proc/self/mountinfo: /sys/fs/cgroup on a unified host, usually
// /sys/fs/cgroup/unified on a hybrid (cgroup v1 + v2) one.
func UnifiedMount() (string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		return "", fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	best := ""
	for _, m := range mounts {
		// The shortest mount point is the host's hierarchy; longer ones
		// are bind mounts of sub-trees.
		if m.Root == "/" && (best == "" || len(m.Mountpoint) < len(best)) {
			best = m.Mountpoint
		}
	}
	if best == "" {
		return "", ErrNoCgroup2
	}
	return best, nil
}

// CgroupDir returns the cgroup2 directory of a runc cgroupsPath: either a
// path such as "/default/<id>" (relative to the hierarchy's root) or the
// systemd form "slice:prefix:name" (e.g. "system.slice:docker:<id>", which
// becomes /system.slice/docker-<id>.scope).
func CgroupDir(cgroupsPath string) (string, error) {
	root, err := UnifiedMount()
	if err != nil {
		return "", err
	}
	rel, err := cgroupRelPath(cgroupsPath)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, rel), nil
}

func cgroupRelPath(cgroupsPath string) (string, error) {
	if cgroupsPath == "" {
		return "", fmt.Errorf("%w: empty", ErrBadCgroupsPath)
	}
	if !strings.Contains(cgroupsPath, ":") {
		clean := filepath.Clean("/" + cgroupsPath)
		return clean, nil
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: %q: systemd form is \"slice:prefix:name\"", ErrBadCgroupsPath, cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice" // runc's default parent
	}
	parent, err := systemd.ExpandSlice(slice)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrBadCgroupsPath, cgroupsPath, err)
	}
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%w: %q: bad unit name", ErrBadCgroupsPath, cgroupsPath)
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = prefix + "-" + name + ".scope"
	}
	return filepath.Join(parent, unit), nil
}

// CgroupID returns the cgroup v2 id (what bpf_get_current_cgroup_id returns
// for the container's processes) of a runc cgroupsPath. The cgroup must
// exist: call it after runc create.
func CgroupID(cgroupsPath string) (uint64, error) {
	dir, err := CgroupDir(cgroupsPath)
	if err != nil {
		return 0, err
	}
	return CgroupIDOfDir(dir)
}

// CgroupIDOfDir returns the id of a cgroup2 directory: its inode number.
func CgroupIDOfDir(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, fmt.Errorf("cgroup id of %s: %w", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return 0, fmt.Errorf("cgroup id of %s: not a directory", dir)
	}
	return st.Ino, nil
}

// CgroupIDOfPID returns the cgroup v2 id of a process, from the "0::" line
// of /proc/<pid>/cgroup.
func CgroupIDOfPID(pid int) (uint64, error) {
	dir, err := CgroupDirOfPID(pid)
	if err != nil {
		return 0, err
	}
	return CgroupIDOfDir(dir)
}

// CgroupDirOfPID returns the cgroup2 directory of a process.
func CgroupDirOfPID(pid int) (string, error) {
	file := "/proc/" + strconv.Itoa(pid) + "/cgroup"
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	rel, err := parseProcCgroup(f, file)
	if err != nil {
		return "", err
	}
	root, err := UnifiedMount()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, rel), nil
}

// parseProcCgroup returns the path of the cgroup2 ("0::") line.
func parseProcCgroup(f interface{ Read([]byte) (int, error) }, name string) (string, error) {
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		rel, ok := strings.CutPrefix(text, "0::")
		if !ok {
			continue
		}
		if !strings.HasPrefix(rel, "/") {
			return "", fmt.Errorf("%s:%d: cgroup2 path %q: not absolute", name, line, rel)
		}
		return filepath.Clean(rel), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return "", fmt.Errorf("%s: no cgroup2 (0::) line: %w", name, ErrNoCgroup2)
}
