package install

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Each input gets the handler appended and nothing else changed; the result
// is compared with testdata/<name>.golden (go test -update rewrites them).
func TestConfigureGolden(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		version int
		systemd bool // SystemdCgroup copied from the default handler
	}{
		{name: "v3", opts: Options{PolicyPath: "/etc/vigil/config.yaml"}, version: 3, systemd: true},
		{name: "v2", opts: Options{PolicyPath: "/etc/vigil/config.yaml"}, version: 2, systemd: false},
		{name: "comments", opts: Options{PolicyPath: "/opt/vigil/policy \"prod\".yaml"}, version: 3, systemd: true},
		{name: "empty", opts: Options{}, version: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := readTestdata(t, tt.name+".toml")
			e, err := Configure("/etc/containerd/config.toml", in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Changed || e.Version != tt.version {
				t.Fatalf("Changed=%v Version=%d, want true and %d", e.Changed, e.Version, tt.version)
			}
			// Surgical: the old text is a prefix of the new one.
			if !bytes.HasPrefix(e.After, in) && len(bytes.TrimSpace(in)) > 0 {
				t.Errorf("the original text is not kept verbatim")
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, e.After, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readTestdata(t, tt.name+".golden")
			if !bytes.Equal(e.After, want) {
				t.Errorf("result differs from %s (go test -update rewrites it):\n%s", golden, e.Diff())
			}
			checkHandler(t, e.After, tt.version, tt.opts.PolicyPath, tt.systemd)

			// Idempotent: a second run changes nothing.
			again, err := Configure("/etc/containerd/config.toml", e.After, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if again.Changed || !bytes.Equal(again.After, e.After) || again.Diff() != "" {
				t.Errorf("second run changed the file:\n%s", again.Diff())
			}
		})
	}
}

// checkHandler decodes the result the way containerd does and finds the
// handler with the options CRI will send to the shim.
func checkHandler(t *testing.T, out []byte, version int, policyPath string, systemd bool) {
	t.Helper()
	var doc map[string]any
	if err := toml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("result is not TOML: %v", err)
	}
	if doc["version"] != int64(version) {
		t.Errorf("version = %v, want %d", doc["version"], version)
	}
	h := dig(doc, append(runtimePlugin[version].keys, "runtimes", "vigil")...)
	if h["runtime_type"] != RuntimeType {
		t.Fatalf("handler = %v", h)
	}
	opts, _ := h["options"].(map[string]any)
	if got, _ := opts["VigilConfigPath"].(string); got != policyPath {
		t.Errorf("VigilConfigPath = %q, want %q", got, policyPath)
	}
	if _, ok := opts["ConfigPath"]; ok {
		t.Error("ConfigPath written: containerd would drop the rest of the options table")
	}
	if got, _ := opts["SystemdCgroup"].(bool); got != systemd {
		t.Errorf("SystemdCgroup = %v, want %v", got, systemd)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil && !(errors.Is(err, os.ErrNotExist) && name == "empty.toml") {
		t.Fatal(err)
	}
	return b
}

// A file with the handler already configured (by hand, with options vigil
// would not write) is left exactly as it is.
func TestConfigureAlreadyInstalled(t *testing.T) {
	in := readTestdata(t, "installed.toml")
	e, err := Configure("config.toml", in, Options{PolicyPath: "/etc/vigil/config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Changed || !bytes.Equal(e.After, in) || e.Diff() != "" {
		t.Fatalf("changed an installed file:\n%s", e.Diff())
	}
	if !strings.Contains(e.Summary, "already has runtime handler \"vigil\"") {
		t.Errorf("summary = %q", e.Summary)
	}
}

// The dry-run diff is a unified diff of the appended lines only.
func TestDiff(t *testing.T) {
	in := readTestdata(t, "v3.toml")
	e, err := Configure("/etc/containerd/config.toml", in, Options{PolicyPath: "/etc/vigil/config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Diff()
	if !strings.HasPrefix(d, "--- /etc/containerd/config.toml\n+++ /etc/containerd/config.toml\n@@ ") {
		t.Fatalf("not a unified diff:\n%s", d)
	}
	var added, removed []string
	for _, l := range strings.Split(d, "\n")[2:] {
		switch {
		case strings.HasPrefix(l, "+"):
			added = append(added, l[1:])
		case strings.HasPrefix(l, "-"):
			removed = append(removed, l)
		}
	}
	if len(removed) != 0 {
		t.Errorf("diff removes lines: %v", removed)
	}
	want := strings.TrimPrefix(string(e.After), string(in))
	if got := strings.Join(added, "\n") + "\n"; got != want {
		t.Errorf("added lines:\n%s\nwant:\n%s", got, want)
	}
}

func TestConfigureErrors(t *testing.T) {
	tests := []struct {
		name, in string
		opts     Options
		is       error
		contains []string
	}{
		{name: "version 1", in: "[plugins.cri]\n  sandbox_image = \"x\"\n", is: ErrUnsupportedVersion, contains: []string{"config.toml", "version 1", "containerd config migrate"}},
		{name: "version 4", in: "version = 4\n", is: ErrUnsupportedVersion, contains: []string{"version 4"}},
		{name: "version not integer", in: "version = \"3\"\n", is: ErrInvalidConfig, contains: []string{"version = 3"}},
		{name: "bad TOML names line and column", in: "version = 3\n[grpc]\n  address = \n", is: ErrInvalidConfig, contains: []string{"config.toml:3:"}},
		{
			name: "another runtime under the name",
			in:   "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.vigil]\n  runtime_type = \"io.containerd.runc.v2\"\n",
			is:   ErrConflict, contains: []string{"io.containerd.runc.v2", "runtimes.vigil"},
		},
		{
			name: "inline runtimes table cannot be extended",
			in:   "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\n  runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } }\n",
			is:   ErrInvalidConfig, contains: []string{"after adding vigil", "by hand"},
		},
		{name: "handler name", in: "version = 3\n", opts: Options{Handler: "vi gil"}, contains: []string{"vi gil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Configure("config.toml", []byte(tt.in), tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not contain %q", err, c)
				}
			}
		})
	}
}

// A disabled CRI plugin does not stop the edit but is reported.
func TestConfigureWarnsDisabledCRI(t *testing.T) {
	e, err := Configure("c.toml", []byte("version = 3\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Warnings) != 1 || !strings.Contains(e.Warnings[0], "io.containerd.grpc.v1.cri") {
		t.Errorf("warnings = %v", e.Warnings)
	}
}

// Whatever the input, Configure either fails or returns a file that starts
// with the input, decodes, holds the handler and is a fixed point.
func FuzzConfigure(f *testing.F) {
	for _, n := range []string{"v3.toml", "v2.toml", "comments.toml", "installed.toml"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\nruntimes.runc.runtime_type = \"x\"\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := Configure("c.toml", in, Options{PolicyPath: "/etc/vigil/config.yaml"})
		if err != nil {
			return
		}
		if !bytes.HasPrefix(e.After, in) && len(bytes.TrimSpace(in)) > 0 {
			t.Fatalf("input not kept as a prefix")
		}
		var doc map[string]any
		if err := toml.Unmarshal(e.After, &doc); err != nil {
			t.Fatalf("result does not decode: %v", err)
		}
		again, err := Configure("c.toml", e.After, Options{PolicyPath: "/etc/vigil/config.yaml"})
		if err != nil || again.Changed {
			t.Fatalf("not a fixed point: %v %v", err, again)
		}
	})
}
