package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	exists := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("policies: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opt, env, def := exists("option.yaml"), exists("env.yaml"), exists("default.yaml")
	missing := filepath.Join(dir, "missing.yaml")
	tests := []struct {
		name             string
		option, env, def string
		wantPath         string
		wantFound        bool
	}{
		{"option first", opt, env, def, opt, true},
		{"env second", "", env, def, env, true},
		{"default third", "", "", def, def, true},
		{"nothing: built-in default", "", "", missing, "", false},
		{"a missing option file is still named", missing, env, def, missing, true},
		{"a missing env file is still named", "", missing, def, missing, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvConfig, tt.env)
			old := defaultPath
			defaultPath = tt.def
			defer func() { defaultPath = old }()
			path, found := Locate(tt.option)
			if path != tt.wantPath || found != tt.wantFound {
				t.Errorf("Locate(%q) = %q, %v; want %q, %v", tt.option, path, found, tt.wantPath, tt.wantFound)
			}
		})
	}
}

func TestLoadLocated(t *testing.T) {
	t.Setenv(EnvConfig, "")
	old := defaultPath
	defaultPath = filepath.Join(t.TempDir(), "missing.yaml")
	defer func() { defaultPath = old }()
	c, err := LoadLocated("")
	if err != nil || c.File != "" || len(c.Policies) != 1 || c.Policies[0].Name != DefaultPolicyName {
		t.Errorf("LoadLocated with no file = %+v, %v; want Default()", c, err)
	}
	c, err = LoadLocated("testdata/full.yaml", WithEUID(1000))
	if err != nil || c.File != "testdata/full.yaml" || len(c.Policies) != 2 {
		t.Errorf("LoadLocated(full.yaml) = %+v, %v", c, err)
	}
	if _, err := LoadLocated(defaultPath + ".option"); err == nil {
		t.Error("LoadLocated(missing option file) succeeded")
	}
}
