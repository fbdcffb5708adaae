package vm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Kernel is a Debian kernel unpacked into the cache: enough of
// linux-image-<Version>-amd64 to boot it (never installed as a package).
type Kernel struct {
	// Version is the package's ABI name, e.g. "6.1.0-57".
	Version string
	// Dir is the cache directory: vmlinuz, config and modules/*.ko.
	Dir string
}

// Vmlinuz is the kernel image.
func (k *Kernel) Vmlinuz() string { return filepath.Join(k.Dir, "vmlinuz") }

// Config is the kernel's build configuration.
func (k *Kernel) Config() string { return filepath.Join(k.Dir, "config") }

// Module returns the path of a cached module (e.g. "overlay").
func (k *Kernel) Module(name string) string {
	return filepath.Join(k.Dir, "modules", name+".ko")
}

// Modules the harness keeps from the package (everything else is dropped):
// built as modules in Debian's config and needed by the tests.
var keptModules = map[string]string{
	"overlay": "kernel/fs/overlayfs/overlay.ko",
}

// CacheRoot is where kernels are cached: $VIGIL_CACHE or /var/cache/vigil.
func CacheRoot() string {
	if d := os.Getenv("VIGIL_CACHE"); d != "" {
		return d
	}
	return "/var/cache/vigil"
}

var abiName = regexp.MustCompile(`linux-image-([0-9]+\.[0-9]+\.[0-9]+-[0-9]+)-amd64\b`)

// DebianKernelVersion names the kernel to boot: $VIGIL_VM_KERNEL when set
// (e.g. "6.1.0-57"), otherwise the version linux-image-amd64 depends on in
// apt's package lists.
func DebianKernelVersion() (string, error) {
	if v := os.Getenv("VIGIL_VM_KERNEL"); v != "" {
		return v, nil
	}
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w: %s", err, out)
	}
	m := abiName.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: no linux-image-<version>-amd64 in %q", out)
	}
	return string(m[1]), nil
}

// FetchKernel returns the cached kernel of the given version, downloading
// linux-image-<version>-amd64 with `apt-get download` and unpacking it with
// `dpkg-deb -x` on first use. The cache is <CacheRoot>/vm-<version>.
// Concurrent callers are serialized by a lock file.
func FetchKernel(version string) (*Kernel, error) {
	root := CacheRoot()
	k := &Kernel{Version: version, Dir: filepath.Join(root, "vm-"+version)}
	if complete(k.Dir) {
		return k, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(root, ".vm-kernel.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock kernel cache: %w", err)
	}
	if complete(k.Dir) {
		return k, nil
	}
	tmp, err := os.MkdirTemp(root, ".vm-"+version+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pkg := "linux-image-" + version + "-amd64"
	dl := exec.Command("apt-get", "download", pkg)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s: got %q", pkg, debs)
	}
	x := filepath.Join(tmp, "x")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], x).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x %s: %w: %s", debs[0], err, out)
	}
	abi := version + "-amd64"
	out := filepath.Join(tmp, "kernel")
	if err := os.MkdirAll(filepath.Join(out, "modules"), 0o755); err != nil {
		return nil, err
	}
	keep := map[string]string{
		"boot/vmlinuz-" + abi: "vmlinuz",
		"boot/config-" + abi:  "config",
	}
	for name, rel := range keptModules {
		keep[filepath.Join("lib/modules", abi, rel)] = filepath.Join("modules", name+".ko")
	}
	for src, dst := range keep {
		if err := os.Rename(filepath.Join(x, src), filepath.Join(out, dst)); err != nil {
			return nil, fmt.Errorf("unpacked %s: %w", pkg, err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, ".complete"), []byte(filepath.Base(debs[0])+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(k.Dir); err != nil {
		return nil, err
	}
	if err := os.Rename(out, k.Dir); err != nil {
		return nil, err
	}
	return k, nil
}

func complete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ".complete"))
	return err == nil
}

// CachedKernels lists the versions already in the cache, newest first.
func CachedKernels() []string {
	dirs, _ := filepath.Glob(filepath.Join(CacheRoot(), "vm-*"))
	var vs []string
	for _, d := range dirs {
		if complete(d) {
			vs = append(vs, strings.TrimPrefix(filepath.Base(d), "vm-"))
		}
	}
	sort.Slice(vs, func(i, j int) bool { return versionLess(vs[j], vs[i]) })
	return vs
}

// versionLess compares ABI names numerically field by field.
func versionLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	fa, fb := split(a), split(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		var x, y int
		fmt.Sscan(fa[i], &x)
		fmt.Sscan(fb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(fa) < len(fb)
}

// DebianKernel resolves and fetches the kernel to boot. When resolving or
// downloading fails (no network, stale package lists) and a kernel is
// cached, the newest cached one is used.
func DebianKernel() (*Kernel, error) {
	v, err := DebianKernelVersion()
	if err == nil {
		var k *Kernel
		if k, err = FetchKernel(v); err == nil {
			return k, nil
		}
	}
	if os.Getenv("VIGIL_VM_KERNEL") == "" {
		if cached := CachedKernels(); len(cached) > 0 {
			return &Kernel{Version: cached[0], Dir: filepath.Join(CacheRoot(), "vm-"+cached[0])}, nil
		}
	}
	return nil, errors.Join(errors.New("no Debian kernel to boot"), err)
}
