package apparmor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DenyRule is a file deny rule of a profile that the monitor can enforce
// when the kernel cannot: executing or writing a path matching Path.
type DenyRule struct {
	// Path is an AppArmor glob ("*" within a component, "**" across
	// components, "?", "[...]", "{a,b}") with variables expanded.
	Path  string
	Exec  bool // the rule denies x
	Write bool // the rule denies w or a (append)
	Owner bool // the rule only applies to files the process's fsuid owns
	Line  int  // 1-based line of the rule in the profile text
}

// ParseError is a problem in a profile text at a line.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap makes the error match ErrInvalidProfile.
func (e *ParseError) Unwrap() error { return ErrInvalidProfile }

// defaultVars are the values of the variables Debian's tunables define that
// container profiles commonly use; a profile's own @{VAR}= definitions
// override them.
var defaultVars = map[string][]string{
	"PROC":      {"/proc/"},
	"sys":       {"/sys/"},
	"run":       {"/run/", "/var/run/"},
	"HOMEDIRS":  {"/home/"},
	"HOME":      {"@{HOMEDIRS}/*/", "/root/"},
	"multiarch": {"*-linux-gnu*"},
}

var (
	varDefRe = regexp.MustCompile(`^@\{([A-Za-z0-9_]+)\}\s*(\+?=)\s*(.*)$`)
	varRefRe = regexp.MustCompile(`@\{([A-Za-z0-9_]+)\}`)
)

// maxExpanded bounds a path after variable expansion; nested multi-valued
// variables grow geometrically.
const maxExpanded = 64 << 10

// denyPerms are the access modes a deny file rule may use (AppArmor rejects
// exec qualifiers such as "ix" in deny rules).
const denyPerms = "rwaxlkm"

// ParseDenyRules returns the file deny rules of text that deny exec or
// write, in order. Rules of other kinds (capability, network, ...) and deny
// rules that only deny reading, locking, linking or mapping are skipped.
func ParseDenyRules(text string) ([]DenyRule, error) {
	vars := map[string][]string{}
	for k, v := range defaultVars {
		vars[k] = v
	}
	var rules []DenyRule
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		stmt := stripComment(lines[i])
		if stmt == "" {
			continue
		}
		if m := varDefRe.FindStringSubmatch(stmt); m != nil {
			vals := strings.Fields(m[3])
			if m[2] == "+=" {
				vars[m[1]] = append(append([]string(nil), vars[m[1]]...), vals...)
			} else {
				vars[m[1]] = vals
			}
			continue
		}
		words := strings.Fields(stmt)
		if !isDenyRule(words) {
			continue
		}
		// A rule may continue on following lines up to its comma.
		for !strings.HasSuffix(stmt, ",") {
			var next string
			if i+1 < len(lines) {
				next = stripComment(lines[i+1])
			}
			if i+1 >= len(lines) || next == "}" || strings.HasSuffix(next, "{") || isDenyRule(strings.Fields(next)) {
				return nil, &ParseError{Line: lineNo, Msg: fmt.Sprintf("deny rule %q does not end with ','", stmt)}
			}
			i++
			stmt += " " + next
		}
		r, ok, err := parseDeny(strings.TrimSuffix(stmt, ","), vars)
		if err != nil {
			return nil, &ParseError{Line: lineNo, Msg: err.Error()}
		}
		for j := range r {
			r[j].Line = lineNo
		}
		if ok {
			rules = append(rules, r...)
		}
	}
	return rules, nil
}

// isDenyRule reports whether a statement's leading qualifiers include deny.
func isDenyRule(words []string) bool {
	for _, w := range words {
		switch w {
		case "audit", "quiet":
			continue
		case "deny":
			return true
		default:
			return false
		}
	}
	return false
}

// parseDeny parses one deny statement without its comma. ok is false for
// rules that are not file rules or deny neither exec nor write.
func parseDeny(stmt string, vars map[string][]string) (rules []DenyRule, ok bool, err error) {
	toks, err := tokens(stmt)
	if err != nil {
		return nil, false, err
	}
	// Qualifiers.
	owner := false
	for len(toks) > 0 && (toks[0] == "audit" || toks[0] == "quiet" || toks[0] == "deny" || toks[0] == "owner") {
		owner = owner || toks[0] == "owner"
		toks = toks[1:]
	}
	if len(toks) > 0 && toks[0] == "file" {
		toks = toks[1:]
		if len(toks) == 0 { // "deny file," denies every file access
			return []DenyRule{{Path: "/**", Exec: true, Write: true, Owner: owner}}, true, nil
		}
	}
	if len(toks) == 0 {
		return nil, false, fmt.Errorf("empty deny rule")
	}
	var path, perms string
	switch {
	case isPath(toks[0]):
		if len(toks) < 2 {
			return nil, false, fmt.Errorf("deny rule for %s has no access mode", toks[0])
		}
		path, perms = toks[0], toks[1]
		toks = toks[2:]
	case len(toks) >= 2 && isPath(toks[1]) && strings.Trim(toks[0], denyPerms+"iupcPUCb") == "":
		perms, path = toks[0], toks[1]
		toks = toks[2:]
	default:
		return nil, false, nil // capability, network, mount, signal, ...
	}
	if len(toks) > 0 && toks[0] != "->" {
		return nil, false, fmt.Errorf("unexpected %q after the access mode of %s", toks[0], path)
	}
	if bad := strings.Trim(perms, denyPerms); bad != "" {
		return nil, false, fmt.Errorf("access mode %q of %s: %q is not allowed in a deny rule (use %s)", perms, path, bad, denyPerms)
	}
	exec, write := strings.Contains(perms, "x"), strings.ContainsAny(perms, "wa")
	if !exec && !write {
		return nil, false, nil
	}
	expanded, err := expand(strings.Trim(path, `"`), vars)
	if err != nil {
		return nil, false, err
	}
	return []DenyRule{{Path: expanded, Exec: exec, Write: write, Owner: owner}}, true, nil
}

// tokens splits a statement on spaces, keeping quoted strings whole.
func tokens(s string) ([]string, error) {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted path %s", s)
			}
			out = append(out, s[:end+2])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out, nil
}

func isPath(tok string) bool {
	return strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "@{") || strings.HasPrefix(tok, `"/`) || strings.HasPrefix(tok, `"@{`)
}

// expand replaces variables in path; a variable with several values
// becomes an alternation. A value's trailing slash is dropped when the path
// goes on with one, and doubled slashes are collapsed.
func expand(path string, vars map[string][]string) (string, error) {
	out := path
	for depth := 0; varRefRe.MatchString(out); depth++ {
		if depth > 8 {
			return "", fmt.Errorf("variables in %s refer to themselves", path)
		}
		var b strings.Builder
		last := 0
		for _, m := range varRefRe.FindAllStringSubmatchIndex(out, -1) {
			b.WriteString(out[last:m[0]])
			name := out[m[2]:m[3]]
			vals, ok := vars[name]
			if !ok || len(vals) == 0 {
				return "", fmt.Errorf("variable @{%s} in %s is not defined in the profile (vigil knows %s)", name, path, knownVars(vars))
			}
			if m[1] < len(out) && out[m[1]] == '/' {
				vals = slices.Clone(vals)
				for i, v := range vals {
					if len(v) > 1 {
						vals[i] = strings.TrimSuffix(v, "/")
					}
				}
			}
			if len(vals) == 1 {
				b.WriteString(vals[0])
			} else {
				b.WriteString("{" + strings.Join(vals, ",") + "}")
			}
			last = m[1]
		}
		b.WriteString(out[last:])
		out = b.String()
		if len(out) > maxExpanded {
			return "", fmt.Errorf("variables in %s expand to more than %d bytes", path, maxExpanded)
		}
	}
	for strings.Contains(out, "//") {
		out = strings.ReplaceAll(out, "//", "/")
	}
	return out, nil
}

func knownVars(vars map[string][]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, "@{"+k+"}")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// stripComment removes a # comment (outside quotes) and surrounding space.
// Include directives are comments for this parser.
func stripComment(line string) string {
	inQuote := false
	for i, c := range line {
		switch c {
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				line = line[:i]
				return strings.TrimSpace(line)
			}
		}
	}
	return strings.TrimSpace(line)
}

var profileRe = regexp.MustCompile(`^\s*(?:profile\s+("[^"]+"|[^\s{]+)|(/[^\s{]*))(?:\s[^{]*)?\{\s*(?:#.*)?$`)

// ProfileName returns the name of the first profile declared in text:
// `profile NAME [attachment] [flags=(...)] {`, or the attachment path of a
// profile declared as `/path/to/binary {`.
func ProfileName(text string) (string, error) {
	for i, line := range strings.Split(text, "\n") {
		m := profileRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := strings.Trim(m[1], `"`)
		if name == "" {
			name = m[2]
		}
		if name == "" {
			return "", &ParseError{Line: i + 1, Msg: "profile without a name"}
		}
		return name, nil
	}
	return "", &ParseError{Line: 1, Msg: "no profile declaration (`profile NAME {`) found"}
}
