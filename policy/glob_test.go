package policy

import (
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		slash   bool
		s       string
		want    bool
	}{
		{"abc", true, "abc", true},
		{"abc", true, "abd", false},
		{"a*", true, "abc", true},
		{"a*", true, "a/c", false},
		{"a*", false, "a/c", true},
		{"a**", true, "a/b/c", true},
		{"a/**/z", true, "a/b/c/z", true},
		{"a/**/z", true, "a/z", false},
		{"a/**", true, "a/", true},
		{"a?c", true, "abc", true},
		{"a?c", true, "a/c", false},
		{"a?c", false, "a/c", true},
		{"[a-c]x", true, "bx", true},
		{"[a-c]x", true, "dx", false},
		{"[^a-c]x", true, "dx", true},
		{"[^a-c]x", true, "ax", false},
		{`\*`, true, "*", true},
		{`\*`, true, "a", false},
		{`a\[`, false, "a[", true},
		{"[z-a]", true, "m", false}, // empty range matches nothing, as in path.Match
		{"[^z-a]", true, "m", true}, // and its negation anything
		{"[\\]]", true, "]", true},  // quoted ']' in a class
		{"日*", false, "日本", true},   // runes, not bytes
		{"?", false, "日", true},     // one rune
		{"crit*", false, "critical", true},
		{"", false, "", true},
		{"", false, "x", false},
		{"*", false, "", true},
		{".", false, "x", false}, // regexp metacharacters are literal
		{"a+", false, "aa", false},
		{"(a|b)", false, "(a|b)", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern, tt.slash)
		if err != nil {
			t.Errorf("compileGlob(%q) = %v", tt.pattern, err)
			continue
		}
		if got := g.Match(tt.s); got != tt.want {
			t.Errorf("compileGlob(%q, slash=%v).Match(%q) = %v, want %v", tt.pattern, tt.slash, tt.s, got, tt.want)
		}
	}
}

func TestGlobBad(t *testing.T) {
	for pattern, why := range map[string]string{
		"[":      "unterminated character class",
		"[a":     "unterminated character class",
		"[a-":    "unterminated character class",
		"[]":     `unquoted ']' in character class`,
		"[]a]":   `unquoted ']' in character class`,
		"[-a]":   `unquoted '-' in character class`,
		"[a-]":   `unquoted ']' in character class`,
		"[^]":    `unquoted ']' in character class`,
		`a\`:     "trailing backslash",
		`[\`:     "unterminated character class",
		"ok*[x":  "unterminated character class",
		"[\xff]": "not valid UTF-8",
	} {
		_, err := compileGlob(pattern, true)
		if err == nil || !strings.HasSuffix(err.Error(), why) || !strings.Contains(err.Error(), strconv.Quote(pattern)) {
			t.Errorf("compileGlob(%q) = %v, want %q", pattern, err, why)
		}
		if _, perr := path.Match(pattern, "x"); perr == nil {
			t.Errorf("path.Match(%q) accepts a pattern compileGlob rejects", pattern)
		}
	}
}

// FuzzGlob checks that, without "**", a slash glob agrees with path.Match
// on validity and on every match.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"a*", "abc"}, {"[a-c]?", "b/"}, {`\[x`, "[x"}, {"[^a]", "/"}, {"[z-a]", "q"}, {"*/*", "a/b"}, {"[\xff]", "\xff"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if strings.Contains(pattern, "**") {
			return
		}
		g, err := compileGlob(pattern, true)
		if err == nil {
			g.Match(s) // never panics
		}
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // patterns must be UTF-8; path.Match compares invalid bytes as bytes
		}
		want, perr := path.Match(pattern, s)
		if (err == nil) != (perr == nil) {
			t.Fatalf("compileGlob(%q) error %v, path.Match error %v", pattern, err, perr)
		}
		if err != nil {
			return
		}
		if got := g.Match(s); got != want {
			t.Fatalf("compileGlob(%q).Match(%q) = %v, path.Match = %v", pattern, s, got, want)
		}
	})
}
