package condition

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the tree
	}{
		{"proc.name=bash", "proc.name = bash"},
		{"proc.name = bash", "proc.name = bash"},
		{"proc.name==bash", "proc.name == bash"},
		{"evt.dir=<", "evt.dir = <"},
		{"proc.name!=\"<NA>\"", `proc.name != "<NA>"`},
		{"a and b or c", "((a and b) or c)"},
		{"a or b and c", "(a or (b and c))"},
		{"not a and b", "(not (a) and b)"},
		{"not (a and b)", "not ((a and b))"},
		{"not(a)", "not (a)"},
		{"not not a", "a"},
		{"not not not a", "not (a)"},
		{"a and (b or c)", "(a and (b or c))"},
		{"a and(b or c)", "(a and (b or c))"},
		{"a or(b)", "(a or b)"},
		{"((a))", "a"},
		{"a and b and c", "(a and b and c)"},
		{"proc.name in (bash, sh, \"c d\")", `proc.name in (bash, sh, "c d")`},
		{"proc.name in(bash,sh)", "proc.name in (bash, sh)"},
		{"proc.name in ()", "proc.name in ()"},
		{"proc.name in shell_binaries", "proc.name in shell_binaries"},
		{"fd.sport in (80, 443)", "fd.sport in (80, 443)"},
		{"proc.aname[2]=sshd", "proc.aname[2] = sshd"},
		{"k8s.pod.label[\"app name\"] = x", `k8s.pod.label["app name"] = x`},
		{"evt.arg.flags contains O_TRUNC", "evt.arg.flags contains O_TRUNC"},
		{"proc.name exists", "proc.name exists"},
		{"proc.pid > 100", "proc.pid > 100"},
		{"proc.pid >= 0x10", "proc.pid >= 0x10"},
		{"proc.pid<=-1", "proc.pid <= -1"},
		{"proc.name startswith 'ba'", `proc.name startswith "ba"`},
		{"fd.name glob '/home/*/.ssh/*'", `fd.name glob "/home/*/.ssh/*"`},
		{"fd.name pmatch (/etc, /usr)", "fd.name pmatch (/etc, /usr)"},
		{"proc.cmdline regex \"^a.*b$\"", `proc.cmdline regex "^a.*b$"`},
		{"proc.name = val(proc.pname)", "proc.name = val(proc.pname)"},
		{"tolower(proc.name) = bash", "tolower(proc.name) = bash"},
		{"len(proc.args) > 3", "len(proc.args) > 3"},
		{"toupper(basename(fd.name)) = X", "toupper(basename(fd.name)) = X"},
		{"proc.name = tolower(proc.pname)", "proc.name = tolower(proc.pname)"},
		{"a\n  and\n  b", "(a and b)"},
		{`proc.cmdline contains "a\"b"`, `proc.cmdline contains "a\"b"`},
		{`proc.cmdline contains 'a\'b'`, `proc.cmdline contains "a'b"`},
		{`proc.cmdline contains "a\\b"`, `proc.cmdline contains "a\ b"`},
		{"spawned_process and container", "(spawned_process and container)"},
		{"notx", "notx"},
		{"orx", "orx"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// String must parse back to the same tree.
		e2, err := Parse(e.String())
		if err != nil {
			t.Errorf("reparse %q: %v", e.String(), err)
			continue
		}
		if e2.String() != e.String() {
			t.Errorf("reparse %q = %q", e.String(), e2.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
		line    int
	}{
		{"", "filter input string is empty", 1},
		{"a and ", "expected a '(' token, a field check, or an identifier", 1},
		{"a and", "expected blank or '(' after 'and'", 1},
		{"a or", "expected blank or '(' after 'or'", 1},
		{"a andb", "expected blank or '(' after 'and'", 1},
		{"(a", "expected a ')' token", 1},
		{"a)", "unexpected token after 'a', expecting 'or', 'and'", 1},
		{"proc.name", "expected a valid check operator", 1},
		{"proc.name bash", "expected a valid check operator", 1},
		{"proc.pid > abc", "expected a number value", 1},
		{"proc.name in (a,", "expected a string value", 1},
		{"proc.name in (a b)", "expected a ')' token", 1},
		{"proc.aname[2 = x", "expected a ']' token", 1},
		{`proc.name = "abc`, "expected a string value", 1},
		{`proc.name = "a\qb"`, `unsupported string escape sequence: \q`, 1},
		{`proc.name = 'a\"b'`, `invalid \" escape in '-quoted string`, 1},
		{"proc.name contains", "expected a valid check operator", 1},
		{"a and\nb and\n)", "expected a '(' token, a field check, or an identifier", 3},
		{"proc.name = val(x)", "expected a field within 'val' transformer", 1},
		{strings.Repeat("(", 2000) + "a" + strings.Repeat(")", 2000), "exceeded max depth limit", 1},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.in, tt.wantMsg)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): error %v does not wrap ErrSyntax", tt.in, err)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q): error %T is not *SyntaxError", tt.in, err)
		}
		if !strings.Contains(se.Msg, tt.wantMsg) {
			t.Errorf("Parse(%q): %q, want it to contain %q", tt.in, se.Msg, tt.wantMsg)
		}
		if se.Pos.Line != tt.line {
			t.Errorf("Parse(%q): line %d, want %d", tt.in, se.Pos.Line, tt.line)
		}
	}
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`proc.aname[3] in (a, "b c") and not fd.name exists`)
	if err != nil {
		t.Fatal(err)
	}
	and, ok := e.(*And)
	if !ok || len(and.Children) != 2 {
		t.Fatalf("got %#v, want And of 2", e)
	}
	c := and.Children[0].(*Check)
	f := c.Left.(*Field)
	if f.Name != "proc.aname" || f.Arg != "3" || !f.HasArg || c.Op != "in" {
		t.Errorf("check = %+v, field = %+v", c, f)
	}
	l := c.Right.(*List)
	if len(l.Items) != 2 || l.Items[0].Text != "a" || l.Items[0].Quoted || l.Items[1].Text != "b c" || !l.Items[1].Quoted {
		t.Errorf("list = %+v", l.Items)
	}
	n := and.Children[1].(*Not)
	if u := n.Child.(*Check); u.Op != "exists" || u.Right != nil {
		t.Errorf("unary = %+v", u)
	}
	if n.Pos.Col != 33 {
		t.Errorf("not position = %+v, want column 33", n.Pos)
	}
}

func TestOperators(t *testing.T) {
	for _, op := range []string{"=", "==", "!=", "<", "<=", ">", ">=", "in", "intersects", "pmatch", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob", "regex", "exists"} {
		if !IsOperator(op) {
			t.Errorf("IsOperator(%q) = false", op)
		}
	}
	if IsOperator("like") {
		t.Error(`IsOperator("like") = true`)
	}
	for op, want := range map[string]bool{"in": true, "intersects": true, "pmatch": true, "=": false, "contains": false} {
		if IsListOperator(op) != want {
			t.Errorf("IsListOperator(%q) != %v", op, want)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "a", `a"b`, `a\`, `\"`, "a\nb\t", "'", `\\ x`} {
		e, err := Parse("proc.name = " + Quote(s))
		if err != nil {
			t.Errorf("Quote(%q) = %s does not parse: %v", s, Quote(s), err)
			continue
		}
		if got := e.(*Check).Right.(*Literal).Text; got != s {
			t.Errorf("Quote(%q) parsed back as %q", s, got)
		}
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"spawned_process and container and shell_procs and not user_known_shell_spawn_container",
		"(fd.name startswith /etc/shadow or fd.name startswith /etc/passwd)",
		"fd.sport in (80, 443, 8080) and not proc.aname[2] = sshd",
		`proc.cmdline contains "a\"b" or proc.name glob 'x*'`,
		"tolower(proc.name) = val(proc.pname) and len(proc.args) > 2",
		"not not(a) or b and c",
		"evt.dir=< and fd.typechar='f' and fd.num>=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrSyntax", in, err)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", in, s, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("String not stable for %q: %q then %q", in, s, s2)
		}
	})
}
