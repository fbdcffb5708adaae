package install

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/pelletier/go-toml/v2"
)

// RuntimeType is the runtime type containerd resolves to the binary
// containerd-shim-vigil-v2.
const RuntimeType = "io.containerd.vigil.v2"

// DefaultHandler is the CRI runtime handler name a RuntimeClass refers to.
const DefaultHandler = "vigil"

// DefaultConfigPath is containerd's configuration file.
const DefaultConfigPath = "/etc/containerd/config.toml"

var (
	// ErrInvalidConfig: the file is not TOML containerd can read.
	ErrInvalidConfig = errors.New("invalid containerd configuration")
	// ErrUnsupportedVersion: the file's config version is not 2 or 3.
	ErrUnsupportedVersion = errors.New("unsupported containerd config version")
	// ErrConflict: a handler of that name exists with another runtime.
	ErrConflict = errors.New("runtime handler already exists with another runtime")
)

// Options says what to add.
type Options struct {
	// Handler is the CRI runtime handler's name; DefaultHandler if empty.
	Handler string
	// PolicyPath is written as the handler's VigilConfigPath option; when
	// empty the shim uses $VIGIL_CONFIG or /etc/vigil/config.yaml.
	PolicyPath string
}

// Edit is the outcome of Configure.
type Edit struct {
	// Path labels the file in messages and the diff.
	Path string
	// Version is the file's config version (3 for a new file).
	Version int
	// Before and After are the file's text; equal when nothing changed.
	Before, After []byte
	// Changed is false when the handler was already there.
	Changed bool
	// Summary says what was done, in one line.
	Summary string
	// Warnings are problems that do not stop the edit, such as the CRI
	// plugin being disabled.
	Warnings []string
}

// Diff returns the change as a unified diff, empty when nothing changed.
func (e *Edit) Diff() string {
	if !e.Changed {
		return ""
	}
	return udiff.Unified(e.Path, e.Path, string(e.Before), string(e.After))
}

// plugin tables holding CRI runtime handlers, by config version.
var runtimePlugin = map[int]struct {
	keys   []string // path to the containerd table in the decoded file
	header string   // the same path written as a TOML table header
}{
	3: {[]string{"plugins", "io.containerd.cri.v1.runtime", "containerd"}, "plugins.'io.containerd.cri.v1.runtime'.containerd"},
	2: {[]string{"plugins", "io.containerd.grpc.v1.cri", "containerd"}, `plugins."io.containerd.grpc.v1.cri".containerd`},
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Configure returns src with vigil's runtime handler added. src may be
// empty (no file yet): the result is then a version 3 file holding only
// the handler. path only labels errors and the diff.
func Configure(path string, src []byte, opts Options) (*Edit, error) {
	handler := opts.Handler
	if handler == "" {
		handler = DefaultHandler
	}
	if !bareKey.MatchString(handler) {
		return nil, fmt.Errorf("runtime handler name %q: want letters, digits, '_' and '-' only", handler)
	}
	e := &Edit{Path: path, Before: src, After: src}
	doc, err := decode(path, src)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if len(bytes.TrimSpace(src)) == 0 {
		e.Version = 3
		prefix = "# containerd configuration, created by `vigil install`.\nversion = 3\n\n"
	} else {
		v, ok := doc["version"].(int64)
		if !ok {
			if _, present := doc["version"]; present {
				return nil, fmt.Errorf("%s: %w: version = %v, want an integer", path, ErrInvalidConfig, doc["version"])
			}
			v = 1
		}
		e.Version = int(v)
		if _, ok := runtimePlugin[e.Version]; !ok {
			return nil, fmt.Errorf("%s: %w %d (vigil needs containerd 2.x with config version 3, or 2; run `containerd config migrate`)", path, ErrUnsupportedVersion, v)
		}
	}
	rp := runtimePlugin[e.Version]
	ctd := dig(doc, rp.keys...)
	if dis, ok := doc["disabled_plugins"].([]any); ok {
		for _, p := range dis {
			if p == "io.containerd.grpc.v1.cri" || p == "cri" || p == rp.keys[1] {
				e.Warnings = append(e.Warnings, fmt.Sprintf("%s: disabled_plugins lists %q: Kubernetes cannot use the handler until it is enabled", path, p))
			}
		}
	}
	if existing := dig(ctd, "runtimes", handler); existing != nil {
		if rt, _ := existing["runtime_type"].(string); rt != RuntimeType {
			return nil, fmt.Errorf("%s: %w: [%s.runtimes.%s] has runtime_type %q, not %q; remove that table or install under another handler name",
				path, ErrConflict, rp.header, handler, rt, RuntimeType)
		}
		e.Summary = fmt.Sprintf("%s already has runtime handler %q (%s); nothing changed", path, handler, RuntimeType)
		return e, nil
	}

	// The default handler's cgroup driver, which kubelet assumes for all.
	def, _ := ctd["default_runtime_name"].(string)
	if def == "" {
		def = "runc"
	}
	systemd, _ := dig(ctd, "runtimes", def, "options")["SystemdCgroup"].(bool)

	var b strings.Builder
	b.WriteString(prefix)
	if len(src) > 0 {
		b.Write(src)
		if !bytes.HasSuffix(src, []byte("\n")) {
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "# vigil: CRI runtime handler %q (RuntimeClass handler: %s), added by `vigil install`.\n", handler, handler)
	fmt.Fprintf(&b, "[%s.runtimes.%s]\n  runtime_type = %s\n", rp.header, handler, quote(RuntimeType))
	if opts.PolicyPath != "" || systemd {
		fmt.Fprintf(&b, "[%s.runtimes.%s.options]\n", rp.header, handler)
		if opts.PolicyPath != "" {
			fmt.Fprintf(&b, "  VigilConfigPath = %s\n", quote(opts.PolicyPath))
		}
		if systemd {
			fmt.Fprintf(&b, "  SystemdCgroup = true # as runtime handler %q\n", def)
		}
	}
	e.After = []byte(b.String())
	e.Changed = true

	// The appended text must leave a file containerd reads, with the
	// handler where containerd looks for it.
	after, err := decode(path+" (after adding vigil)", e.After)
	if err != nil {
		return nil, fmt.Errorf("%w; add the handler by hand", err)
	}
	if rt, _ := dig(after, append(rp.keys, "runtimes", handler)...)["runtime_type"].(string); rt != RuntimeType {
		return nil, fmt.Errorf("%s: %w: the added handler is not where containerd reads it; add it by hand", path, ErrInvalidConfig)
	}
	e.Summary = fmt.Sprintf("%s: added runtime handler %q (%s) to config version %d", path, handler, RuntimeType, e.Version)
	return e, nil
}

func decode(path string, src []byte) (map[string]any, error) {
	doc := map[string]any{}
	if err := toml.Unmarshal(src, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %w: %s", path, row, col, ErrInvalidConfig, de.Error())
		}
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalidConfig, err)
	}
	return doc, nil
}

// dig walks nested tables; a missing or non-table step yields nil.
func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		if m == nil {
			return nil
		}
		m, _ = m[k].(map[string]any)
	}
	return m
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
