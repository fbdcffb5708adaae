package apparmor

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func FuzzParseDenyRules(f *testing.F) {
	if b, err := os.ReadFile("testdata/myapp"); err == nil {
		f.Add(string(b))
	}
	if text, err := Generate(goldenParams); err == nil {
		f.Add(text)
	}
	for _, s := range []string{
		"@{A}=/a /b\nprofile p {\n  deny @{A}/x wx,\n  deny \"/q #\" a,\n}",
		"profile p {\n  audit deny owner w /h/**,\n  deny /x\n   rw -> /y,\n}",
		"deny @{HOME}/x w,", "deny file,", "deny", "deny \"", "@{A}=@{A}\ndeny @{A} w,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if name, err := ProfileName(text); err == nil && name == "" {
			t.Fatal("ProfileName returned an empty name without error")
		} else if err != nil && !errors.Is(err, ErrInvalidProfile) {
			t.Fatalf("ProfileName error does not match ErrInvalidProfile: %v", err)
		}
		rules, err := ParseDenyRules(text)
		if err != nil {
			if !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("error does not match ErrInvalidProfile: %v", err)
			}
			return
		}
		lines := strings.Count(text, "\n") + 1
		for _, r := range rules {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("rule %+v has line outside 1..%d", r, lines)
			}
			if !r.Exec && !r.Write {
				t.Fatalf("rule %+v denies neither exec nor write", r)
			}
			if r.Path == "" || strings.Contains(r.Path, "//") || strings.Contains(r.Path, "@{") && !strings.Contains(text, r.Path) {
				t.Fatalf("rule %+v has a bad path", r)
			}
		}
	})
}
