package apparmor

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Host is the AppArmor side of the machine containers run on.
type Host interface {
	// Enabled reports whether profiles can be loaded and applied; when
	// not, reason says what showed it.
	Enabled() (ok bool, reason string)
	// Loaded reports whether the kernel has a profile of that name.
	Loaded(name string) bool
	// Load makes the kernel's profile name the one in text.
	Load(name, text string) error
}

// Default paths of SystemHost.
const (
	moduleParam     = "/sys/module/apparmor/parameters/enabled"
	securityFSDir   = "/sys/kernel/security"
	DefaultStateDir = "/var/lib/vigil/apparmor"
)

// SystemHost is the real Host. Zero fields take the defaults.
type SystemHost struct {
	ModuleParam string // AppArmor's "enabled" module parameter
	SecurityFS  string // where securityfs is (or gets) mounted
	StateDir    string // hashes and texts of the profiles vigil loaded
	Parser      string // apparmor_parser binary
}

func (h *SystemHost) paths() (param, secfs, state, parser string) {
	param, secfs, state, parser = h.ModuleParam, h.SecurityFS, h.StateDir, h.Parser
	if param == "" {
		param = moduleParam
	}
	if secfs == "" {
		secfs = securityFSDir
	}
	if state == "" {
		state = DefaultStateDir
	}
	if parser == "" {
		parser = "apparmor_parser"
	}
	return
}

// Enabled is true when the AppArmor module parameter says "Y" and securityfs
// has an apparmor directory. Like runc, it mounts securityfs when it is not
// mounted yet (only after the module parameter said "Y").
func (h *SystemHost) Enabled() (bool, string) {
	param, secfs, _, _ := h.paths()
	b, err := os.ReadFile(param)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, fmt.Sprintf("%s does not exist: the kernel has no AppArmor", param)
	case err != nil:
		return false, fmt.Sprintf("cannot read %s: %v", param, err)
	}
	if v := strings.TrimSpace(string(b)); v != "Y" {
		return false, fmt.Sprintf("%s says %q, not \"Y\": AppArmor is disabled in the kernel", param, v)
	}
	dir := filepath.Join(secfs, "apparmor")
	if isDir(dir) {
		return true, ""
	}
	var st unix.Statfs_t
	if err := unix.Statfs(secfs, &st); err != nil {
		return false, fmt.Sprintf("%s says \"Y\" but %s is not usable: %v", param, secfs, err)
	}
	if st.Type != unix.SECURITYFS_MAGIC {
		if err := unix.Mount("securityfs", secfs, "securityfs", 0, ""); err != nil {
			return false, fmt.Sprintf("%s says \"Y\" but securityfs is not mounted at %s and mounting it failed: %v", param, secfs, err)
		}
	}
	if !isDir(dir) {
		return false, fmt.Sprintf("%s says \"Y\" but %s does not exist although securityfs is mounted at %s", param, dir, secfs)
	}
	return true, ""
}

// Loaded reads the kernel's profile list (securityfs apparmor/profiles).
func (h *SystemHost) Loaded(name string) bool {
	_, secfs, _, _ := h.paths()
	f, err := os.Open(filepath.Join(secfs, "apparmor", "profiles"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "name (mode)"
		if strings.HasPrefix(s.Text(), name+" (") {
			return true
		}
	}
	return false
}

// Load runs `apparmor_parser -Kr` on text unless the kernel already has the
// profile and the sha256 recorded when vigil last loaded it matches text.
// The text and its hash are kept in StateDir.
func (h *SystemHost) Load(name, text string) error {
	_, _, state, parser := h.paths()
	sum := sha256.Sum256([]byte(text))
	hash := hex.EncodeToString(sum[:])
	base := filepath.Join(state, url.PathEscape(name))
	if prev, err := os.ReadFile(base + ".sha256"); err == nil && strings.TrimSpace(string(prev)) == hash && h.Loaded(name) {
		return nil
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLoad, name, err)
	}
	if err := writeAtomic(base+".profile", []byte(text)); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLoad, name, err)
	}
	cmd := exec.Command(parser, "-Kr", base+".profile")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %s -Kr %s: %w: %s", ErrLoad, name, parser, base+".profile", err, strings.TrimSpace(out.String()))
	}
	if err := writeAtomic(base+".sha256", []byte(hash+"\n")); err != nil {
		return fmt.Errorf("%w: %s: record hash: %w", ErrLoad, name, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
