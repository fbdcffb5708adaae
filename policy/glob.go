package policy

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Glob is a compiled shell pattern.
//
// Patterns have path.Match syntax: '*' matches any run of characters, '?'
// one character, '[...]' a character class ('[^...]' negated, 'a-z'
// ranges) and '\' quotes the next character. For image patterns '/'
// separates path segments: '*' and '?' do not match '/', while '**' matches
// any run of characters including '/'. For label, annotation and namespace
// values there is no separator: '*' matches anything. Patterns must be valid
// UTF-8; in a matched string each invalid byte counts as one character.
type Glob struct {
	// Pattern is the pattern as compiled.
	Pattern string
	re      *regexp.Regexp
	literal bool
}

// CompileGlob compiles a value pattern (no separator).
func CompileGlob(pattern string) (Glob, error) { return compileGlob(pattern, false) }

// compileGlob compiles pattern; with slash, '/' separates segments.
func compileGlob(pattern string, slash bool) (Glob, error) {
	g := Glob{Pattern: pattern}
	if !utf8.ValidString(pattern) {
		return Glob{}, fmt.Errorf("bad pattern %q: not valid UTF-8", pattern)
	}
	if !strings.ContainsAny(pattern, `*?[\`) {
		g.literal = true
		return g, nil
	}
	expr, err := globRegexp(pattern, slash)
	if err != nil {
		return Glob{}, err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		// globRegexp only emits valid expressions; keep the error anyway.
		return Glob{}, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	g.re = re
	return g, nil
}

// Match reports whether s matches the whole pattern.
func (g Glob) Match(s string) bool {
	if g.literal {
		return s == g.Pattern
	}
	return g.re != nil && g.re.MatchString(s)
}

// MarshalText encodes g as its pattern.
func (g Glob) MarshalText() ([]byte, error) { return []byte(g.Pattern), nil }

// IsGlob reports whether s holds a pattern metacharacter.
func IsGlob(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// globRegexp translates a pattern to an anchored regular expression.
func globRegexp(pattern string, slash bool) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("bad pattern %q: %s", pattern, why)
	}
	any1, anyRun := ".", ".*"
	if slash {
		any1, anyRun = "[^/]", "[^/]*"
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; c {
		case '*':
			j := i
			for j < len(pattern) && pattern[j] == '*' {
				j++
			}
			if j-i >= 2 {
				b.WriteString(".*")
			} else {
				b.WriteString(anyRun)
			}
			i = j
		case '?':
			b.WriteString(any1)
			i++
		case '\\':
			if i+1 >= len(pattern) {
				return bad("trailing backslash")
			}
			_, n := utf8.DecodeRuneInString(pattern[i+1:])
			b.WriteString(regexp.QuoteMeta(pattern[i+1 : i+1+n]))
			i += 1 + n
		case '[':
			expr, n, err := globClass(pattern[i+1:])
			if err != "" {
				return bad(err)
			}
			b.WriteString(expr)
			i += 1 + n
		default:
			_, n := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(pattern[i : i+n]))
			i += n
		}
	}
	b.WriteString("$")
	return b.String(), nil
}

// globClass translates the class that follows a '[' and returns the
// expression and how many bytes of s it used, with path.Match's rules: at
// least one range, ranges "lo" or "lo-hi", '-' and ']' must be quoted as
// range ends.
func globClass(s string) (expr string, n int, err string) {
	i := 0
	negated := false
	if i < len(s) && s[i] == '^' {
		negated = true
		i++
	}
	var ranges strings.Builder
	nrange, nonEmpty := 0, 0
	for {
		if i < len(s) && s[i] == ']' && nrange > 0 {
			i++
			break
		}
		lo, k, e := classChar(s[i:])
		if e != "" {
			return "", 0, e
		}
		i += k
		hi := lo
		if i < len(s) && s[i] == '-' {
			hi, k, e = classChar(s[i+1:])
			if e != "" {
				return "", 0, e
			}
			i += 1 + k
		}
		if i >= len(s) {
			return "", 0, "unterminated character class"
		}
		nrange++
		if lo <= hi {
			fmt.Fprintf(&ranges, `\x{%X}-\x{%X}`, lo, hi)
			nonEmpty++
		}
	}
	switch {
	case nonEmpty == 0 && negated:
		return `[\x{0}-\x{10FFFF}]`, i, ""
	case nonEmpty == 0:
		return `[^\x{0}-\x{10FFFF}]`, i, ""
	case negated:
		return "[^" + ranges.String() + "]", i, ""
	default:
		return "[" + ranges.String() + "]", i, ""
	}
}

// classChar reads one possibly quoted class character.
func classChar(s string) (r rune, n int, err string) {
	if len(s) == 0 {
		return 0, 0, "unterminated character class"
	}
	if s[0] == '-' || s[0] == ']' {
		return 0, 0, fmt.Sprintf("unquoted %q in character class", s[0])
	}
	if s[0] == '\\' {
		n = 1
		s = s[1:]
		if len(s) == 0 {
			return 0, 0, "unterminated character class"
		}
	}
	r, k := utf8.DecodeRuneInString(s)
	return r, n + k, ""
}
