package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/install"
)

// installEnv lays out a node in temporary directories: a containerd config
// with a comment, the binaries to install, empty bin and policy dirs.
func installEnv(t *testing.T) (args []string, config, binDir, policyDir string) {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	binDir = filepath.Join(root, "usr-local-bin")
	policyDir = filepath.Join(root, "etc-vigil")
	config = filepath.Join(root, "config.toml")
	os.MkdirAll(src, 0o755)
	for _, b := range install.Binaries {
		if err := os.WriteFile(filepath.Join(src, b), []byte(b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(config, []byte("# node config\nversion = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args = []string{"--config", config, "--bin-dir", binDir, "--policy-dir", policyDir, "--source-dir", src}
	return args, config, binDir, policyDir
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	args, config, binDir, policyDir := installEnv(t)
	var out, errOut bytes.Buffer
	if code := dispatch(append([]string{"install", "--dry-run"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	o := out.String()
	for _, want := range []string{
		"would install", "would write the default policy to " + filepath.Join(policyDir, "config.yaml"),
		"--- " + config, "+++ " + config,
		"+[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.vigil]",
		`+  runtime_type = "io.containerd.vigil.v2"`,
	} {
		if !strings.Contains(o, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, o)
		}
	}
	if b, _ := os.ReadFile(config); string(b) != "# node config\nversion = 3\n" {
		t.Errorf("dry-run changed the config:\n%s", b)
	}
	for _, p := range []string{binDir, policyDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("dry-run created %s", p)
		}
	}
}

func TestInstallThenAgain(t *testing.T) {
	args, config, binDir, policyDir := installEnv(t)
	var out, errOut bytes.Buffer
	if code := dispatch(append([]string{"install"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, b := range install.Binaries {
		if got, err := os.ReadFile(filepath.Join(binDir, b)); err != nil || string(got) != b {
			t.Errorf("%s not installed: %q %v", b, got, err)
		}
	}
	pol := filepath.Join(policyDir, "config.yaml")
	if fi, err := os.Stat(pol); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default policy: %v %v", fi, err)
	}
	cfg, _ := os.ReadFile(config)
	if !strings.HasPrefix(string(cfg), "# node config\nversion = 3\n") || !strings.Contains(string(cfg), "VigilConfigPath = \""+pol+"\"") {
		t.Errorf("config:\n%s", cfg)
	}
	if !strings.Contains(out.String(), "restart containerd") {
		t.Errorf("output does not say to restart containerd:\n%s", out.String())
	}

	out.Reset()
	if code := dispatch(append([]string{"install"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("second run exit %d: %s", code, errOut.String())
	}
	again, _ := os.ReadFile(config)
	if !bytes.Equal(again, cfg) {
		t.Errorf("second run changed the config")
	}
	if strings.Contains(out.String(), "installed ") || !strings.Contains(out.String(), "nothing changed") || !strings.Contains(out.String(), "kept the existing policy") {
		t.Errorf("second run output:\n%s", out.String())
	}
}

func TestInstallErrors(t *testing.T) {
	args, config, _, _ := installEnv(t)
	os.WriteFile(config, []byte("[plugins.cri]\n"), 0o600)
	var out, errOut bytes.Buffer
	if code := dispatch(append([]string{"install"}, args...), &out, &errOut); code != 1 {
		t.Errorf("version 1 config: exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), config) || !strings.Contains(errOut.String(), "version 1") {
		t.Errorf("error does not name the file and version: %s", errOut.String())
	}
	if code := dispatch([]string{"install", "extra"}, &out, &errOut); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}
