package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// defaultPath is DefaultPath; tests point it elsewhere.
var defaultPath = DefaultPath

// Locate names the configuration file to load: the runtime option
// ConfigPath when set, else $VIGIL_CONFIG when set, else DefaultPath when it
// exists. found is false only when none is named and DefaultPath does not
// exist; the built-in Default then applies.
//
// A file named by the option or the environment is returned even when it
// does not exist, so that loading it fails loudly instead of silently
// applying the built-in default because of a typo.
func Locate(optionConfigPath string) (path string, found bool) {
	if optionConfigPath != "" {
		return optionConfigPath, true
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return env, true
	}
	if _, err := os.Stat(defaultPath); err == nil {
		return defaultPath, true
	}
	return "", false
}

// LoadOption changes how Load reads a file.
type LoadOption func(*loadOptions)

type loadOptions struct {
	euid      int
	fileCheck func(name string, fi fs.FileInfo) error
}

// WithEUID makes Load act as if running with this effective user id: the
// file check runs only for euid 0. The default is os.Geteuid().
func WithEUID(euid int) LoadOption { return func(o *loadOptions) { o.euid = euid } }

// WithFileCheck replaces the check Load runs, when euid is 0, on the opened
// file's status (the default is RootOwned). nil disables the check.
func WithFileCheck(check func(name string, fi fs.FileInfo) error) LoadOption {
	return func(o *loadOptions) { o.fileCheck = check }
}

// RootOwned returns an error wrapping ErrInsecureFile unless fi is a regular
// file owned by root and not writable by group or others: root must not
// take its policy from a file another user can change.
func RootOwned(name string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: not a regular file (%s)", name, ErrInsecureFile, fi.Mode().Type())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: %w: cannot tell the file's owner", name, ErrInsecureFile)
	}
	if st.Uid != 0 {
		return fmt.Errorf("%s: %w: owned by uid %d, must be owned by root", name, ErrInsecureFile, st.Uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s: %w: mode %04o is writable by group or others (chmod go-w %s)", name, ErrInsecureFile, perm, name)
	}
	return nil
}

// Load reads, checks and parses the configuration file at path. When
// running as root (see WithEUID) the file must pass RootOwned (see
// WithFileCheck). Parse errors are returned as *Errors; read errors wrap
// the os error (errors.Is(err, fs.ErrNotExist) works).
func Load(path string, opts ...LoadOption) (*Config, error) {
	o := loadOptions{euid: os.Geteuid(), fileCheck: RootOwned}
	for _, opt := range opts {
		opt(&o)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vigil configuration: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vigil configuration: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("vigil configuration %s: is a directory", path)
	}
	if o.euid == 0 && o.fileCheck != nil {
		if err := o.fileCheck(path, fi); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("vigil configuration %s: %w", path, err)
	}
	return Parse(path, data)
}

// LoadLocated loads the file Locate names, or returns Default() when it
// names none.
func LoadLocated(optionConfigPath string, opts ...LoadOption) (*Config, error) {
	path, found := Locate(optionConfigPath)
	if !found {
		return Default(), nil
	}
	return Load(path, opts...)
}

// Check is an extra validation of a loaded Config by another package, such
// as "every profile file exists" or "every rule file loads". It returns
// the problems it found; Error values (built with Pos.Errorf) keep their
// position.
type Check func(*Config) []error

// RunChecks runs checks on c and returns their problems as *Errors, or nil.
// An Error or *Errors keeps its positions; any other error is reported
// against c's file.
func RunChecks(c *Config, checks ...Check) error {
	var errs Errors
	for _, check := range checks {
		for _, err := range check(c) {
			var one Error
			var many *Errors
			switch {
			case err == nil:
			case errors.As(err, &many):
				errs.List = append(errs.List, many.List...)
			case errors.As(err, &one):
				errs.Add(one)
			default:
				errs.Add(Error{File: c.File, Msg: err.Error()})
			}
		}
	}
	return errs.Err()
}
