package apparmor

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDenyRulesReferenceProfile(t *testing.T) {
	text := readFile(t, "testdata/myapp")
	got, err := ParseDenyRules(text)
	if err != nil {
		t.Fatal(err)
	}
	w := func(p string, line int) DenyRule { return DenyRule{Path: p, Write: true, Line: line} }
	x := func(p string, line int) DenyRule { return DenyRule{Path: p, Exec: true, Line: line} }
	want := []DenyRule{
		w("/etc/**", 21), w("/usr/**", 22), w("/bin/**", 23), w("/sbin/**", 24),
		x("/bin/sh", 27), x("/bin/bash", 28), x("/bin/dash", 29),
		x("/usr/bin/curl", 32), x("/usr/bin/wget", 33), x("/usr/bin/nc", 34),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deny rules:\n got %+v\nwant %+v", got, want)
	}
	// Each reported line really holds the rule.
	lines := strings.Split(text, "\n")
	for _, r := range got {
		if !strings.Contains(lines[r.Line-1], "deny "+r.Path+" ") {
			t.Errorf("line %d is %q, not the rule for %s", r.Line, lines[r.Line-1], r.Path)
		}
	}
	name, err := ProfileName(text)
	if err != nil || name != "myapp" {
		t.Errorf("ProfileName = %q, %v; want myapp", name, err)
	}
}

func TestParseDenyRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []DenyRule
	}{
		{"perms first", "profile p {\n  deny wx /opt/**,\n}", []DenyRule{{Path: "/opt/**", Exec: true, Write: true, Line: 2}}},
		{"qualifiers", "profile p {\n  audit deny owner /home/** w,\n  audit deny file /srv/x x,\n}", []DenyRule{
			{Path: "/home/**", Write: true, Owner: true, Line: 2},
			{Path: "/srv/x", Exec: true, Line: 3},
		}},
		{"quoted path and comment", "profile p {\n  deny \"/a dir/#x\" a, # append is a write\n}", []DenyRule{{Path: "/a dir/#x", Write: true, Line: 2}}},
		{"read-only deny skipped", "profile p {\n  deny /etc/shadow r,\n  deny /proc/kcore rwklx,\n}", []DenyRule{{Path: "/proc/kcore", Exec: true, Write: true, Line: 3}}},
		{"non-file rules skipped", "profile p {\n  deny capability sys_admin,\n  deny network raw,\n  deny mount,\n  deny ptrace (trace),\n}", nil},
		{"allow rules skipped", "profile p {\n  /tmp/** rw,\n  /bin/sh ix,\n}", nil},
		{"builtin variable", "profile p {\n  deny @{PROC}/sys/** w,\n}", []DenyRule{{Path: "/proc/sys/**", Write: true, Line: 2}}},
		{"multi-valued variable", "profile p {\n  deny @{run}/docker.sock w,\n}", []DenyRule{{Path: "{/run,/var/run}/docker.sock", Write: true, Line: 2}}},
		{"nested variable", "profile p {\n  deny @{HOME}.ssh/** w,\n}", []DenyRule{{Path: "{/home/*/,/root/}.ssh/**", Write: true, Line: 2}}},
		{"profile variable", "@{APP}=/srv/app\n@{APP}+=/opt/app\nprofile p {\n  deny @{APP}/bin/* x,\n}", []DenyRule{{Path: "{/srv/app,/opt/app}/bin/*", Exec: true, Line: 4}}},
		{"multi-line rule", "profile p {\n  deny /var/lib/**\n     w,\n}", []DenyRule{{Path: "/var/lib/**", Write: true, Line: 2}}},
		{"link target", "profile p {\n  deny /x rw -> /y,\n}", []DenyRule{{Path: "/x", Write: true, Line: 2}}},
		{"whole file deny", "profile p {\n  deny file,\n}", []DenyRule{{Path: "/**", Exec: true, Write: true, Line: 2}}},
		{"includes ignored", "#include <tunables/global>\ninclude <abstractions/base>\nprofile p {\n}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDenyRules(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseDenyRulesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"exec qualifier", "profile p {\n  deny /bin/sh ix,\n}", `line 2: access mode "ix" of /bin/sh: "i" is not allowed`},
		{"no comma", "profile p {\n  deny /bin/sh x\n}", `line 2: deny rule "deny /bin/sh x" does not end with ','`},
		{"no comma before next rule", "profile p {\n  deny /a w\n  deny /b w,\n}", `line 2: deny rule "deny /a w" does not end with ','`},
		{"no comma at end", "profile p {\n  deny /a w", `line 2: deny rule "deny /a w" does not end with ','`},
		{"no mode", "profile p {\n  deny /bin/sh,\n}", `line 2: deny rule for /bin/sh has no access mode`},
		{"undefined variable", "profile p {\n  deny @{NOPE}/x w,\n}", `line 2: variable @{NOPE} in @{NOPE}/x is not defined`},
		{"self-referring variable", "@{A}=@{A}\nprofile p {\n  deny @{A}/x w,\n}", `line 3: variables in @{A}/x refer to themselves`},
		{"unterminated quote", "profile p {\n  deny \"/a b w,\n}", `line 2: unterminated quoted path`},
		{"junk after mode", "profile p {\n  deny /a w junk,\n}", `line 2: unexpected "junk"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDenyRules(tc.text)
			if !errors.Is(err, ErrInvalidProfile) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidProfile containing %q", err, tc.want)
			}
		})
	}
}

func TestProfileName(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		wantErr    bool
	}{
		{"#include <tunables/global>\nprofile myapp flags=(attach_disconnected) {\n}", "myapp", false},
		{"profile web /usr/bin/web {\n}", "web", false},
		{"profile \"spaced name\" {\n}", "spaced name", false},
		{"  profile x{\n}", "x", false},
		{"/usr/bin/foo flags=(complain) {\n}", "/usr/bin/foo", false},
		{"# profile commented {\n", "", true},
		{"", "", true},
	} {
		got, err := ProfileName(tc.text)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("ProfileName(%q) = %q, %v; want an error", tc.text, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ProfileName(%q) = %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

// The reference document's Pattern 3 profile compiles against the host's
// /etc/apparmor.d includes.
func TestReferenceProfileCompiles(t *testing.T) {
	compile(t, readFile(t, "testdata/myapp"))
}

func TestReferenceProfileIsVerbatim(t *testing.T) {
	ref := filepath.Join("..", "..", "..", "shared", "seed", "container-runtime-security-reference.md")
	doc, err := os.ReadFile(ref)
	if err != nil {
		t.Skipf("requires the reference document at %s: %v", ref, err)
	}
	_, after, _ := strings.Cut(string(doc), "### Pattern 3")
	_, after, _ = strings.Cut(after, "```\n")
	block, _, ok := strings.Cut(after, "```")
	if !ok || block != readFile(t, "testdata/myapp") {
		t.Errorf("testdata/myapp differs from the reference document's Pattern 3 profile")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
